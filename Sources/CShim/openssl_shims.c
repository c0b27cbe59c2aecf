#include "openssl_shims.h"

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
