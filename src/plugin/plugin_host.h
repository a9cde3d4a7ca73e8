/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plugin host: the one door between the daemon and its plugins. dlopen() and the
 * descriptor checks, option tables -> config structs, instances, and the struct kd_host table
 * through which plugins call back into the daemon. Outside src/plugin/ nobody sees a plugin's
 * descriptor callbacks or struct kd_instance: they call kd_instance_*() below, which keep the
 * promises of include/kedastral/plugin.h (re-entry, deferred destroy, size-safe copies).
 */
#ifndef KD_PLUGIN_HOST_H
#define KD_PLUGIN_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libconfig.h>
#include <kedastral/plugin.h>

#include "util/list.h"

struct event_base;
struct kd_plugin_handle; /* one dlopen()ed (or built-in), checked plugin; reference-counted */

/*
 * A daemon-wide setting a plugin option may take its default from (kd_option.host_default).
 * Tables of these end with an entry whose name is NULL.
 */
struct kd_plugin_setting {
    const char *name;  /* "lead_time" */
    const char *how;   /* "--lead-time / LEAD_TIME": how an operator sets it, for messages */
    const char *value; /* as the operator wrote it, e.g. "10m"; NULL: not set */
};

/*
 * The host side of a fetch. The caller embeds this in its own per-fetch state, sets the two
 * callbacks (a compound literal zeroes the rest) and gets the result through them: the plugin
 * calls host->fetch_done / fetch_fail, the host forwards here, after which the struct is free
 * to reuse or release. `message` is the operator-facing reason, already formatted.
 */
struct kd_fetch {
    void (*on_done)(struct kd_fetch *fetch, const struct kd_forecast *forecast);
    void (*on_fail)(struct kd_fetch *fetch, enum kd_fetch_error error, const char *message);
    /* the host's, while outstanding */
    struct kd_instance *instance;
    struct kd_list link;
};

/*
 * Open <dir>/<kind>-<name>.so ("source-file.so") and check it: the file exists and loads,
 * exports `kd_plugin`, ABI major equal, the descriptor's and ops tables' sizes cover ABI 2.0,
 * kind and name as expected, the ops table for the kind complete, the option table well
 * formed. The descriptor, its ops table and option table are copied into the host's layout
 * (plugin.h's growth rule). On failure: one line in err ("plugin_dir/policy-max.so: built for
 * plugin ABI 3.0, this scaler speaks 2.0; rebuild the plugin"), a negative errno (-ENOENT and
 * other stat() errors, -EINVAL for everything about the file's contents, -ENOMEM), nothing
 * left open.
 *
 * -ESTALE: the file was replaced on disk (other inode, size or mtime) while a handle for the
 * same path is still open. glibc's dlopen() would hand back the old copy, so the host refuses,
 * saying a restart is needed; a reload therefore fails loudly instead of silently keeping the
 * old code. Once every handle of the path is closed, the new file loads.
 */
int kd_plugin_host_open(const char *dir, enum kd_plugin_kind kind, const char *name,
                        struct kd_plugin_handle **ret_handle, char *err, size_t err_len);

/*
 * A handle for a descriptor linked into the process (built-in plugins, tests): the same
 * checks and copies as for a file, no dlopen(). `origin` names it in messages.
 */
int kd_plugin_host_open_builtin(const struct kd_plugin *plugin, const char *origin,
                                struct kd_plugin_handle **ret_handle, char *err, size_t err_len);

/* The checked descriptor, in the host's layout (option_size == sizeof(struct kd_option)). */
const struct kd_plugin *kd_plugin_host_descriptor(const struct kd_plugin_handle *handle);

/* Drop the caller's reference; instances keep their own, so the code stays mapped until the
 * last of them is destroyed. NULL is a no-op. */
void kd_plugin_host_close(struct kd_plugin_handle *handle);

