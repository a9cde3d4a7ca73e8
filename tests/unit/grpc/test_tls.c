/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the TLS contexts: configuration checks, errors that name the file, ALPN h2
 * only, the three client_auth modes, the minimum version, reload with keep-old-on-failure and
 * the file watch (including the kubelet's ..data symlink swap). Handshakes run in memory over
 * BIO pairs against an OpenSSL client; the PKI is generated at run time. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config/settings.h"
#include "grpc/tls.h"
#include "grpc/tls_module.h"
#include "unit/grpc/test_tls_certs.h"
#include "util/log.h"

struct fixture {
    char dir[64];
    struct test_pki ca_a, ca_b, server_a, server_b, client_a, client_b;
};

static struct fixture fx;

/* A path in the scratch dir; lives until teardown. */
static char *g_paths[512];
static size_t g_n_paths;

static char *path_in(const char *name)
{
    char *p = malloc(strlen(fx.dir) + strlen(name) + 2);
    assert_non_null(p);
    assert_true(g_n_paths < sizeof(g_paths) / sizeof(g_paths[0]));
    sprintf(p, "%s/%s", fx.dir, name);
    g_paths[g_n_paths++] = p;
    return p;
}

static int setup(void **state)
{
    (void)state;
    snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_tls.XXXXXX");
    assert_non_null(mkdtemp(fx.dir));
    test_pki_ca("ca-a", &fx.ca_a);
    test_pki_ca("ca-b", &fx.ca_b);
    test_pki_leaf(&fx.ca_a, "server-a", &fx.server_a);
    test_pki_leaf(&fx.ca_b, "server-b", &fx.server_b);
    test_pki_leaf(&fx.ca_a, "client-a", &fx.client_a);
    test_pki_leaf(&fx.ca_b, "client-b", &fx.client_b);
    test_pki_write_cert(&fx.ca_a, path_in("ca-a.crt"));
    test_pki_write_cert(&fx.ca_b, path_in("ca-b.crt"));
    test_pki_write_cert(&fx.server_a, path_in("server-a.crt"));
    test_pki_write_key(&fx.server_a, path_in("server-a.key"));
    test_pki_write_cert(&fx.server_b, path_in("server-b.crt"));
    test_pki_write_key(&fx.server_b, path_in("server-b.key"));
    test_pki_write_cert(&fx.client_a, path_in("client-a.crt"));
    test_pki_write_key(&fx.client_a, path_in("client-a.key"));
    test_pki_write_cert(&fx.client_b, path_in("client-b.crt"));
    test_pki_write_key(&fx.client_b, path_in("client-b.key"));
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    (void)state;
    nftw(fx.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    struct test_pki *all[] = {&fx.ca_a,     &fx.ca_b,     &fx.server_a,
                              &fx.server_b, &fx.client_a, &fx.client_b};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        test_pki_free(all[i]);
    while (g_n_paths > 0)
        free(g_paths[--g_n_paths]);
    return 0;
}

/* ---- Helpers ------------------------------------------------------------------------------- */

static void copy_file(const char *from, const char *to)
{
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", to);
    FILE *in = fopen(from, "r"), *out = fopen(tmp, "w");
    assert_non_null(in);
    assert_non_null(out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(rename(tmp, to), 0); /* atomic, as cert-manager's writers are */
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* stderr into a file while a test step runs, to count log lines. */
static int g_saved_stderr = -1;

static void capture_begin(void)
{
    fflush(stderr);
    g_saved_stderr = dup(2);
    int fd = open(path_in("stderr.log"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    dup2(fd, 2);
    close(fd);
}

static char *capture_end(void)
{
    static char text[16384];
    fflush(stderr);
    dup2(g_saved_stderr, 2);
    close(g_saved_stderr);
    FILE *f = fopen(path_in("stderr.log"), "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    fputs(text, stderr); /* still visible in the test log */
    return text;
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

struct client_opts {
    const char *ca;            /* verify the server against this; NULL: ca-a */
    const char *cert, *key;    /* client certificate, or NULL */
    const unsigned char *alpn; /* wire-format list; NULL: "h2" */
    unsigned alpn_len;         /* 0 with a non-NULL alpn: send no ALPN */
    int max_version;           /* 0: any */
};

static SSL_CTX *client_ctx(const struct client_opts *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_load_verify_locations(ctx, o->ca ? o->ca : path_in("ca-a.crt"), NULL),
                     1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (o->cert) {
        assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, o->cert), 1);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM), 1);
    }
    if (!o->alpn)
        assert_int_equal(SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)"\x02h2", 3), 0);
    else if (o->alpn_len > 0)
        assert_int_equal(SSL_CTX_set_alpn_protos(ctx, o->alpn, o->alpn_len), 0);
    if (o->max_version)
        SSL_CTX_set_max_proto_version(ctx, o->max_version);
    return ctx;
}

struct conn {
    SSL *server, *client;
    bool ok;
};

/* Drive both ends over a BIO pair until both finished the handshake or one failed. */
static void handshake(struct conn *c)
{
    int s_done = 0, c_done = 0;
    c->ok = false;
    for (int i = 0; i < 64; i++) {
        if (!c_done) {
            int rc = SSL_do_handshake(c->client);
            if (rc == 1)
                c_done = 1;
            else if (SSL_get_error(c->client, rc) != SSL_ERROR_WANT_READ &&
                     SSL_get_error(c->client, rc) != SSL_ERROR_WANT_WRITE)
                break;
        }
        if (!s_done) {
            int rc = SSL_do_handshake(c->server);
            if (rc == 1)
                s_done = 1;
            else if (SSL_get_error(c->server, rc) != SSL_ERROR_WANT_READ &&
                     SSL_get_error(c->server, rc) != SSL_ERROR_WANT_WRITE)
                break;
        }
        if (s_done && c_done) {
            /* TLS 1.3: the server judges the client's certificate after the client is done;
             * one round of application data settles it either way. */
            char b = 'x';
            if (SSL_write(c->client, &b, 1) != 1 || SSL_read(c->server, &b, 1) != 1)
                break;
            c->ok = true;
            break;
        }
    }
    ERR_clear_error();
}

/* The module's SSL on tls's current context: the same one its bufferevents get. */
static SSL *server_ssl(struct kd_tls *tls)
{
    const struct kd_tls_module *m;
    char err[512];
    if (kd_tls_module_get(&m, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return m->ssl_new(tls);
}

static void conn_open(struct conn *c, struct kd_tls *tls, const struct client_opts *o)
{
    SSL_CTX *cctx = client_ctx(o);
    BIO *sb, *cb;
    c->server = server_ssl(tls);
    c->client = SSL_new(cctx);
    SSL_CTX_free(cctx);
    assert_non_null(c->server);
    assert_non_null(c->client);
    SSL_set1_host(c->client, "localhost");
    SSL_set_tlsext_host_name(c->client, "localhost");
    assert_int_equal(BIO_new_bio_pair(&sb, 0, &cb, 0), 1);
    SSL_set_bio(c->server, sb, sb);
    SSL_set_bio(c->client, cb, cb);
    SSL_set_accept_state(c->server);
    SSL_set_connect_state(c->client);
}

static void conn_close(struct conn *c)
{
    SSL_free(c->server);
    SSL_free(c->client);
}

static bool connect_once(struct kd_tls *tls, const struct client_opts *o)
{
    struct conn c;
    conn_open(&c, tls, o);
    handshake(&c);
    conn_close(&c);
    return c.ok;
}

/* The issuer CN the client saw, "" if the handshake failed. */
static const char *served_issuer(struct kd_tls *tls, const struct client_opts *o)
{
    static char cn[64];
    struct conn c;
    cn[0] = '\0';
    conn_open(&c, tls, o);
    handshake(&c);
    if (c.ok) {
        X509 *peer = SSL_get1_peer_certificate(c.client);
        X509_NAME_get_text_by_NID(X509_get_issuer_name(peer), NID_commonName, cn, sizeof(cn));
        X509_free(peer);
    }
    conn_close(&c);
    return cn;
}

static void tls_config(struct kd_tls_config *cfg, const char *cert, const char *key, const char *ca,
                       enum kd_tls_client_auth auth)
{
    kd_tls_config_init(cfg);
    cfg->cert_file = cert;
    cfg->key_file = key;
    cfg->client_ca_file = ca;
    cfg->client_auth = auth;
    cfg->poll_ms = 0;
}

static struct kd_tls *must_create(const struct kd_tls_config *cfg)
{
    struct kd_tls *tls = NULL;
    char err[512] = "";
    int rc = kd_tls_create(NULL, cfg, &tls, err, sizeof(err));
    if (rc != 0)
        fail_msg("kd_tls_create: %d %s", rc, err);
    return tls;
}

/* ---- Tests --------------------------------------------------------------------------------- */

/* The settings table parses tls.client_auth into an index that main.c casts to
 * enum kd_tls_client_auth, and tls.min_version's index 1 into KD_TLS_1_3: the words must
 * line up. */
static void test_setting_words_match(void **state)
{
    (void)state;
    const struct kd_setting *auth = kd_setting_find("tls.client_auth");
    assert_non_null(auth);
    char choices[64];
    snprintf(choices, sizeof(choices), "%s|%s|%s", kd_tls_client_auth_name(KD_TLS_CLIENT_AUTH_NONE),
             kd_tls_client_auth_name(KD_TLS_CLIENT_AUTH_OPTIONAL),
             kd_tls_client_auth_name(KD_TLS_CLIENT_AUTH_REQUIRE));
    assert_string_equal(auth->choices, choices);
    assert_int_equal(KD_TLS_CLIENT_AUTH_NONE, 0);
    assert_int_equal(KD_TLS_CLIENT_AUTH_OPTIONAL, 1);
    assert_int_equal(KD_TLS_CLIENT_AUTH_REQUIRE, 2);
    const struct kd_setting *version = kd_setting_find("tls.min_version");
    assert_non_null(version);
    assert_string_equal(version->choices, "1.2|1.3");
}

static void test_config_check(void **state)
{
    (void)state;
    struct kd_tls_config cfg;
    char err[256];

    tls_config(&cfg, "c", "k", NULL, KD_TLS_CLIENT_AUTH_NONE);
    assert_int_equal(kd_tls_config_check(&cfg, err, sizeof(err)), 0);

    tls_config(&cfg, "c", NULL, NULL, KD_TLS_CLIENT_AUTH_NONE);
    assert_int_equal(kd_tls_config_check(&cfg, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "TLS needs both a certificate and a key file");
    tls_config(&cfg, "", "k", NULL, KD_TLS_CLIENT_AUTH_NONE);
    assert_int_equal(kd_tls_config_check(&cfg, err, sizeof(err)), -EINVAL);

    tls_config(&cfg, "c", "k", NULL, KD_TLS_CLIENT_AUTH_REQUIRE);
    assert_int_equal(kd_tls_config_check(&cfg, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "client_auth \"require\" needs a client_ca file");
    tls_config(&cfg, "c", "k", NULL, KD_TLS_CLIENT_AUTH_OPTIONAL);
    assert_int_equal(kd_tls_config_check(&cfg, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "client_auth \"optional\" needs a client_ca file");

    tls_config(&cfg, "c", "k", NULL, KD_TLS_CLIENT_AUTH_NONE);
    cfg.min_version = (enum kd_tls_version)0x0302;
    assert_int_equal(kd_tls_config_check(&cfg, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "min_version must be TLS 1.2 or 1.3");

    tls_config(&cfg, "c", "k", NULL, KD_TLS_CLIENT_AUTH_NONE);
    cfg.poll_ms = -1;
    assert_int_equal(kd_tls_config_check(&cfg, err, sizeof(err)), -EINVAL);
}

static void expect_create_error(const struct kd_tls_config *cfg, int want_rc, const char *want)
{
    struct kd_tls *tls = NULL;
    char err[512] = "";
    assert_int_equal(kd_tls_create(NULL, cfg, &tls, err, sizeof(err)), want_rc);
    assert_null(tls);
    if (!strstr(err, want))
        fail_msg("error \"%s\" does not contain \"%s\"", err, want);
    assert_int_equal(ERR_peek_error(), 0); /* nothing left on OpenSSL's queue */
}

static void test_create_errors(void **state)
{
    (void)state;
    struct kd_tls_config cfg;
    char msg[512];

    tls_config(&cfg, path_in("nope.crt"), path_in("server-a.key"), NULL, KD_TLS_CLIENT_AUTH_NONE);
    snprintf(msg, sizeof(msg), "cert \"%s\": No such file or directory", path_in("nope.crt"));
    expect_create_error(&cfg, -ENOENT, msg);

    tls_config(&cfg, path_in("server-a.crt"), path_in("nope.key"), NULL, KD_TLS_CLIENT_AUTH_NONE);
    snprintf(msg, sizeof(msg), "key \"%s\": No such file or directory", path_in("nope.key"));
    expect_create_error(&cfg, -ENOENT, msg);

    write_text(path_in("garbage.pem"), "not a certificate\n");
    tls_config(&cfg, path_in("garbage.pem"), path_in("server-a.key"), NULL,
               KD_TLS_CLIENT_AUTH_NONE);
    snprintf(msg, sizeof(msg), "cert \"%s\": ", path_in("garbage.pem"));
    expect_create_error(&cfg, -EPROTO, msg);

    /* The key is checked against the certificate: B's key with A's certificate. */
    tls_config(&cfg, path_in("server-a.crt"), path_in("server-b.key"), NULL,
               KD_TLS_CLIENT_AUTH_NONE);
    expect_create_error(&cfg, -EPROTO, "does not match cert");

    /* A certificate where the key belongs. */
    tls_config(&cfg, path_in("server-a.crt"), path_in("server-a.crt"), NULL,
               KD_TLS_CLIENT_AUTH_NONE);
    snprintf(msg, sizeof(msg), "key \"%s\": ", path_in("server-a.crt"));
    expect_create_error(&cfg, -EPROTO, msg);

    tls_config(&cfg, path_in("server-a.crt"), path_in("server-a.key"), path_in("garbage.pem"),
               KD_TLS_CLIENT_AUTH_REQUIRE);
    snprintf(msg, sizeof(msg), "client_ca \"%s\": ", path_in("garbage.pem"));
    expect_create_error(&cfg, -EPROTO, msg);

    tls_config(&cfg, path_in("server-a.crt"), path_in("server-a.key"), path_in("nope-ca.crt"),
               KD_TLS_CLIENT_AUTH_REQUIRE);
    expect_create_error(&cfg, -ENOENT, "client_ca");

    tls_config(&cfg, path_in("server-a.crt"), NULL, NULL, KD_TLS_CLIENT_AUTH_NONE);
    expect_create_error(&cfg, -EINVAL, "needs both");
}

static void test_alpn(void **state)
{
    (void)state;
    struct kd_tls_config cfg;
    tls_config(&cfg, path_in("server-a.crt"), path_in("server-a.key"), NULL,
               KD_TLS_CLIENT_AUTH_NONE);
    struct kd_tls *tls = must_create(&cfg);
    assert_int_equal(kd_tls_generation(tls), 1);

    /* h2 is selected wherever the client lists it. */
    struct client_opts h2_last = {.alpn = (const unsigned char *)"\x08http/1.1\x02h2",
                                  .alpn_len = 12};
    struct conn c;
    conn_open(&c, tls, &h2_last);
    handshake(&c);
    assert_true(c.ok);
    const unsigned char *proto;
    unsigned len;
    SSL_get0_alpn_selected(c.client, &proto, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(proto, "h2", 2);
    conn_close(&c);

    /* A client offering only http/1.1 is refused, with one line saying why. */
    struct client_opts h1 = {.alpn = (const unsigned char *)"\x08http/1.1", .alpn_len = 9};
    capture_begin();
    assert_false(connect_once(tls, &h1));
    char *log = capture_end();
    assert_int_equal(count(log, "refusing"), 1);
    assert_non_null(strstr(log, "its ALPN offers http/1.1, not h2"));

    /* A client sending no ALPN completes the handshake without a protocol: the listener
     * refuses it afterwards (kd_tls_handshake_done, covered by the integration tests). */
    struct client_opts none = {.alpn = (const unsigned char *)"", .alpn_len = 0};
    conn_open(&c, tls, &none);
    handshake(&c);
    assert_true(c.ok);
    SSL_get0_alpn_selected(c.server, &proto, &len);
    assert_int_equal(len, 0);
    conn_close(&c);

    kd_tls_destroy(tls);
}

static void test_client_auth(void **state)
{
    (void)state;
    struct kd_tls_config cfg;
    struct client_opts anon = {0};
    struct client_opts good = {.cert = path_in("client-a.crt"), .key = path_in("client-a.key")};
    struct client_opts other = {.cert = path_in("client-b.crt"), .key = path_in("client-b.key")};
    struct kd_tls *tls;

    /* require: only a certificate from client_ca. */
    tls_config(&cfg, path_in("server-a.crt"), path_in("server-a.key"), path_in("ca-a.crt"),
               KD_TLS_CLIENT_AUTH_REQUIRE);
    tls = must_create(&cfg);
    assert_true(connect_once(tls, &good));
    assert_false(connect_once(tls, &anon));
    assert_false(connect_once(tls, &other));
    kd_tls_destroy(tls);

    /* optional: no certificate is fine, a bad one is not. */
    cfg.client_auth = KD_TLS_CLIENT_AUTH_OPTIONAL;
    tls = must_create(&cfg);
    assert_true(connect_once(tls, &good));
    assert_true(connect_once(tls, &anon));
    assert_false(connect_once(tls, &other));
    kd_tls_destroy(tls);

    /* none: no CertificateRequest, so the client's certificate is never sent or judged. */
    cfg.client_auth = KD_TLS_CLIENT_AUTH_NONE;
    tls = must_create(&cfg);
    assert_true(connect_once(tls, &anon));
    struct conn c;
    conn_open(&c, tls, &other);
    handshake(&c);
    assert_true(c.ok);
    assert_null(SSL_get0_peer_certificate(c.server));
    conn_close(&c);
    kd_tls_destroy(tls);

    /* A client CA list is not advertised (Go then offers its certificate whatever the
     * issuer): the CertificateRequest carries no names. */
    cfg.client_auth = KD_TLS_CLIENT_AUTH_REQUIRE;
    tls = must_create(&cfg);
    conn_open(&c, tls, &good);
    handshake(&c);
    assert_true(c.ok);
    const STACK_OF(X509_NAME) *names = SSL_get0_peer_CA_list(c.client);
    assert_true(names == NULL || sk_X509_NAME_num(names) == 0);
    assert_non_null(SSL_get0_peer_certificate(c.server));
    conn_close(&c);
    kd_tls_destroy(tls);
}

static void test_min_version(void **state)
{
    (void)state;
    struct kd_tls_config cfg;
    tls_config(&cfg, path_in("server-a.crt"), path_in("server-a.key"), NULL,
               KD_TLS_CLIENT_AUTH_NONE);
    struct kd_tls *tls = must_create(&cfg);
    struct client_opts v11 = {.max_version = TLS1_1_VERSION};
    struct client_opts v12 = {.max_version = TLS1_2_VERSION};
    struct client_opts any = {0};
    assert_false(connect_once(tls, &v11));
    assert_true(connect_once(tls, &v12));
    assert_true(connect_once(tls, &any));
    kd_tls_destroy(tls);

    cfg.min_version = KD_TLS_1_3;
    tls = must_create(&cfg);
    assert_false(connect_once(tls, &v12));
    assert_true(connect_once(tls, &any));
    kd_tls_destroy(tls);
}

/* reload(): new handshakes see the new CA's certificate, a connection set up before goes on
 * with the old one, a broken pair keeps the current material. */
static void test_reload(void **state)
{
    (void)state;
    copy_file(path_in("server-a.crt"), path_in("live.crt"));
    copy_file(path_in("server-a.key"), path_in("live.key"));
    struct kd_tls_config cfg;
    tls_config(&cfg, path_in("live.crt"), path_in("live.key"), NULL, KD_TLS_CLIENT_AUTH_NONE);
    struct kd_tls *tls = must_create(&cfg);
    struct client_opts trust_a = {.ca = path_in("ca-a.crt")};
    struct client_opts trust_b = {.ca = path_in("ca-b.crt")};

    assert_string_equal(served_issuer(tls, &trust_a), "ca-a");
    struct conn old;
    conn_open(&old, tls, &trust_a);
    handshake(&old);
    assert_true(old.ok);

    copy_file(path_in("server-b.crt"), path_in("live.crt"));
    copy_file(path_in("server-b.key"), path_in("live.key"));
    capture_begin();
    assert_int_equal(kd_tls_reload(tls), 0);
    char *log = capture_end();
    assert_non_null(strstr(log, "reloaded: new handshakes use certificate"));
    assert_non_null(strstr(log, "issuer CN=ca-b"));
    assert_int_equal(kd_tls_generation(tls), 2);
    assert_string_equal(served_issuer(tls, &trust_b), "ca-b");
    assert_string_equal(served_issuer(tls, &trust_a), ""); /* A's clients no longer trust it */

    /* The connection from before the reload still works. */
    char buf[6];
    assert_int_equal(SSL_write(old.client, "hello", 5), 5);
    assert_int_equal(SSL_read(old.server, buf, sizeof(buf)), 5);
    assert_int_equal(SSL_write(old.server, "world", 5), 5);
    assert_int_equal(SSL_read(old.client, buf, sizeof(buf)), 5);
    conn_close(&old);

    /* A half-rotated pair (new certificate, old key) keeps B serving. */
    copy_file(path_in("server-a.crt"), path_in("live.crt"));
    capture_begin();
    assert_int_equal(kd_tls_reload(tls), -EPROTO);
    log = capture_end();
    assert_int_equal(count(log, "reload failed, keeping the current certificate"), 1);
    assert_non_null(strstr(log, "does not match"));
    assert_int_equal(kd_tls_generation(tls), 2);
    assert_string_equal(served_issuer(tls, &trust_b), "ca-b");

    /* A file that disappeared, too. */
    assert_int_equal(unlink(path_in("live.key")), 0);
    capture_begin();
    assert_int_equal(kd_tls_reload(tls), -ENOENT);
    capture_end();
    assert_string_equal(served_issuer(tls, &trust_b), "ca-b");
    kd_tls_destroy(tls);
}

/* The kubelet's projection: name -> ..data/name, ..data -> ..<timestamp>/, swapped by
 * renaming a new ..data symlink over the old one. */
static void kubelet_project(const char *dir, const char *gen, const char *crt, const char *key,
                            const char *ca)
{
    char d[200], f[300], link[300], tmp[300];
    snprintf(d, sizeof(d), "%s/%s", dir, gen);
    assert_int_equal(mkdir(d, 0700), 0);
    snprintf(f, sizeof(f), "%s/tls.crt", d);
    copy_file(crt, f);
    snprintf(f, sizeof(f), "%s/tls.key", d);
    copy_file(key, f);
    snprintf(f, sizeof(f), "%s/ca.crt", d);
    copy_file(ca, f);
    snprintf(tmp, sizeof(tmp), "%s/..data_tmp", dir);
    assert_int_equal(symlink(gen, tmp), 0);
    snprintf(link, sizeof(link), "%s/..data", dir);
    assert_int_equal(rename(tmp, link), 0);
    const char *names[] = {"tls.crt", "tls.key", "ca.crt"};
    for (int i = 0; i < 3; i++) {
        char target[64];
        snprintf(f, sizeof(f), "%s/%s", dir, names[i]);
        snprintf(target, sizeof(target), "..data/%s", names[i]);
        if (access(f, F_OK) != 0)
            assert_int_equal(symlink(target, f), 0);
    }
}

static void test_watch_symlink_swap(void **state)
{
    (void)state;
    char dir[200], crt[300], key[300], ca[300];
    snprintf(dir, sizeof(dir), "%s/secret", fx.dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    kubelet_project(dir, "..gen1", path_in("server-a.crt"), path_in("server-a.key"),
                    path_in("ca-a.crt"));
    snprintf(crt, sizeof(crt), "%s/tls.crt", dir);
    snprintf(key, sizeof(key), "%s/tls.key", dir);
    snprintf(ca, sizeof(ca), "%s/ca.crt", dir);

    struct kd_tls_config cfg;
    tls_config(&cfg, crt, key, ca, KD_TLS_CLIENT_AUTH_REQUIRE);
    struct kd_tls *tls = must_create(&cfg);
    struct client_opts a = {
        .ca = path_in("ca-a.crt"), .cert = path_in("client-a.crt"), .key = path_in("client-a.key")};
    struct client_opts b = {
        .ca = path_in("ca-b.crt"), .cert = path_in("client-b.crt"), .key = path_in("client-b.key")};
    assert_int_equal(kd_tls_check_files(tls), 0); /* nothing changed */
    assert_int_equal(kd_tls_generation(tls), 1);
    assert_string_equal(served_issuer(tls, &a), "ca-a");

    /* Rotate everything to CA B, client CA included. */
    kubelet_project(dir, "..gen2", path_in("server-b.crt"), path_in("server-b.key"),
                    path_in("ca-b.crt"));
    capture_begin();
    assert_int_equal(kd_tls_check_files(tls), 0);
    char *log = capture_end();
    assert_int_equal(count(log, "files changed: new handshakes use certificate"), 1);
    assert_int_equal(kd_tls_generation(tls), 2);
    assert_string_equal(served_issuer(tls, &b), "ca-b");
    assert_false(connect_once(tls, &a)); /* A's client certificate is no longer accepted */
    assert_int_equal(kd_tls_check_files(tls), 0);
    assert_int_equal(kd_tls_generation(tls), 2);

    /* A broken projection (A's certificate, B's key): kept B, logged once however often the
     * files are checked, and once more only when it breaks differently. */
    kubelet_project(dir, "..gen3", path_in("server-a.crt"), path_in("server-b.key"),
                    path_in("ca-b.crt"));
    capture_begin();
    assert_int_equal(kd_tls_check_files(tls), -EPROTO);
    for (int i = 0; i < 5; i++)
        assert_int_equal(kd_tls_check_files(tls), 0);
    kubelet_project(dir, "..gen4", path_in("server-a.crt"), path_in("server-b.key"),
                    path_in("ca-b.crt"));
    assert_int_equal(kd_tls_check_files(tls), -EPROTO); /* changed again, same failure */
    write_text(path_in("empty.pem"), "");
    kubelet_project(dir, "..gen5", path_in("empty.pem"), path_in("server-b.key"),
                    path_in("ca-b.crt"));
    assert_int_equal(kd_tls_check_files(tls), -EPROTO); /* a different failure */
    log = capture_end();
    assert_int_equal(count(log, "cannot be used, keeping the current certificate"), 2);
    assert_int_equal(kd_tls_generation(tls), 2);
    assert_string_equal(served_issuer(tls, &b), "ca-b");

    /* Fixed: back to A. */
    kubelet_project(dir, "..gen6", path_in("server-a.crt"), path_in("server-a.key"),
                    path_in("ca-a.crt"));
    assert_int_equal(kd_tls_check_files(tls), 0);
    assert_int_equal(kd_tls_generation(tls), 3);
    assert_string_equal(served_issuer(tls, &a), "ca-a");
    kd_tls_destroy(tls);
}

/* The watch runs on the loop by itself. */
static void on_deadline(evutil_socket_t fd, short events, void *arg)
{
    (void)fd;
    (void)events;
    event_base_loopbreak(arg);
}

static void test_watch_on_loop(void **state)
{
    (void)state;
    copy_file(path_in("server-a.crt"), path_in("loop.crt"));
    copy_file(path_in("server-a.key"), path_in("loop.key"));
    struct event_base *base = event_base_new();
    struct kd_tls_config cfg;
    tls_config(&cfg, path_in("loop.crt"), path_in("loop.key"), NULL, KD_TLS_CLIENT_AUTH_NONE);
    cfg.poll_ms = 10;
    struct kd_tls *tls = NULL;
    char err[256];
    assert_int_equal(kd_tls_create(base, &cfg, &tls, err, sizeof(err)), 0);

    copy_file(path_in("server-b.key"), path_in("loop.key"));
    copy_file(path_in("server-b.crt"), path_in("loop.crt"));
    /* Poll the generation until it moves; 20 s is only a guard against hanging. */
    struct event *guard = evtimer_new(base, on_deadline, base);
    struct timeval tv = {20, 0};
    evtimer_add(guard, &tv);
    while (kd_tls_generation(tls) < 2 && evtimer_pending(guard, NULL))
        event_base_loop(base, EVLOOP_ONCE);
    assert_true(kd_tls_generation(tls) >= 2);
    struct client_opts trust_b = {.ca = path_in("ca-b.crt")};
    assert_string_equal(served_issuer(tls, &trust_b), "ca-b");
    event_free(guard);
    kd_tls_destroy(tls);
    event_base_free(base);
}

int main(void)
{
    kd_log_setup(KD_LOG_INFO, KD_LOG_TEXT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setting_words_match),
        cmocka_unit_test(test_config_check),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_alpn),
        cmocka_unit_test(test_client_auth),
        cmocka_unit_test(test_min_version),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_watch_symlink_swap),
        cmocka_unit_test(test_watch_on_loop),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
