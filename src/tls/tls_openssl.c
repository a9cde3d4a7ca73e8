/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kedastral-tls.so: OpenSSL server contexts for the gRPC listener, their reload and the file
 * watch, and the handshakes. A module so that only a daemon serving TLS maps libssl,
 * libcrypto and libevent_openssl; the loader and the contract are in grpc/tls.c and
 * grpc/tls_module.h. Everything here is static but the table at the end.
 */
#include "grpc/tls_module.h"

#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls/tls_host.h"
#include "util/errbuf.h"
#include "util/list.h"
#include "util/log.h"
#include "util/time.h"

#define LOG_DEBUG(...)                                                                             \
    do {                                                                                           \
        if (kd_log_enabled(KD_LOG_DEBUG))                                                          \
            kd_log_prefixed(KD_LOG_DEBUG, "tls", __VA_ARGS__);                                     \
    } while (0)
#define LOG_INFO(...) kd_log_prefixed(KD_LOG_INFO, "tls", __VA_ARGS__)
#define LOG_WARN(...) kd_log_prefixed(KD_LOG_WARN, "tls", __VA_ARGS__)

/* Mozilla's "intermediate" TLS 1.2 list: forward secrecy and AEAD only, none of the suites
 * RFC 9113 appendix A forbids for HTTP/2. TLS 1.3 suites are OpenSSL's defaults. */
#define TLS12_CIPHERS                                                                              \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

enum { FILE_CERT, FILE_KEY, FILE_CA, N_FILES };

struct file_id {
    int error; /* errno of a failed stat(), 0 when the fields are valid */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
};

struct kd_tls {
    struct kd_tls_config cfg; /* file names point into `paths` */
    char *paths[N_FILES];
    SSL_CTX *ctx; /* current material; every SSL holds its own reference */
    uint64_t generation;
    struct file_id ids[N_FILES]; /* what the current or last attempted load saw */
    char last_error[512];        /* the failure last logged by the watch, "" after a success */
    struct event *poll_ev;
};

/* The SSL's "refusal already logged" flag (the ALPN callback logs; the handshake error after
 * it must not log again). */
static int g_logged_index = -1;
/* The SSL's peer address as text, taken at accept: getpeername() fails once the peer left. */
static int g_peer_index = -1;

/* Handshakes that did not end in HTTP/2, by why (tls_failures()): process-wide, since they
 * outlive every context a rotation replaces. */
static uint64_t g_failures[KD_TLS_FAILURE_COUNT];

/* A failed handshake is the client's doing and costs it nothing, so a hostile one can make
 * thousands a second: at most REFUSAL_BURST lines per REFUSAL_WINDOW_MS, then, when the window
 * ends, one line saying how many were left out. The counters above count every one. */
#define REFUSAL_BURST 20
#define REFUSAL_WINDOW_MS 10000
static struct {
    int64_t window_start_ms;
    unsigned n_logged;
    uint64_t n_dropped;
    struct event_base *base;  /* the acceptor's: for the timer */
    struct event *summary_ev; /* pending while lines are being left out */
} g_refusals;

/* The window ends: say what it left out, start the next. */
static void refusals_summarise(int64_t now)
{
    if (g_refusals.n_dropped > 0)
        LOG_INFO("%llu more failed TLS handshakes not logged in the last %lld s (see "
                 "kedastral_scaler_tls_handshake_failures_total)",
                 (unsigned long long)g_refusals.n_dropped,
                 (long long)(now - g_refusals.window_start_ms + 999) / 1000);
    g_refusals.window_start_ms = now;
    g_refusals.n_logged = 0;
    g_refusals.n_dropped = 0;
}

static void on_refusals_window_end(evutil_socket_t fd, short events, void *arg)
{
    (void)fd;
    (void)events;
    (void)arg;
    refusals_summarise(kd_time_mono_ms());
}

/* The first line left out in a window arms the timer that reports them at its end; without
 * one (no loop yet, no memory) the next refusal after the window reports them. */
static void refusals_drop(int64_t now)
{
    if (g_refusals.n_dropped++ > 0 || !g_refusals.base)
        return;
    if (!g_refusals.summary_ev)
        g_refusals.summary_ev = evtimer_new(g_refusals.base, on_refusals_window_end, NULL);
    if (g_refusals.summary_ev) {
        int64_t left = g_refusals.window_start_ms + REFUSAL_WINDOW_MS - now;
        struct timeval tv = {(time_t)(left > 0 ? left / 1000 : 0),
                             (suseconds_t)(left > 0 ? left % 1000 : 0) * 1000};
        evtimer_add(g_refusals.summary_ev, &tv);
    }
}

