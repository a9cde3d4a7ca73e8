/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The contract between kd_grpc's TLS loader (tls.c) and the OpenSSL module (src/tls/,
 * kedastral-tls.so). The daemon links no OpenSSL: mapping libssl, libcrypto and
 * libevent_openssl costs about 2 MB of RSS, so they come in with the module, dlopen()ed the
 * first time a configuration asks for TLS.
 *
 * The module exports one symbol, KD_TLS_MODULE_SYMBOL: a struct kd_tls_module whose first two
 * fields are its ABI version and its size as the module compiled it. The loader refuses a
 * module whose abi_version is older than KD_TLS_MODULE_ABI or whose struct_size does not cover
 * every function this daemon calls; a newer module (a later abi_version, a larger table) loads.
 * Functions are only ever appended, and KD_TLS_MODULE_ABI goes up when one is, or when the
 * meaning of one changes.
 *
 * The objects (struct kd_tls, struct kd_tls_acceptor) are the module's; the loader hands them
 * back unchanged. The module logs through struct kd_tls_host so its lines follow the daemon's
 * level and format.
 */
#ifndef KD_GRPC_TLS_MODULE_H
#define KD_GRPC_TLS_MODULE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grpc/tls.h"
#include "util/log.h"

#define KD_TLS_MODULE_ABI 1u
#define KD_TLS_MODULE_SYMBOL "kd_tls_module"
#define KD_TLS_MODULE_FILE "kedastral-tls.so"
/* Where the loader looks first (tls.c: kd_tls_module_path()). */
#define KD_TLS_MODULE_ENV "KEDASTRAL_TLS_MODULE"

/* What the daemon lends the module. `size`: sizeof as the daemon compiled it. */
struct kd_tls_host {
    uint32_t size;
    bool (*log_enabled)(enum kd_log_level level);
    void (*log_prefixedv)(enum kd_log_level level, const char *prefix, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));
};

/* ABI 1. Each function behaves as its kd_tls_* namesake in grpc/tls.h. */
struct kd_tls_module {
    uint32_t abi_version; /* KD_TLS_MODULE_ABI as the module was built */
    uint32_t struct_size; /* sizeof(struct kd_tls_module) as the module was built */
    /* Once, before anything else: keep `host` (it outlives the module). 0 or -ENOMEM. */
    int (*init)(const struct kd_tls_host *host);
    /* The TLS library's name and version ("OpenSSL 3.0.x ..."), for the load line. */
    const char *(*library_version)(void);

    int (*create)(struct event_base *base, const struct kd_tls_config *cfg, struct kd_tls **ret_tls,
                  char *err, size_t err_len);
    int (*reload)(struct kd_tls *tls);
    int (*check_files)(struct kd_tls *tls);
    uint64_t (*generation)(const struct kd_tls *tls);
    void (*destroy)(struct kd_tls *tls);
    void (*failures)(uint64_t ret_counts[KD_TLS_FAILURE_COUNT]);

    int (*acceptor_create)(struct event_base *base, int64_t timeout_ms,
                           void (*ready)(struct bufferevent *bev, void *arg), void *arg,
                           struct kd_tls_acceptor **ret_acceptor);
    void (*acceptor_set_timeout)(struct kd_tls_acceptor *acceptor, int64_t timeout_ms);
    int (*acceptor_accept)(struct kd_tls_acceptor *acceptor, struct kd_tls *tls,
                           evutil_socket_t fd);
    size_t (*acceptor_pending)(const struct kd_tls_acceptor *acceptor);
    void (*acceptor_drop_all)(struct kd_tls_acceptor *acceptor);
    void (*acceptor_destroy)(struct kd_tls_acceptor *acceptor);

    /* A server-side SSL on tls's current context, the caller's to free; NULL on ENOMEM. Only
     * the unit tests call it (in-memory handshakes), through kd_tls_module_get(). */
    struct ssl_st *(*ssl_new)(struct kd_tls *tls);
};

/*
 * The module, loaded on first call (and kept: contexts and OpenSSL's own state outlive any
 * configuration). -ENOENT, -ENOEXEC (no table, too old or too small) or -ENOMEM, with one line
 * in err naming the file and dlerror(); a later call tries again (a module installed since
 * then loads).
 */
int kd_tls_module_get(const struct kd_tls_module **ret_module, char *err, size_t err_len);

/* Where the module is looked for: the path kd_tls_module_set_path() gave (grpc/tls.h); else
 * $KEDASTRAL_TLS_MODULE if set; the build tree's when this program runs from the build tree;
 * <exe>/../lib/kedastral-scaler/ when that has one (a relocated install); the install path
 * otherwise. */
const char *kd_tls_module_path(void);

#endif /* KD_GRPC_TLS_MODULE_H */
