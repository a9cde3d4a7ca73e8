/* SPDX-License-Identifier: Apache-2.0 */
/* Test PKI built with OpenSSL's API at run time: CAs and leaf certificates (P-256), written
 * as PEM files, so that no key material is committed and nothing expires in the repository. */
#ifndef KD_TEST_TLS_CERTS_H
#define KD_TEST_TLS_CERTS_H

#include <openssl/evp.h>
#include <openssl/x509.h>

struct test_pki {
    EVP_PKEY *key;
    X509 *cert;
};

/* A self-signed CA named CN=<cn>. Aborts on failure (tests only). */
void test_pki_ca(const char *cn, struct test_pki *ret);

/* A leaf for CN=<cn> signed by ca: serverAuth + clientAuth, SAN DNS:localhost, IP:127.0.0.1. */
void test_pki_leaf(const struct test_pki *ca, const char *cn, struct test_pki *ret);

/* PEM files; aborts on failure. */
void test_pki_write_cert(const struct test_pki *p, const char *path);
void test_pki_write_key(const struct test_pki *p, const char *path);

void test_pki_free(struct test_pki *p);

#endif /* KD_TEST_TLS_CERTS_H */
