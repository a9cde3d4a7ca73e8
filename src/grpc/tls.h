/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS for the gRPC listener: one OpenSSL server context built from PEM files (certificate
 * chain, key, optional client CA bundle), TLS >= 1.2, ALPN that selects "h2" and refuses
 * everything else, client certificates required, optional or not asked for. The material is
 * re-read when the files change (cert-manager, the kubelet's Secret symlink swap) or on
 * kd_tls_reload(): new handshakes use the new context, connections already accepted keep the
 * one they started with, and a broken new set keeps the old one and is logged once.
 *
 * The OpenSSL side lives in a module (kedastral-tls.so, src/tls/, contract in
 * grpc/tls_module.h) that kd_tls_create() loads the first time TLS is asked for: a daemon
 * without TLS never maps libssl. The configuration helpers and the failure counts work
 * without it (the counts are zeros until it is loaded).
 */
#ifndef KD_GRPC_TLS_H
#define KD_GRPC_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h> /* evutil_socket_t */

struct bufferevent;
struct event_base;
struct kd_tls;

enum kd_tls_client_auth {
    KD_TLS_CLIENT_AUTH_NONE,     /* no CertificateRequest: any client may connect */
    KD_TLS_CLIENT_AUTH_OPTIONAL, /* asked for; a client without one may connect, a bad one may not
                                  */
    KD_TLS_CLIENT_AUTH_REQUIRE,  /* a certificate signed by client_ca is required */
};

enum kd_tls_version { KD_TLS_1_2 = 0x0303, KD_TLS_1_3 = 0x0304 }; /* the wire values */

/* Default poll interval for file changes: three stat(2) calls, cheap enough to do often. */
#define KD_TLS_POLL_MS 1000

struct kd_tls_config {
    const char *cert_file;      /* PEM chain, leaf first; required */
    const char *key_file;       /* PEM private key, unencrypted; required */
    const char *client_ca_file; /* PEM bundle that signs client certificates, or NULL */
    enum kd_tls_client_auth client_auth;
    enum kd_tls_version min_version;
    int64_t poll_ms; /* how often the files are checked for changes; 0: never (reload only) */
};

/* Defaults: no files, client_auth none, TLS 1.2, KD_TLS_POLL_MS. */
void kd_tls_config_init(struct kd_tls_config *cfg);

/* "none", "optional", "require" (the config's words; the settings table parses them). */
const char *kd_tls_client_auth_name(enum kd_tls_client_auth auth);

/* The shape without touching files: cert and key present, client_auth optional or require
 * only with a client_ca, a known min_version, poll_ms >= 0. -EINVAL with one line in err. */
int kd_tls_config_check(const struct kd_tls_config *cfg, char *err, size_t err_len);

/* The module to load (--tls-module), ahead of $KEDASTRAL_TLS_MODULE and the lookup
 * (grpc/tls_module.h: kd_tls_module_path()); NULL: the lookup again. Not copied: the caller
 * keeps it alive (argv does). A module already loaded stays. */
void kd_tls_module_set_path(const char *path);

/*
 * Build the server context from cfg's files (copied; cfg may go away) and, with poll_ms > 0
 * and a base, watch them. Errors: -EINVAL (shape, as kd_tls_config_check), -ENOENT/-EACCES
 * (a file cannot be read), -EPROTO (OpenSSL refused the material: not PEM, key does not
 * match the certificate, no certificate in client_ca), -ENOMEM; one line in err naming the
 * file and OpenSSL's reason. The module is loaded first: -ENOENT or -ENOEXEC when it cannot
 * be, the line naming its path and dlerror(). Nothing is logged here: the caller has the
 * config context.
 */
int kd_tls_create(struct event_base *base, const struct kd_tls_config *cfg, struct kd_tls **ret_tls,
                  char *err, size_t err_len);

/*
 * Re-read every file now (SIGHUP). 0: the new material serves new handshakes (logged at
 * info with the certificate's subject, issuer and expiry); -errno as for kd_tls_create: the
 * current material keeps serving and the reason is logged at warn.
 */
int kd_tls_reload(struct kd_tls *tls);

/*
 * What the watch does every poll_ms: 0 if no file changed since the last load or attempt;
 * otherwise the files are loaded as by kd_tls_reload(), except that a failure is logged only
 * when it differs from the one logged last (a pair that stays broken is logged once).
 */
int kd_tls_check_files(struct kd_tls *tls);

/* How many times material was loaded: 1 after create, +1 per successful reload. */
uint64_t kd_tls_generation(const struct kd_tls *tls);

/* Stop watching and drop this object's reference to the context. Connections accepted
 * earlier hold their own reference and go on. NULL is ignored. */
void kd_tls_destroy(struct kd_tls *tls);

/* ---- For the listener ---------------------------------------------------------------------- */

/* Handshakes that did not end in HTTP/2, by why: the client offered no ALPN h2; spoke
 * plaintext to the TLS port; brought no or an untrusted client certificate; any other TLS
 * error; closed the connection mid-handshake; did not finish within the timeout. */
enum kd_tls_failure {
    KD_TLS_FAILURE_NO_H2,
    KD_TLS_FAILURE_PLAINTEXT,
    KD_TLS_FAILURE_CLIENT_CERT,
    KD_TLS_FAILURE_PROTOCOL,
    KD_TLS_FAILURE_CLOSED,
    KD_TLS_FAILURE_TIMEOUT,
    KD_TLS_FAILURE_COUNT
};

/* Process-wide counts since start, by kd_tls_failure (for /metrics); zeros while the module
 * is not loaded. */
void kd_tls_failures(uint64_t ret_counts[KD_TLS_FAILURE_COUNT]);

/* The metric label of a kd_tls_failure ("no_h2", "plaintext", ...). */
const char *kd_tls_failure_name(enum kd_tls_failure why);

/*
 * Handshakes in progress on accepted sockets. Each runs on the material current when its
 * socket was accepted; when it completes with ALPN h2, `ready` gets the bufferevent (ready's
 * to own from then on, callbacks unset, reading and writing enabled). Failures, refusals and
 * timeouts are logged (at most a burst per 10 s) and counted
 * (kd_tls_failures), and the socket is closed. A handshake must finish within `timeout_ms` of
 * the accept, however the client paces its bytes; HTTP/2's preface then has its own.
 */
struct kd_tls_acceptor;

/* -ENOMEM, or -ENOENT/-ENOEXEC (logged) if the module cannot be loaded: only a kd_tls from
 * kd_tls_create() is ever accepted on, so the module is normally loaded already. */
int kd_tls_acceptor_create(struct event_base *base, int64_t timeout_ms,
                           void (*ready)(struct bufferevent *bev, void *arg), void *arg,
                           struct kd_tls_acceptor **ret_acceptor);

/* The deadline of handshakes accepted from now on (limits.handshake_timeout, reload). */
void kd_tls_acceptor_set_timeout(struct kd_tls_acceptor *acceptor, int64_t timeout_ms);

/* Start a handshake on `fd` (owned from now on: closed on every failure). -ENOMEM. */
int kd_tls_acceptor_accept(struct kd_tls_acceptor *acceptor, struct kd_tls *tls,
                           evutil_socket_t fd);

/* Handshakes not finished yet. */
size_t kd_tls_acceptor_pending(const struct kd_tls_acceptor *acceptor);

/* Close every pending handshake (drain, shutdown). */
void kd_tls_acceptor_drop_all(struct kd_tls_acceptor *acceptor);

/* Closes pending handshakes. NULL is ignored. */
void kd_tls_acceptor_destroy(struct kd_tls_acceptor *acceptor);

#endif /* KD_GRPC_TLS_H */
