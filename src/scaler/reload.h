/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The serving scaler, the configuration it was built on, and reload.
 *
 * A reload loads the configuration and builds a complete new scaler beside the running one
 * (plugins, instances, routes, carried forecasts), binds a changed gRPC address, and only
 * then takes over in one step that cannot fail: the gRPC routes point at the new scaler,
 * limits and log settings apply to calls from now on. If anything before that step fails
 * nothing has changed and the running configuration keeps serving. Calls already dispatched
 * finish on the old scaler, which frees itself and its configuration after its last call.
 *
 * Triggers: kd_reload_run() (SIGHUP), and the config file's watch: every `config_poll` the
 * file is stat()ed through its symlinks, so an edit, a rename over it or the kubelet's
 * ConfigMap "..data" symlink swap starts a reload. A file that does not change is not tried
 * again, so a broken edit is reported once.
 */
#ifndef KD_RELOAD_H
#define KD_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "scaler/scaler.h"

struct event_base;
struct kd_config;
struct kd_config_overrides;
struct kd_grpc_server;
struct kd_reload;

struct kd_reload_params {
    const char *config_path;              /* NULL: the built-in configuration, not watched */
    const struct kd_config_overrides *ov; /* flags and environment; borrowed */
    const char *plugin_dir_default;       /* borrowed */
    /* Before the take-over, for what the caller owns that can fail (a new TLS context): 0,
     * or -errno with the reason in err; the reload then fails and nothing changed. */
    int (*prepare)(void *arg, const struct kd_config *config, const struct kd_config *old,
                   char *err, size_t err_len);
    /* prepare() succeeded but the reload failed after it: drop what it built. */
    void (*abandon)(void *arg);
    /* After a reload took over, for what the caller owns (the admin port). `old` is valid
     * during the call only. */
    void (*applied)(void *arg, const struct kd_config *config, const struct kd_config *old);
    /* A reload failed (already logged); the running configuration keeps serving. */
    void (*failed)(void *arg, const char *err);
    void *arg;
};

/* Build the scaler for `config` and take ownership of config (on success only). Errors as
 * kd_scaler_create. `params` is copied. */
int kd_reload_create(struct event_base *base, struct kd_config *config,
                     const struct kd_reload_params *params, struct kd_reload **ret_reload,
                     char *err, size_t err_len);

/* Copied onto the running scaler and every one a reload builds. */
void kd_reload_set_observer(struct kd_reload *reload, const struct kd_scaler_observer *observer);

/* Register the scaler's service on `server` and start watching the config file. */
int kd_reload_attach(struct kd_reload *reload, struct kd_grpc_server *server);

/* Reload now; `why` starts the log lines ("SIGHUP"). 0, or -errno with the reason logged and
 * passed to params.failed. -ECANCELED while draining. */
int kd_reload_run(struct kd_reload *reload, const char *why);

struct kd_scaler *kd_reload_scaler(const struct kd_reload *reload);
const struct kd_config *kd_reload_config(const struct kd_reload *reload);

/* Cache entries of the serving scaler; open streams and calls of every scaler still alive. */
void kd_reload_stats(const struct kd_reload *reload, struct kd_scaler_stats *ret_stats);

/* Shutdown: no more reloads; every scaler ends its streams (kd_scaler_drain). */
void kd_reload_drain(struct kd_reload *reload);

/* After the gRPC server was destroyed (it closes every call). NULL is ignored. */
void kd_reload_destroy(struct kd_reload *reload);

/* The transport's settings (max_message_size, default_deadline, limits.*) from `config`. */
struct kd_grpc_server_config;
void kd_reload_grpc_config(const struct kd_config *config, struct kd_grpc_server_config *ret);

#endif /* KD_RELOAD_H */