static void refusal(enum kd_tls_failure why, enum kd_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void refusal(enum kd_tls_failure why, enum kd_log_level level, const char *fmt, ...)
{
    int64_t now = kd_time_mono_ms();
    bool timed = g_refusals.summary_ev && evtimer_pending(g_refusals.summary_ev, NULL);
    g_failures[why]++;
    if (!kd_log_enabled(level))
        return;
    if (!timed && now - g_refusals.window_start_ms >= REFUSAL_WINDOW_MS)
        refusals_summarise(now);
    if (g_refusals.n_logged >= REFUSAL_BURST) {
        refusals_drop(now);
        return;
    }
    g_refusals.n_logged++;
    va_list ap;
    va_start(ap, fmt);
    kd_log_prefixedv(level, "tls", fmt, ap);
    va_end(ap);
}

static void tls_failures(uint64_t ret_counts[KD_TLS_FAILURE_COUNT])
{
    memcpy(ret_counts, g_failures, sizeof(g_failures));
}

static void free_peer(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    free(ptr);
}

static int init_indexes(void)
{
    if (g_logged_index < 0)
        g_logged_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if (g_peer_index < 0)
        g_peer_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_peer);
    return g_logged_index < 0 || g_peer_index < 0 ? -ENOMEM : 0;
}

static const char *const file_roles[N_FILES] = {"cert", "key", "client_ca"};

/* ---- Errors and names ---------------------------------------------------------------------- */

/* The most specific reason on OpenSSL's error queue, the innermost, pushed first ("no start
 * line" rather than "PEM lib"); then the queue is cleared so that it never leaks into an
 * unrelated connection's diagnosis. */
static void openssl_reason(char *buf, size_t size)
{
    unsigned long last = ERR_get_error();
    ERR_clear_error();
    if (last == 0) {
        kd_errbuf_printf(buf, size, "unknown OpenSSL error");
        return;
    }
    const char *reason = ERR_reason_error_string(last);
    if (reason)
        kd_errbuf_printf(buf, size, "%s", reason);
    else
        ERR_error_string_n(last, buf, size);
}

static void name_oneline(const X509_NAME *name, char *buf, size_t size)
{
    BIO *bio = BIO_new(BIO_s_mem());
    buf[0] = '\0';
    if (!bio)
        return;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
        int n = BIO_read(bio, buf, (int)size - 1);
        buf[n > 0 ? n : 0] = '\0';
    }
    BIO_free(bio);
}

