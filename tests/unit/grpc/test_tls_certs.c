/* SPDX-License-Identifier: Apache-2.0 */
#include "unit/grpc/test_tls_certs.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

static void need(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "test_pki: %s failed\n", what);
        abort();
    }
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    need(ext != NULL, "X509V3_EXT_conf_nid");
    need(X509_add_ext(cert, ext, -1), "X509_add_ext");
    X509_EXTENSION_free(ext);
}

static X509 *new_cert(EVP_PKEY *key, const char *cn)
{
    static long serial = 1;
    X509 *cert = X509_new();
    need(cert != NULL, "X509_new");
    need(X509_set_version(cert, 2), "X509_set_version");
    need(ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++), "serial");
    need(X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != NULL, "notBefore");
    need(X509_gmtime_adj(X509_getm_notAfter(cert), 86400) != NULL, "notAfter");
    need(X509_set_pubkey(cert, key), "X509_set_pubkey");
    X509_NAME *name = X509_get_subject_name(cert);
    need(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0),
         "CN");
    return cert;
}

void test_pki_ca(const char *cn, struct test_pki *ret)
{
    ret->key = EVP_EC_gen("P-256");
    need(ret->key != NULL, "EVP_EC_gen");
    ret->cert = new_cert(ret->key, cn);
    need(X509_set_issuer_name(ret->cert, X509_get_subject_name(ret->cert)), "issuer");
    add_ext(ret->cert, ret->cert, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(ret->cert, ret->cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(ret->cert, ret->cert, NID_subject_key_identifier, "hash");
    need(X509_sign(ret->cert, ret->key, EVP_sha256()) > 0, "X509_sign");
}

void test_pki_leaf(const struct test_pki *ca, const char *cn, struct test_pki *ret)
{
    ret->key = EVP_EC_gen("P-256");
    need(ret->key != NULL, "EVP_EC_gen");
    ret->cert = new_cert(ret->key, cn);
    need(X509_set_issuer_name(ret->cert, X509_get_subject_name(ca->cert)), "issuer");
    add_ext(ret->cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(ret->cert, ca->cert, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    add_ext(ret->cert, ca->cert, NID_ext_key_usage, "serverAuth,clientAuth");
    add_ext(ret->cert, ca->cert, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    add_ext(ret->cert, ca->cert, NID_authority_key_identifier, "keyid");
    need(X509_sign(ret->cert, ca->key, EVP_sha256()) > 0, "X509_sign");
}

void test_pki_write_cert(const struct test_pki *p, const char *path)
{
    FILE *f = fopen(path, "w");
    need(f != NULL, path);
    need(PEM_write_X509(f, p->cert), "PEM_write_X509");
    need(fclose(f) == 0, "fclose");
}

void test_pki_write_key(const struct test_pki *p, const char *path)
{
    FILE *f = fopen(path, "w");
    need(f != NULL, path);
    need(PEM_write_PrivateKey(f, p->key, NULL, NULL, 0, NULL, NULL), "PEM_write_PrivateKey");
    need(fclose(f) == 0, "fclose");
}

void test_pki_free(struct test_pki *p)
{
    EVP_PKEY_free(p->key);
    X509_free(p->cert);
    p->key = NULL;
    p->cert = NULL;
}
