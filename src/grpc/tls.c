/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TLS loader: grpc/tls.h forwarded to the OpenSSL module (kedastral-tls.so), which is
 * dlopen()ed the first time a configuration asks for TLS, so that a daemon without TLS never
 * maps libssl, libcrypto and libevent_openssl (about 2 MB of RSS).
 */
#include "grpc/tls.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grpc/tls_module.h"
#include "util/errbuf.h"
#include "util/exe_path.h"
#include "util/log.h"
#include "version.h"

/* Kept once loaded, never closed: contexts, OpenSSL's own state and its atexit handlers live
 * there. */
static const struct kd_tls_module *g_module;

static const struct kd_tls_host g_host = {
    .size = sizeof(struct kd_tls_host),
    .log_enabled = kd_log_enabled,
    .log_prefixedv = kd_log_prefixedv,
};

/* True if the running program lies under the build tree (the daemon or a test run from it). */
static bool in_build_tree(const char *exe)
{
    char build[PATH_MAX];
    if (!realpath(KD_BUILD_DIR, build))
        return false;
    size_t n = strlen(build);
    return strncmp(exe, build, n) == 0 && exe[n] == '/';
}

/* --tls-module: the operator's word beats the environment's. */
static const char *g_module_path;

void kd_tls_module_set_path(const char *path)
{
    g_module_path = path;
}

const char *kd_tls_module_path(void)
{
    static char path[PATH_MAX];
    if (g_module_path)
        return g_module_path;
    const char *env = getenv(KD_TLS_MODULE_ENV);
    if (env && *env)
        return env;
    char exe[PATH_MAX];
    if (kd_exe_path_self(exe, sizeof(exe)) != 0)
        return KD_DEFAULT_TLS_MODULE;
    if (in_build_tree(exe))
        return KD_BUILD_TLS_MODULE;
    /* Next to the binary, as the plugins are: a relocated install finds its own module. */
    if (kd_exe_path_beside("/../lib/kedastral-scaler/" KD_TLS_MODULE_FILE, R_OK, path,
                           sizeof(path)) == 0)
        return path;
    return KD_DEFAULT_TLS_MODULE;
}

/* dlerror() without the "<path>: " it usually starts with (the line names the path already). */
static const char *dl_reason(const char *path)
{
    const char *e = dlerror();
    size_t n = strlen(path);
    if (!e)
        return "unknown error";
    if (strncmp(e, path, n) == 0 && strncmp(e + n, ": ", 2) == 0)
        return e + n + 2;
    return e;
}

/* The table, checked: too old or too small is refused rather than called past its end. */
static int check_table(const char *path, const struct kd_tls_module *m, char *err, size_t err_len)
{
    if (!m) {
        kd_errbuf_printf(err, err_len,
                         "TLS module \"%s\": no %s symbol (not a kedastral-scaler TLS module?)",
                         path, KD_TLS_MODULE_SYMBOL);
        return -ENOEXEC;
    }
    if (m->abi_version < KD_TLS_MODULE_ABI) {
        kd_errbuf_printf(err, err_len,
                         "TLS module \"%s\": ABI version %u is too old, this daemon needs %u "
                         "(install the module built with this daemon)",
                         path, (unsigned)m->abi_version, KD_TLS_MODULE_ABI);
        return -ENOEXEC;
    }
    if (m->struct_size < sizeof(struct kd_tls_module)) {
        kd_errbuf_printf(err, err_len,
                         "TLS module \"%s\": its function table has %u bytes, this daemon needs "
                         "%zu (install the module built with this daemon)",
                         path, (unsigned)m->struct_size, sizeof(struct kd_tls_module));
        return -ENOEXEC;
    }
    return 0;
}

int kd_tls_module_get(const struct kd_tls_module **ret_module, char *err, size_t err_len)
{
    if (g_module) {
        *ret_module = g_module;
        return 0;
    }
    const char *path = kd_tls_module_path();
    dlerror();
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        int rc = access(path, F_OK) == 0 ? -ENOEXEC : -ENOENT;
        kd_errbuf_printf(err, err_len, "cannot load the TLS module \"%s\": %s", path,
                         dl_reason(path));
        return rc;
    }
    const struct kd_tls_module *m = dlsym(handle, KD_TLS_MODULE_SYMBOL);
    int rc = check_table(path, m, err, err_len);
    if (rc == 0 && (rc = m->init(&g_host)) != 0)
        kd_errbuf_printf(err, err_len, "TLS module \"%s\": cannot start: %s", path, strerror(-rc));
    if (rc != 0) {
        dlclose(handle);
        return rc;
    }
    kd_log_prefixed(KD_LOG_INFO, "tls", "loaded module \"%s\" (%s)", path, m->library_version());
    g_module = m;
    *ret_module = m;
    return 0;
}

/* ---- Forwarded: a kd_tls or an acceptor exists only once the module is loaded -------------- */

int kd_tls_create(struct event_base *base, const struct kd_tls_config *cfg, struct kd_tls **ret_tls,
                  char *err, size_t err_len)
{
    const struct kd_tls_module *m;
    int rc = kd_tls_config_check(cfg, err, err_len);
    if (rc == 0)
        rc = kd_tls_module_get(&m, err, err_len);
    if (rc == 0)
        rc = m->create(base, cfg, ret_tls, err, err_len);
    return rc;
}

int kd_tls_reload(struct kd_tls *tls)
{
    return g_module->reload(tls);
}

int kd_tls_check_files(struct kd_tls *tls)
{
    return g_module->check_files(tls);
}

uint64_t kd_tls_generation(const struct kd_tls *tls)
{
    return g_module->generation(tls);
}

void kd_tls_destroy(struct kd_tls *tls)
{
    if (tls)
        g_module->destroy(tls);
}

void kd_tls_failures(uint64_t ret_counts[KD_TLS_FAILURE_COUNT])
{
    if (g_module)
        g_module->failures(ret_counts);
    else
        memset(ret_counts, 0, sizeof(uint64_t) * KD_TLS_FAILURE_COUNT);
}

int kd_tls_acceptor_create(struct event_base *base, int64_t timeout_ms,
                           void (*ready)(struct bufferevent *bev, void *arg), void *arg,
                           struct kd_tls_acceptor **ret_acceptor)
{
    const struct kd_tls_module *m;
    char err[512];
    int rc = kd_tls_module_get(&m, err, sizeof(err));
    if (rc != 0) {
        kd_log_prefixed(KD_LOG_ERROR, "tls", "%s", err);
        return rc;
    }
    return m->acceptor_create(base, timeout_ms, ready, arg, ret_acceptor);
}

void kd_tls_acceptor_set_timeout(struct kd_tls_acceptor *acceptor, int64_t timeout_ms)
{
    g_module->acceptor_set_timeout(acceptor, timeout_ms);
}

int kd_tls_acceptor_accept(struct kd_tls_acceptor *acceptor, struct kd_tls *tls, evutil_socket_t fd)
{
    return g_module->acceptor_accept(acceptor, tls, fd);
}

size_t kd_tls_acceptor_pending(const struct kd_tls_acceptor *acceptor)
{
    return g_module->acceptor_pending(acceptor);
}

void kd_tls_acceptor_drop_all(struct kd_tls_acceptor *acceptor)
{
    g_module->acceptor_drop_all(acceptor);
}

void kd_tls_acceptor_destroy(struct kd_tls_acceptor *acceptor)
{
    if (acceptor)
        g_module->acceptor_destroy(acceptor);
}