static void time_text(const ASN1_TIME *t, char *buf, size_t size)
{
    struct tm tm;
    if (t && ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        kd_errbuf_printf(buf, size, "?");
}

/* ---- Files --------------------------------------------------------------------------------- */

static void file_id_stat(const char *path, struct file_id *id)
{
    struct stat sb;
    memset(id, 0, sizeof(*id));
    if (!path)
        return;
    if (stat(path, &sb) != 0) {
        id->error = errno;
        return;
    }
    id->dev = sb.st_dev;
    id->ino = sb.st_ino;
    id->size = sb.st_size;
    id->mtime = sb.st_mtim;
    id->ctime = sb.st_ctim;
}

static bool file_id_equal(const struct file_id *a, const struct file_id *b)
{
    if (a->error || b->error)
        return a->error == b->error;
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* ---- ALPN ---------------------------------------------------------------------------------- */

static void peer_text(SSL *ssl, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[NI_MAXHOST], port[NI_MAXSERV];
    const char *known = g_peer_index >= 0 ? SSL_get_ex_data(ssl, g_peer_index) : NULL;
    int fd = SSL_get_fd(ssl);

    kd_errbuf_printf(buf, size, "%s", known ? known : "?");
    if (known || fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return;
    kd_errbuf_printf(buf, size, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* The client's ALPN list, printable: "http/1.1,spdy/3" (for the refusal line). */
static void alpn_list_text(const unsigned char *in, unsigned inlen, char *buf, size_t size)
{
    size_t out = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < inlen && out + 4 < size;) {
        unsigned n = in[i++];
        if (n > inlen - i)
            break;
        if (out > 0)
            buf[out++] = ',';
        for (unsigned j = 0; j < n && out + 4 < size; j++) {
            unsigned char c = in[i + j];
            buf[out++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        }
        i += n;
    }
    buf[out] = '\0';
}

static int on_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                          const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < inlen;) {
        unsigned n = in[i++];
        if (n > inlen - i)
            break;
        if (n == 2 && in[i] == 'h' && in[i + 1] == '2') {
            *out = in + i;
            *outlen = 2;
            return SSL_TLSEXT_ERR_OK;
        }
        i += n;
    }
    char peer[NI_MAXHOST + NI_MAXSERV + 4], offered[256];
    peer_text(ssl, peer, sizeof(peer));
    alpn_list_text(in, inlen, offered, sizeof(offered));
    refusal(KD_TLS_FAILURE_NO_H2, KD_LOG_WARN,
            "refusing %s: its ALPN offers %s, not h2 (gRPC needs HTTP/2 over TLS)", peer,
            offered[0] ? offered : "nothing");
    SSL_set_ex_data(ssl, g_logged_index, (void *)1);
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* ---- Contexts ------------------------------------------------------------------------------ */

/* Never prompt on a terminal for an encrypted key: it fails to load instead. */
static int no_passphrase(char *buf, int size, int rwflag, void *arg)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)arg;
    return -1;
}

static int fail_file(int role, const char *path, char *err, size_t err_len)
{
    char reason[256];
    struct stat sb;
    if (stat(path, &sb) != 0) {
        int e = errno;
        ERR_clear_error();
        kd_errbuf_printf(err, err_len, "%s \"%s\": %s", file_roles[role], path, strerror(e));
        return -e;
    }
    openssl_reason(reason, sizeof(reason));
    kd_errbuf_printf(err, err_len, "%s \"%s\": %s", file_roles[role], path, reason);
    return -EPROTO;
}

static int build_ctx(const struct kd_tls_config *cfg, SSL_CTX **ret_ctx, char *err, size_t err_len)
{
    char reason[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    int rc;

    ERR_clear_error();
    if (!ctx) {
        kd_errbuf_printf(err, err_len, "out of memory creating a TLS context");
        return -ENOMEM;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (!SSL_CTX_set_min_proto_version(ctx, (int)cfg->min_version) ||
        !SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS)) {
        openssl_reason(reason, sizeof(reason));
        kd_errbuf_printf(err, err_len, "TLS context: %s", reason);
        rc = -EPROTO;
        goto fail;
    }
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
        rc = fail_file(FILE_CERT, cfg->cert_file, err, err_len);
        goto fail;
    }
    /* OpenSSL checks the key against the certificate as it loads it. */
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1 &&
        ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
        rc = fail_file(FILE_KEY, cfg->key_file, err, err_len);
        goto fail;
    }
    /* A key of another type (EC for an RSA certificate) loads; this catches it too. */
    if (ERR_peek_error() != 0 || SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        kd_errbuf_printf(err, err_len, "key \"%s\" does not match cert \"%s\"", cfg->key_file,
                         cfg->cert_file);
        rc = -EPROTO;
        goto fail;
    }
    if (cfg->client_auth != KD_TLS_CLIENT_AUTH_NONE) {
        /* No client CA list is sent in the CertificateRequest: Go's crypto/tls (KEDA) then
         * offers its certificate whatever its issuer, instead of silently sending none when
         * an intermediate is not named (KEDA issue #7017). Verification is unchanged. */
        if (SSL_CTX_load_verify_locations(ctx, cfg->client_ca_file, NULL) != 1) {
            rc = fail_file(FILE_CA, cfg->client_ca_file, err, err_len);
            goto fail;
        }
        int mode = SSL_VERIFY_PEER;
        if (cfg->client_auth == KD_TLS_CLIENT_AUTH_REQUIRE)
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(ctx, mode, NULL);
    }
    /* Resumed sessions skip verification: they must not cross a context built on other
     * material, and need an id context once peers are verified. */
    static const unsigned char sid_ctx[] = "kedastral-scaler";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    SSL_CTX_set_alpn_select_cb(ctx, on_alpn_select, NULL);
    *ret_ctx = ctx;
    return 0;

fail:
    SSL_CTX_free(ctx);
    return rc;
}

static void log_loaded(const struct kd_tls *tls, const char *how)
{
    X509 *cert = SSL_CTX_get0_certificate(tls->ctx);
    char subject[256] = "", issuer[256] = "", not_after[32] = "?";
    if (cert) {
        name_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
        name_oneline(X509_get_issuer_name(cert), issuer, sizeof(issuer));
        time_text(X509_get0_notAfter(cert), not_after, sizeof(not_after));
    }
    LOG_INFO("%s certificate \"%s\" (subject %s, issuer %s, expires %s), client_auth %s, "
             "TLS >= 1.%d",
             how, tls->cfg.cert_file, subject, issuer, not_after,
             kd_tls_client_auth_name(tls->cfg.client_auth),
             tls->cfg.min_version == KD_TLS_1_3 ? 3 : 2);
}

/* Build from the files; on success the new context replaces the old. The identities are taken
 * before reading, so a file that changes while it is read is read again on the next poll. */
static int load(struct kd_tls *tls, char *err, size_t err_len)
{
    SSL_CTX *ctx;
    for (int i = 0; i < N_FILES; i++)
        file_id_stat(tls->paths[i], &tls->ids[i]);
    int rc = build_ctx(&tls->cfg, &ctx, err, err_len);
    if (rc != 0)
        return rc;
    SSL_CTX_free(tls->ctx);
    tls->ctx = ctx;
    tls->generation++;
    return 0;
}

static int tls_check_files(struct kd_tls *tls)
{
    char err[sizeof(tls->last_error)];
    bool changed = false;
    for (int i = 0; i < N_FILES && !changed; i++) {
        struct file_id id;
        file_id_stat(tls->paths[i], &id);
        changed = !file_id_equal(&id, &tls->ids[i]);
    }
    if (!changed)
        return 0;
    int rc = load(tls, err, sizeof(err));
    if (rc == 0) {
        tls->last_error[0] = '\0';
        log_loaded(tls, "files changed: new handshakes use");
    } else if (strcmp(err, tls->last_error) != 0) {
        /* Once per distinct failure: a half-written pair is retried on every change, and
         * logged again only when it fails differently. */
        LOG_WARN("files changed but cannot be used, keeping the current certificate: %s", err);
        snprintf(tls->last_error, sizeof(tls->last_error), "%s", err);
    }
    return rc;
}

static void on_poll(evutil_socket_t fd, short events, void *arg)
{
    (void)fd;
    (void)events;
    tls_check_files(arg);
}

static void tls_destroy(struct kd_tls *tls);

static int tls_create(struct event_base *base, const struct kd_tls_config *cfg,
                      struct kd_tls **ret_tls, char *err, size_t err_len)
{
    int rc = kd_tls_config_check(cfg, err, err_len);
    if (rc != 0)
        return rc;
    if (init_indexes() != 0) {
        kd_errbuf_printf(err, err_len, "out of memory");
        return -ENOMEM;
    }

    struct kd_tls *tls = calloc(1, sizeof(*tls));
    if (!tls)
        goto fail_alloc;
    tls->cfg = *cfg;
    const char *files[N_FILES] = {cfg->cert_file, cfg->key_file,
                                  cfg->client_auth != KD_TLS_CLIENT_AUTH_NONE ? cfg->client_ca_file
                                                                              : NULL};
    for (int i = 0; i < N_FILES; i++) {
        if (files[i] && !(tls->paths[i] = strdup(files[i])))
            goto fail_paths;
    }
    tls->cfg.cert_file = tls->paths[FILE_CERT];
    tls->cfg.key_file = tls->paths[FILE_KEY];
    tls->cfg.client_ca_file = tls->paths[FILE_CA];

    rc = load(tls, err, err_len);
    if (rc != 0)
        goto fail_load;
    if (base && cfg->poll_ms > 0) {
        struct timeval tv = {(time_t)(cfg->poll_ms / 1000),
                             (suseconds_t)(cfg->poll_ms % 1000) * 1000};
        tls->poll_ev = event_new(base, -1, EV_PERSIST, on_poll, tls);
        if (!tls->poll_ev || event_add(tls->poll_ev, &tv) != 0)
            goto fail_paths;
    }
    *ret_tls = tls;
    return 0;

fail_paths:
    rc = -ENOMEM;
    kd_errbuf_printf(err, err_len, "out of memory");
fail_load:
    tls_destroy(tls);
    return rc;
fail_alloc:
    kd_errbuf_printf(err, err_len, "out of memory");
    return -ENOMEM;
}

static int tls_reload(struct kd_tls *tls)
{
    char err[sizeof(tls->last_error)];
    int rc = load(tls, err, sizeof(err));
    if (rc == 0) {
        tls->last_error[0] = '\0';
        log_loaded(tls, "reloaded: new handshakes use");
    } else {
        LOG_WARN("reload failed, keeping the current certificate: %s", err);
        snprintf(tls->last_error, sizeof(tls->last_error), "%s", err);
    }
    return rc;
}

static uint64_t tls_generation(const struct kd_tls *tls)
{
    return tls->generation;
}

static void tls_destroy(struct kd_tls *tls)
{
    if (!tls)
        return;
    if (tls->poll_ev)
        event_free(tls->poll_ev);
    SSL_CTX_free(tls->ctx);
    for (int i = 0; i < N_FILES; i++)
        free(tls->paths[i]);
    free(tls);
}

/* ---- Connections --------------------------------------------------------------------------- */

static SSL *tls_ssl_new(struct kd_tls *tls)
{
    return SSL_new(tls->ctx);
}

static struct bufferevent *tls_bufferevent_new(struct kd_tls *tls, struct event_base *base,
                                               evutil_socket_t fd, int options)
{
    SSL *ssl = tls_ssl_new(tls);
    if (!ssl)
        return NULL;
    /* Without BEV_OPT_CLOSE_ON_FREE libevent would leak the SSL; with it the SSL goes too. */
    struct bufferevent *bev =
        bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, options);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

static bool tls_handshake_done(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    const unsigned char *proto = NULL;
    unsigned len = 0;
    if (!ssl)
        return false;
    SSL_get0_alpn_selected(ssl, &proto, &len);
    if (len == 2 && memcmp(proto, "h2", 2) == 0) {
        if (kd_log_enabled(KD_LOG_DEBUG)) {
            char peer[NI_MAXHOST + NI_MAXSERV + 4];
            peer_text(ssl, peer, sizeof(peer));
            LOG_DEBUG("%s: %s %s, ALPN h2", peer, SSL_get_version(ssl), SSL_get_cipher_name(ssl));
        }
        return true;
    }
    char peer[NI_MAXHOST + NI_MAXSERV + 4];
    peer_text(ssl, peer, sizeof(peer));
    refusal(KD_TLS_FAILURE_NO_H2, KD_LOG_WARN,
            "refusing %s: it sent no ALPN; gRPC over TLS needs ALPN h2", peer);
    return false;
}

/* What an operator can do about a handshake failure, by OpenSSL reason; NULL: nothing to add. */
static const char *hint(int reason)
{
    switch (reason) {
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
        return "a plaintext client on the TLS port?";
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return "client_auth require: the client must present a certificate from client_ca";
    case SSL_R_UNSUPPORTED_PROTOCOL:
        return "the client offers no TLS version at or above min_version";
    case SSL_R_NO_SHARED_CIPHER:
        return "no cipher suite in common";
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
    case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        /* No alert, just a closed socket: a probe, or a client that gave up. Saying more
         * (distrust of our certificate, say) would be a guess. */
        return "the client closed the connection during the handshake";
#endif
    case SSL_AD_REASON_OFFSET + SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_REASON_OFFSET + SSL_AD_UNKNOWN_CA:
    case SSL_AD_REASON_OFFSET + SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_REASON_OFFSET + SSL_AD_CERTIFICATE_EXPIRED:
        return "the client gave up on the server certificate: does it trust the CA (caCert) "
               "and does the certificate name the host in its scalerAddress?";
    default:
        return NULL;
    }
}

static enum kd_tls_failure failure_kind(int reason)
{
    switch (reason) {
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
        return KD_TLS_FAILURE_PLAINTEXT;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return KD_TLS_FAILURE_CLIENT_CERT;
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
    case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        return KD_TLS_FAILURE_CLOSED;
#endif
    default:
        return KD_TLS_FAILURE_PROTOCOL;
    }
}

static void tls_handshake_failed(struct bufferevent *bev, short events)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    char peer[NI_MAXHOST + NI_MAXSERV + 4], reason[256];
    unsigned long code, last = 0;

    /* libevent moved OpenSSL's queue into the bufferevent, after SSL_get_error()'s small code
     * (no library); they come back newest first. Keep the oldest real one: the innermost. */
    while ((code = bufferevent_get_openssl_error(bev)) != 0) {
        if (ERR_GET_LIB(code) != 0)
            last = code;
    }
    ERR_clear_error();
    if (!ssl || SSL_get_ex_data(ssl, g_logged_index))
        return;
    peer_text(ssl, peer, sizeof(peer));
    if (last == 0) {
        /* EOF or a socket error before or during the handshake: a TCP probe, a port scan, or
         * a client that gave up. Not worth a line at info. */
        g_failures[KD_TLS_FAILURE_CLOSED]++;
        LOG_DEBUG("%s closed before the TLS handshake finished%s", peer,
                  (events & BEV_EVENT_ERROR) ? " (socket error)" : "");
        return;
    }
    const char *r = ERR_reason_error_string(last);
    kd_errbuf_printf(reason, sizeof(reason), "%s", r ? r : "unknown error");
    long verify = SSL_get_verify_result(ssl);
    const char *why = ERR_GET_LIB(last) == ERR_LIB_SSL ? hint(ERR_GET_REASON(last)) : NULL;
    if (verify != X509_V_OK)
        refusal(KD_TLS_FAILURE_CLIENT_CERT, KD_LOG_INFO,
                "TLS handshake with %s failed: %s: client certificate: %s", peer, reason,
                X509_verify_cert_error_string(verify));
    else if (why)
        refusal(failure_kind(ERR_GET_REASON(last)), KD_LOG_INFO,
                "TLS handshake with %s failed: %s (%s)", peer, reason, why);
    else
        refusal(KD_TLS_FAILURE_PROTOCOL, KD_LOG_INFO, "TLS handshake with %s failed: %s", peer,
                reason);
}

