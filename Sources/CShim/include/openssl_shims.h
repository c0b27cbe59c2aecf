#ifndef FLEET_OPENSSL_SHIMS_H
#define FLEET_OPENSSL_SHIMS_H
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/// BIO_get_mem_data is a macro: returns the length and points *data at the buffer the BIO owns.
long fleet_BIO_get_mem_data(BIO *bio, char **data);

/// OPENSSL_free is a macro over CRYPTO_free.
void fleet_OPENSSL_free(void *pointer);

/// Stack helpers for the sk_* macros this project needs.
STACK_OF(X509_EXTENSION) *fleet_sk_X509_EXTENSION_new_null(void);
int fleet_sk_X509_EXTENSION_push(STACK_OF(X509_EXTENSION) *stack, X509_EXTENSION *extension);
int fleet_sk_X509_EXTENSION_num(const STACK_OF(X509_EXTENSION) *stack);
X509_EXTENSION *fleet_sk_X509_EXTENSION_value(const STACK_OF(X509_EXTENSION) *stack, int index);
void fleet_sk_X509_EXTENSION_pop_free(STACK_OF(X509_EXTENSION) *stack);

int fleet_sk_GENERAL_NAME_num(const STACK_OF(GENERAL_NAME) *stack);
GENERAL_NAME *fleet_sk_GENERAL_NAME_value(const STACK_OF(GENERAL_NAME) *stack, int index);
void fleet_GENERAL_NAMES_free(STACK_OF(GENERAL_NAME) *stack);

STACK_OF(X509) *fleet_sk_X509_new_null(void);
int fleet_sk_X509_push(STACK_OF(X509) *stack, X509 *certificate);
void fleet_sk_X509_free(STACK_OF(X509) *stack);

int fleet_sk_X509_REVOKED_num(const STACK_OF(X509_REVOKED) *stack);
X509_REVOKED *fleet_sk_X509_REVOKED_value(const STACK_OF(X509_REVOKED) *stack, int index);

STACK_OF(X509_CRL) *fleet_sk_X509_CRL_new_null(void);
int fleet_sk_X509_CRL_push(STACK_OF(X509_CRL) *stack, X509_CRL *crl);
void fleet_sk_X509_CRL_free(STACK_OF(X509_CRL) *stack);

/// XN_FLAG_RFC2253 is a composite macro that does not import.
unsigned long fleet_XN_FLAG_RFC2253(void);

/// Copies the SubjectPublicKeyInfo of `request` into `certificate` as algorithm and key bits.
///
/// X509_set_pubkey in OpenSSL 3.0 encodes the key with an OSSL_ENCODER and decodes it back with an
/// OSSL_DECODER, which costs more than the signature itself; copying the already-encoded fields does
/// not. The certificate's cached EVP_PKEY stays unset (X509_get0_pubkey returns NULL until the
/// certificate is re-read). Returns 1 on success, 0 on failure (an unknown parameter type included).
int fleet_X509_copy_request_pubkey(X509 *certificate, X509_REQ *request);

#endif
