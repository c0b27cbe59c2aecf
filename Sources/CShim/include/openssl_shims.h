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

#endif