/* ---- Handshakes ---------------------------------------------------------------------------- */

struct kd_tls_acceptor {
    struct event_base *base;
    int64_t timeout_ms; /* whole handshake, from accept: a trickling client gets no more */
    void (*ready)(struct bufferevent *bev, void *arg);
    void *arg;
    struct kd_list pending; /* struct handshake.link */
    size_t n_pending;
};

struct handshake {
    struct kd_list link;
    struct kd_tls_acceptor *acceptor;
    struct bufferevent *bev;
    struct event *timer; /* the deadline; bufferevent timeouts restart at every byte */
};

/* Forget the handshake; the bufferevent is the caller's to free or hand on. */
static void handshake_end(struct handshake *hs)
{
    kd_list_remove(&hs->link);
    hs->acceptor->n_pending--;
    event_free(hs->timer);
    free(hs);
}

static void handshake_free(struct handshake *hs)
{
    struct bufferevent *bev = hs->bev;
    handshake_end(hs);
    bufferevent_free(bev);
}

/* Application data that arrives with the client's Finished is read before our CONNECTED
 * callback runs. libevent only remembers it for a bufferevent that has a read callback, and
 * then runs the connection's (set by `ready`) after CONNECTED. */
static void on_handshake_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    (void)arg;
}

static void on_handshake_event(struct bufferevent *bev, short events, void *arg)
{
    struct handshake *hs = arg;
    struct kd_tls_acceptor *acceptor = hs->acceptor;

    if (events & BEV_EVENT_CONNECTED) {
        if (!tls_handshake_done(bev)) {
            handshake_free(hs);
            return;
        }
        handshake_end(hs);
        bufferevent_setcb(bev, on_handshake_read, NULL, NULL, NULL);
        acceptor->ready(bev, acceptor->arg);
        return;
    }
    if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        tls_handshake_failed(bev, events);
    handshake_free(hs);
}