/*
 * From now on the last close frees the handle but leaves the code mapped (no dlclose()): for
 * the process's exit, where unloading buys nothing. It also keeps the libraries a plugin
 * pulled in (libcurl's libgnutls, libp11-kit, libcom_err: each with thread-local storage)
 * loaded until exit, because unloading them first makes gcc 12's LeakSanitizer crash scanning
 * their freed TLS at exit ("Tracer caught signal 11"); prom_fetch crashed so on 4 of 48
 * recorded inputs, on 0 of 48 without the dlclose(). Reloads run before this and still unload the
 * plugins they drop.
 */
void kd_plugin_host_keep_mapped(void);

/*
 * Print a plugin's description and option table (--describe). `settings` (NULL: none) says
 * how the daemon-wide settings named by host_default are set.
 */
void kd_plugin_host_describe(const struct kd_plugin_handle *handle,
                             const struct kd_plugin_setting *settings, FILE *out);

/* ---- Instances ------------------------------------------------------------------------------ */

struct kd_instance_args {
    const config_setting_t *group;            /* the plugin's group; NULL: defaults only */
    const char *const *host_keys;             /* keys of `group` that are the host's; NULL-ended */
    const struct kd_plugin_setting *settings; /* host_default values; NULL: none */
    struct event_base *base; /* lends timers and fd watches; NULL: none (-ENOSYS) */
};

/*
 * Create an instance: apply the option table to args->group, then call the plugin's create().
 * Takes a reference on `handle`. Returns 0, or a negative errno with one line in err, every
 * one starting with the group's "file:line: " when there is a group:
 *   "file:line: source \"demo\" (file): unknown option \"pth\"; allowed: path, rebase, loop"
 *   "file:line: source \"demo\" (file): /dev/zero: not a regular file"  (create()'s own
 *   error line, which the host holds back from the log and puts here instead)
 * -EINVAL for configuration errors, whatever create() returned otherwise, -ENOMEM.
 */
int kd_instance_create(struct kd_plugin_handle *handle, const char *name,
                       const struct kd_instance_args *args, struct kd_instance **ret_instance,
                       char *err, size_t err_len);

/*
 * Destroy an instance: outstanding fetches are cancelled first (each with a warning: their
 * owner should have cancelled them), then the plugin's destroy(), then whatever timers and
 * watches it left behind are freed. Called from inside a call into the same instance it is
 * deferred until that call returns. NULL is a no-op.
 */
void kd_instance_destroy(struct kd_instance *instance);

const char *kd_instance_name(const struct kd_instance *instance);        /* "demo" */
const char *kd_instance_log_prefix(const struct kd_instance *instance);  /* "source:demo" */
const char *kd_instance_plugin_name(const struct kd_instance *instance); /* "file" */

/*
 * Start a fetch on a source instance; `fetch` must have its callbacks set and not be
 * outstanding. The result arrives through fetch->on_done / on_fail, possibly before this
 * returns. Returns 0 (started or already completed), or the plugin's negative errno: not
 * started, the callbacks will not be called.
 */
int kd_instance_fetch(struct kd_instance *instance, struct kd_fetch *fetch, const char *workload);

/* Give up on an outstanding fetch: the plugin releases it, the callbacks are not called.
 * A fetch that is not outstanding is ignored. */
void kd_instance_cancel(struct kd_instance *instance, struct kd_fetch *fetch);

/* True while `fetch` is started and neither completed nor cancelled. */
bool kd_instance_fetch_outstanding(const struct kd_fetch *fetch);

/*
 * Ask a policy instance. `lead_time_ms` < 0 means "the policy's own" (lookahead_ms()).
 * Returns the plugin's 0 or negative errno; ret_result always has a NUL-terminated reason and,
 * on 0, a window within [-1, n_desired_replicas - 1].
 */
int kd_instance_decide(const struct kd_instance *instance, const struct kd_forecast *forecast,
                       int64_t now_ms, int64_t lead_time_ms, struct kd_policy_result *ret_result);

/* A policy instance's own look-ahead (lookahead_ms()), never negative. */
int64_t kd_instance_lookahead_ms(const struct kd_instance *instance);

/* The function table handed to plugins. */
const struct kd_host *kd_plugin_host_services(void);

#endif /* KD_PLUGIN_HOST_H */
