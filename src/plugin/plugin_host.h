/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plugin host: dlopen(), ABI and descriptor checks, option tables -> config structs,
 * instances, and the struct kd_host function table that plugins call back into.
 */
#ifndef KD_PLUGIN_HOST_H
#define KD_PLUGIN_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libconfig.h>
#include <kedastral/plugin.h>

#include "config/config.h"

struct event_base;
struct kd_plugin_handle; /* one dlopen()ed, checked .so */

/*
 * The host side of a fetch. The cache embeds this in its own per-fetch state and gets the
 * result through these callbacks (the plugin calls host->fetch_done / fetch_fail, the host
 * forwards here). `message` is the operator-facing reason, already formatted.
 */
struct kd_fetch {
    void (*on_done)(struct kd_fetch *fetch, const struct kd_forecast *forecast);
    void (*on_fail)(struct kd_fetch *fetch, enum kd_fetch_error error, const char *message);
};

/* Host-side state of one configured plugin use. Plugins only see it as an opaque pointer. */
struct kd_instance {
    char *name;         /* "demo" */
    char log_prefix[96]; /* "source:demo" */
    const struct kd_plugin *plugin;
    struct kd_plugin_handle *handle;
    void *config;       /* config_size bytes, filled from the option table */
    void *state;        /* the plugin's, from create() */
    struct event_base *base;
};

/*
 * Open <dir>/<kind>-<name>.so ("source-file.so") and check it: the file exists and loads,
 * exports `kd_plugin`, ABI major equal and minor not newer, kind and name as expected, the ops
 * table for the kind complete, the option table well formed. On failure: one line in err
 * ("plugin_dir/policy-max.so: built for plugin ABI 2.0, this scaler speaks 1.0; rebuild the
 * plugin"), a negative errno, nothing left open.
 */
int kd_plugin_host_open(const char *dir, enum kd_plugin_kind kind, const char *name,
                        struct kd_plugin_handle **ret_handle, char *err, size_t err_len);

/* Same checks for an explicit path; `kind` 0 and `name` NULL accept any. */
int kd_plugin_host_open_path(const char *path, enum kd_plugin_kind kind, const char *name,
                             struct kd_plugin_handle **ret_handle, char *err, size_t err_len);

const struct kd_plugin *kd_plugin_host_descriptor(const struct kd_plugin_handle *handle);
void kd_plugin_host_close(struct kd_plugin_handle *handle);

/* Print a plugin's description and option table (--describe). */
void kd_plugin_host_describe(const struct kd_plugin_handle *handle, FILE *out);

/*
 * Create an instance: apply the option table to `group` (keys in `host_keys` are the host's
 * and skipped; NULL-terminated), then call the plugin's create(). `group` may be NULL
 * (defaults only). Errors: "file:line: source \"demo\" (file): unknown option \"pth\";
 * allowed: path, rebase, loop" in err, negative errno. Does not take ownership of `handle`.
 */
int kd_plugin_host_instance_create(struct kd_plugin_handle *handle, const char *instance_name,
                                   const config_setting_t *group, const char *const *host_keys,
                                   const struct kd_host_defaults *defaults,
                                   struct event_base *base, struct kd_instance **ret_instance,
                                   char *err, size_t err_len);

void kd_plugin_host_instance_destroy(struct kd_instance *instance);

/* The function table handed to plugins. */
const struct kd_host *kd_plugin_host_services(void);

#endif /* KD_PLUGIN_HOST_H */