static void on_handshake_timeout(evutil_socket_t fd, short events, void *arg)
{
    struct handshake *hs = arg;
    char peer[NI_MAXHOST + NI_MAXSERV + 4];
    (void)fd;
    (void)events;
    peer_text(bufferevent_openssl_get_ssl(hs->bev), peer, sizeof(peer));
    g_failures[KD_TLS_FAILURE_TIMEOUT]++;
    LOG_DEBUG("%s: no TLS handshake within %lld ms (limits.handshake_timeout), closing", peer,
              (long long)hs->acceptor->timeout_ms);
    handshake_free(hs);
}

static int tls_acceptor_create(struct event_base *base, int64_t timeout_ms,
                               void (*ready)(struct bufferevent *bev, void *arg), void *arg,
                               struct kd_tls_acceptor **ret_acceptor)
{
    struct kd_tls_acceptor *acceptor = calloc(1, sizeof(*acceptor));
    if (!acceptor)
        return -ENOMEM;
    acceptor->base = base;
    acceptor->timeout_ms = timeout_ms;
    g_refusals.base = base;
    acceptor->ready = ready;
    acceptor->arg = arg;
    kd_list_init(&acceptor->pending);
    *ret_acceptor = acceptor;
    return 0;
}

static int tls_acceptor_accept(struct kd_tls_acceptor *acceptor, struct kd_tls *tls,
                               evutil_socket_t fd)
{
    struct handshake *hs = calloc(1, sizeof(*hs));
    if (!hs)
        goto fail_hs;
    hs->acceptor = acceptor;
    hs->timer = evtimer_new(acceptor->base, on_handshake_timeout, hs);
    if (!hs->timer)
        goto fail_timer;
    hs->bev = tls_bufferevent_new(tls, acceptor->base, fd,
                                  BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!hs->bev)
        goto fail_bev;
    SSL *ssl = bufferevent_openssl_get_ssl(hs->bev);
    char peer[NI_MAXHOST + NI_MAXSERV + 4];
    peer_text(ssl, peer, sizeof(peer));
    char *copy = strdup(peer);
    if (copy && !SSL_set_ex_data(ssl, g_peer_index, copy))
        free(copy);
    kd_list_push_back(&acceptor->pending, &hs->link);
    acceptor->n_pending++;
    struct timeval tv = {(time_t)(acceptor->timeout_ms / 1000),
                         (suseconds_t)(acceptor->timeout_ms % 1000) * 1000};
    evtimer_add(hs->timer, &tv);
    bufferevent_setcb(hs->bev, on_handshake_read, NULL, on_handshake_event, hs);
    bufferevent_enable(hs->bev, EV_READ | EV_WRITE);
    return 0;

fail_bev:
    event_free(hs->timer);
fail_timer:
    free(hs);
fail_hs:
    evutil_closesocket(fd);
    return -ENOMEM;
}

