/* SPDX-License-Identifier: Apache-2.0 */
/* Inside src/plugin/ only: the structs behind the opaque handles of plugin_host.h. */
#ifndef KD_PLUGIN_PRIVATE_H
#define KD_PLUGIN_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include <kedastral/plugin.h>

#include "plugin/plugin_host.h"
#include "util/list.h"

/* The bytes of a struct up to and including its last ABI 2.0 field: the least a writer may
 * hand over. Sizes above this are fine either way (plugin.h's growth rule). */
#define KD_SIZE_THROUGH(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))
#define KD_PLUGIN_SIZE_2_0 KD_SIZE_THROUGH(struct kd_plugin, policy)
#define KD_SOURCE_OPS_SIZE_2_0 KD_SIZE_THROUGH(struct kd_source_ops, destroy)
#define KD_POLICY_OPS_SIZE_2_0 KD_SIZE_THROUGH(struct kd_policy_ops, destroy)
#define KD_OPTION_SIZE_2_0 KD_SIZE_THROUGH(struct kd_option, flags)
#define KD_FORECAST_SIZE_2_0 KD_SIZE_THROUGH(struct kd_forecast, quantile_values)

struct kd_plugin_handle {
    int refs;                /* the opener's, plus one per instance */
    void *dl;                /* NULL for a built-in */
    char *path;              /* or the built-in's origin */
    struct kd_plugin plugin; /* the descriptor in the host's layout, pointing at the copies: */
    struct kd_source_ops source;
    struct kd_policy_ops policy;
    struct kd_option *options; /* host layout, ends with a NULL name */
    struct kd_list open_link;  /* in the list of dlopen()ed handles (not built-ins) */
    dev_t dev;                 /* the file as it was when loaded */
    ino_t ino;
    struct timespec mtime;
    off_t file_size;
};

struct kd_instance {
    char *name;                      /* "demo" */
    char log_prefix[96];             /* "source:demo" */
    struct kd_plugin_handle *handle; /* a reference */
    const struct kd_plugin *plugin;  /* &handle->plugin */
    void *config;                    /* config_size bytes, filled from the option table */
    void *state;                     /* the plugin's, from create() */
    struct event_base *base;

    struct kd_list fetches; /* outstanding struct kd_fetch, by link */
    struct kd_list timers;  /* struct kd_timer, by link */
    struct kd_list watches; /* struct kd_watch, by link */

    int depth;            /* calls into the plugin in progress (rule 7) */
    bool destroy_pending; /* kd_instance_destroy() came while depth > 0 */

    struct kd_fetch *starting; /* the fetch whose fetch() is running, to see it complete */
    bool starting_completed;

    bool is_creating; /* create() is running: hold back its first error line */
    bool has_create_error;
    char create_error[384];
};

/* Around every call into the plugin: rule 7's deferred destroy happens in kd_instance_leave. */
void kd_instance_enter(struct kd_instance *inst);
void kd_instance_leave(struct kd_instance *inst);

/* host_io.c: the timer and watch services, and the sweep after destroy(). */
int kd_host_timer_create(const struct kd_instance *inst, kd_timer_fn *fn, void *arg,
                         struct kd_timer **ret_timer);
int kd_host_timer_start(struct kd_timer *timer, int64_t after_ms, int64_t every_ms);
void kd_host_timer_stop(struct kd_timer *timer);
void kd_host_timer_free(struct kd_timer *timer);
int kd_host_watch_create(const struct kd_instance *inst, int fd, kd_watch_fn *fn, void *arg,
                         struct kd_watch **ret_watch);
int kd_host_watch_set(struct kd_watch *watch, uint32_t events);
void kd_host_watch_free(struct kd_watch *watch);
/* Frees what the plugin left; returns how many timers and watches that was. */
size_t kd_host_io_sweep(struct kd_instance *inst);

void kd_plugin_handle_ref(struct kd_plugin_handle *handle);

/* "source", "policy", or NULL for anything else. */
const char *kd_plugin_kind_name(enum kd_plugin_kind kind);

#endif /* KD_PLUGIN_PRIVATE_H */
