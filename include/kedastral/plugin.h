/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kedastral/plugin.h - the whole contract between kedastral-scaler and its plugins.
 *
 * A plugin is a shared object exporting one symbol, `kd_plugin` (a const struct kd_plugin).
 * The host dlopen()s it, checks the two ABI fields, then talks to it only through that struct.
 * Plugins link against nothing in the host: every service arrives through struct kd_host.
 *
 * Compatibility rule (Varnish): a plugin loads when its abi_major equals the host's and its
 * abi_minor is not newer than the host's. MINOR grows when something is appended; anything
 * else bumps MAJOR.
 *
 * ABI history:
 *   1.0  first version
 *
 * Threading: everything runs on the daemon's single libevent loop. No callback may block.
 */
#ifndef KEDASTRAL_PLUGIN_H
#define KEDASTRAL_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KD_PLUGIN_ABI_MAJOR 1u
#define KD_PLUGIN_ABI_MINOR 0u
#define KD_PLUGIN_SYMBOL "kd_plugin"

#define KD_PLUGIN_EXPORT __attribute__((visibility("default")))
#define KD_PRINTF(fmt, va) __attribute__((format(printf, fmt, va)))

/* First initialisers of every struct kd_plugin. */
#define KD_PLUGIN_ABI .abi_major = KD_PLUGIN_ABI_MAJOR, .abi_minor = KD_PLUGIN_ABI_MINOR

struct event_base; /* libevent; plugins that do I/O drive it on the host's loop */

enum kd_plugin_kind {
    KD_PLUGIN_SOURCE = 1, /* produces forecasts, asynchronously */
    KD_PLUGIN_POLICY = 2, /* turns a forecast into one replica count, purely */
};

enum kd_log_level { KD_LOG_ERROR = 0, KD_LOG_WARN = 1, KD_LOG_INFO = 2, KD_LOG_DEBUG = 3 };

/* ---- Options: declared by plugins, parsed and checked by the host ------------------------ */

enum kd_option_type {
    KD_OPTION_STRING = 1, /* const char *, host-owned, valid until after destroy(); NULL if unset */
    KD_OPTION_INT,        /* int64_t */
    KD_OPTION_DOUBLE,     /* double */
    KD_OPTION_BOOL,       /* bool */
    KD_OPTION_DURATION,   /* int64_t milliseconds; written "250ms", "30s", "1h30m", "2d", "1w" */
    KD_OPTION_SIZE,       /* int64_t bytes; written as an integer or "64KiB", "4MiB", "1GiB" */
};

enum kd_option_flags {
    KD_OPTION_REQUIRED = 1u << 0, /* the key must be present (default_value is then ignored) */
};

struct kd_option {
    const char *name;          /* key inside the plugin's config group */
    enum kd_option_type type;
    const char *default_value; /* written as in the config file; NULL: zero / NULL string */
    size_t offset;             /* offsetof() into the plugin's config struct */
    const char *description;   /* one sentence, printed by --describe */
    /* Name of a daemon-wide setting that replaces default_value when the operator set it
     * (flag > env): "lead_time" (--lead-time, LEAD_TIME) or "forecaster_url"
     * (--forecaster-url, FORECASTER_URL). NULL: none. */
    const char *host_default;
    uint32_t flags; /* enum kd_option_flags */
};

#define KD_OPTIONS_END {NULL, (enum kd_option_type)0, NULL, 0, NULL, NULL, 0}

/* ---- Data ------------------------------------------------------------------------------- */

/*
 * One forecast, in the Kedastral forecaster's schema. Always a borrowed, read-only view:
 * whoever built it owns the memory. desired_replicas[i] is the plan for
 * generated_at + (i + 1) * step_seconds.
 */
struct kd_forecast {
    const char *workload;
    const char *metric;
    int64_t generated_at_ms; /* Unix time, milliseconds */
    int64_t step_seconds;    /* as received; policies must reject <= 0 */
    int64_t horizon_seconds;
    size_t n_values;
    const double *values;
    size_t n_desired_replicas;
    const int64_t *desired_replicas;
};

struct kd_instance; /* one configured use of a plugin ("source demo"); host-owned, opaque */
struct kd_fetch;    /* one outstanding source request; host-owned, opaque */