static size_t tls_acceptor_pending(const struct kd_tls_acceptor *acceptor)
{
    return acceptor->n_pending;
}

static void tls_acceptor_drop_all(struct kd_tls_acceptor *acceptor)
{
    struct kd_list *node;
    while ((node = kd_list_first(&acceptor->pending)))
        handshake_free(KD_CONTAINER_OF(node, struct handshake, link));
}

static void tls_acceptor_set_timeout(struct kd_tls_acceptor *acceptor, int64_t timeout_ms)
{
    acceptor->timeout_ms = timeout_ms;
}

static void tls_acceptor_destroy(struct kd_tls_acceptor *acceptor)
{
    if (!acceptor)
        return;
    tls_acceptor_drop_all(acceptor);
    if (g_refusals.base == acceptor->base) {
        refusals_summarise(kd_time_mono_ms()); /* what the last window left out, if anything */
        if (g_refusals.summary_ev)
            event_free(g_refusals.summary_ev);
        g_refusals.summary_ev = NULL;
        g_refusals.base = NULL;
    }
    free(acceptor);
}

/* ---- The module's one export ---------------------------------------------------------------- */

static const char *library_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}

__attribute__((visibility("default"))) const struct kd_tls_module kd_tls_module = {
    .abi_version = KD_TLS_MODULE_ABI,
    .struct_size = sizeof(struct kd_tls_module),
    .init = kd_tls_host_init,
    .library_version = library_version,
    .create = tls_create,
    .reload = tls_reload,
    .check_files = tls_check_files,
    .generation = tls_generation,
    .destroy = tls_destroy,
    .failures = tls_failures,
    .acceptor_create = tls_acceptor_create,
    .acceptor_set_timeout = tls_acceptor_set_timeout,
    .acceptor_accept = tls_acceptor_accept,
    .acceptor_pending = tls_acceptor_pending,
    .acceptor_drop_all = tls_acceptor_drop_all,
    .acceptor_destroy = tls_acceptor_destroy,
    .ssl_new = tls_ssl_new,
};
