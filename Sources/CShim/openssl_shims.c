#include "openssl_shims.h"
#include <string.h>
#include <openssl/objects.h>

long fleet_BIO_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

void fleet_OPENSSL_free(void *pointer) { OPENSSL_free(pointer); }

STACK_OF(X509_EXTENSION) *fleet_sk_X509_EXTENSION_new_null(void) { return sk_X509_EXTENSION_new_null(); }

int fleet_sk_X509_EXTENSION_push(STACK_OF(X509_EXTENSION) *stack, X509_EXTENSION *extension) {
    return sk_X509_EXTENSION_push(stack, extension);
}

int fleet_sk_X509_EXTENSION_num(const STACK_OF(X509_EXTENSION) *stack) { return sk_X509_EXTENSION_num(stack); }

X509_EXTENSION *fleet_sk_X509_EXTENSION_value(const STACK_OF(X509_EXTENSION) *stack, int index) {
    return sk_X509_EXTENSION_value(stack, index);
}

void fleet_sk_X509_EXTENSION_pop_free(STACK_OF(X509_EXTENSION) *stack) {
    sk_X509_EXTENSION_pop_free(stack, X509_EXTENSION_free);
}

int fleet_sk_GENERAL_NAME_num(const STACK_OF(GENERAL_NAME) *stack) { return sk_GENERAL_NAME_num(stack); }

GENERAL_NAME *fleet_sk_GENERAL_NAME_value(const STACK_OF(GENERAL_NAME) *stack, int index) {
    return sk_GENERAL_NAME_value(stack, index);
}

void fleet_GENERAL_NAMES_free(STACK_OF(GENERAL_NAME) *stack) { GENERAL_NAMES_free(stack); }

STACK_OF(X509) *fleet_sk_X509_new_null(void) { return sk_X509_new_null(); }

int fleet_sk_X509_push(STACK_OF(X509) *stack, X509 *certificate) { return sk_X509_push(stack, certificate); }

void fleet_sk_X509_free(STACK_OF(X509) *stack) { sk_X509_free(stack); }

int fleet_sk_X509_REVOKED_num(const STACK_OF(X509_REVOKED) *stack) { return sk_X509_REVOKED_num(stack); }

X509_REVOKED *fleet_sk_X509_REVOKED_value(const STACK_OF(X509_REVOKED) *stack, int index) {
    return sk_X509_REVOKED_value(stack, index);
}

STACK_OF(X509_CRL) *fleet_sk_X509_CRL_new_null(void) { return sk_X509_CRL_new_null(); }

int fleet_sk_X509_CRL_push(STACK_OF(X509_CRL) *stack, X509_CRL *crl) { return sk_X509_CRL_push(stack, crl); }

void fleet_sk_X509_CRL_free(STACK_OF(X509_CRL) *stack) { sk_X509_CRL_free(stack); }

unsigned long fleet_XN_FLAG_RFC2253(void) { return XN_FLAG_RFC2253; }

int fleet_X509_copy_request_pubkey(X509 *certificate, X509_REQ *request) {
    X509_PUBKEY *source = X509_REQ_get_X509_PUBKEY(request);
    X509_PUBKEY *target = X509_get_X509_PUBKEY(certificate);
    ASN1_OBJECT *algorithm = NULL;
    const unsigned char *bits = NULL;
    int length = 0;
    X509_ALGOR *parameters = NULL;
    if (source == NULL || target == NULL || !X509_PUBKEY_get0_param(&algorithm, &bits, &length, &parameters, source)) {
        return 0;
    }
    const ASN1_OBJECT *object = NULL;
    int type = V_ASN1_UNDEF;
    const void *value = NULL;
    X509_ALGOR_get0(&object, &type, &value, parameters);

    void *parameterCopy = NULL;
    if (type == V_ASN1_OBJECT) {
        parameterCopy = OBJ_dup((const ASN1_OBJECT *)value);
    } else if (type == V_ASN1_SEQUENCE) {
        parameterCopy = ASN1_STRING_dup((const ASN1_STRING *)value);
    } else if (type != V_ASN1_NULL && type != V_ASN1_UNDEF) {
        return 0;
    }
    if (type != V_ASN1_NULL && type != V_ASN1_UNDEF && parameterCopy == NULL) return 0;

    ASN1_OBJECT *objectCopy = OBJ_dup(object);
    unsigned char *bitsCopy = OPENSSL_malloc(length > 0 ? (size_t)length : 1);
    if (objectCopy == NULL || bitsCopy == NULL) {
        ASN1_OBJECT_free(objectCopy);
        OPENSSL_free(bitsCopy);
        if (type == V_ASN1_OBJECT) ASN1_OBJECT_free(parameterCopy); else ASN1_STRING_free(parameterCopy);
        return 0;
    }
    memcpy(bitsCopy, bits, (size_t)length);
    if (!X509_PUBKEY_set0_param(target, objectCopy, type, parameterCopy, bitsCopy, length)) {
        ASN1_OBJECT_free(objectCopy);
        OPENSSL_free(bitsCopy);
        if (type == V_ASN1_OBJECT) ASN1_OBJECT_free(parameterCopy); else ASN1_STRING_free(parameterCopy);
        return 0;
    }
    return 1;
}