enum kd_fetch_error {
    KD_FETCH_FAILED = 1,   /* transport, status, parse...: retried, served stale meanwhile */
    KD_FETCH_NOT_FOUND = 2, /* the source does not know this workload */
};

/* ---- Services the host lends to plugins ------------------------------------------------- */

struct kd_host {
    uint32_t abi_minor; /* the host's; check before using a field appended after 1.0 */

    /* One log line, prefixed by the host with "[<kind>:<instance name>]". */
    void (*log)(const struct kd_instance *inst, enum kd_log_level level, const char *fmt, ...)
        KD_PRINTF(3, 4);

    /* The daemon's event loop. Sources register their fds and timers on it. */
    struct event_base *(*event_base)(const struct kd_instance *inst);

    /* Wall clock, Unix milliseconds (tests may fake it). */
    int64_t (*now_ms)(const struct kd_instance *inst);

    /*
     * Complete a fetch with a forecast. The host copies everything it needs before returning,
     * so `forecast` may live on the plugin's stack. May be called from inside fetch(). After
     * this (or fetch_fail) the kd_fetch handle is dead. Returns 0, or -ENOMEM (the fetch then
     * counts as failed; the handle is dead all the same).
     */
    int (*fetch_done)(struct kd_fetch *fetch, const struct kd_forecast *forecast);

    /* Complete a fetch with an error; `fmt` says what happened in words for the operator. */
    void (*fetch_fail)(struct kd_fetch *fetch, enum kd_fetch_error error, const char *fmt, ...)
        KD_PRINTF(3, 4);
};

/* ---- Operations, one table per kind ----------------------------------------------------- */

/*
 * All functions return 0 or a negative errno value. create() leaves *ret_state untouched on
 * failure and explains itself with host->log. destroy(NULL) is a no-op. `config` points to
 * config_size bytes filled from the option table; the host owns it and keeps it alive until
 * after destroy(). `inst` stays valid until after destroy().
 */
struct kd_source_ops {
    int (*create)(const struct kd_host *host, const struct kd_instance *inst, const void *config,
                  void **ret_state);

    /*
     * Start fetching the forecast for `workload` (borrowed; copy it if kept). Must not block.
     * Complete later, exactly once, with host->fetch_done or host->fetch_fail, unless the host
     * cancels first. Returning an error means the fetch never started and must not be
     * completed.
     */
    int (*fetch)(void *state, struct kd_fetch *fetch, const char *workload);

    /* The host gave up on `fetch` (timeout, shutdown). Release its resources; never complete
     * it afterwards. */
    void (*cancel)(void *state, struct kd_fetch *fetch);

    void (*destroy)(void *state);
};

struct kd_policy_result {
    double value;      /* replicas, >= 0 */
    char reason[192];  /* on error: what is wrong with the forecast, in words */
};

struct kd_policy_ops {
    int (*create)(const struct kd_host *host, const struct kd_instance *inst, const void *config,
                  void **ret_state);

    /* Pure: decide from `forecast` at `now_ms`. On error return -EINVAL (bad forecast) and fill
     * ret_result->reason. */
    int (*decide)(void *state, const struct kd_forecast *forecast, int64_t now_ms,
                  struct kd_policy_result *ret_result);

    /* How far ahead this policy looks, in milliseconds. The host defaults a route's
     * stale_after to twice this (the upstream rule: stale when age > 2 x lead time). */
    int64_t (*lookahead_ms)(const void *state);

    void (*destroy)(void *state);
};

struct kd_plugin {
    uint32_t abi_major; /* these two stay first: they guard the rest */
    uint32_t abi_minor;

    enum kd_plugin_kind kind;
    const char *name;        /* "file", "http", "max"; the file is <kind>-<name>.so */
    const char *version;
    const char *description; /* one line */

    size_t config_size;             /* bytes the host allocates for the option struct */
    const struct kd_option *options; /* ends with KD_OPTIONS_END */

    const struct kd_source_ops *source; /* kind == KD_PLUGIN_SOURCE */
    const struct kd_policy_ops *policy; /* kind == KD_PLUGIN_POLICY */
};

#endif /* KEDASTRAL_PLUGIN_H */
