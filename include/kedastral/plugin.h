/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kedastral/plugin.h - the whole contract between kedastral-scaler and its plugins (ABI 2.0).
 *
 * A plugin is a shared object exporting one symbol, `kd_plugin` (a const struct kd_plugin).
 * The host dlopen()s it, checks the descriptor, then talks to it only through that struct.
 * Plugins link against nothing of the host's, nor libevent: every service, the event loop's
 * timers and fd watches included, arrives through struct kd_host. This header needs only
 * <stdbool.h>, <stddef.h> and <stdint.h>; `pkg-config --cflags kedastral-plugin` finds it.
 * docs/PLUGINS.md walks through writing one; examples/ holds one built out of tree.
 *
 * ---- Compatibility and growth (read this before adding a field) ---------------------------
 *
 * A plugin loads when its abi_major equals the host's. The minor may differ either way:
 *
 *   - MINOR grows when something is appended at the END of a struct below (a field, an ops
 *     callback, an option type, an enum value, a host service). A field appended in a minor
 *     must mean "as before" when it is zero / NULL / absent, so that either side can ignore it.
 *     Anything else (a removal, a reorder, a changed type or meaning) bumps MAJOR.
 *   - Every struct that crosses the boundary carries its size as its writer compiled it:
 *     struct kd_plugin (`size`, and `option_size` for the option array), each ops table and
 *     struct kd_host (`size`), struct kd_forecast, struct kd_decide_args and
 *     struct kd_policy_result (`size`).
 *   - The reader of a struct reads a field appended after 2.0 ONLY IF the struct's size covers
 *     it: KD_HAS_FIELD(ptr, type, field) below. An older writer's struct is shorter; the field
 *     is then absent and reads as its zero value. A newer writer's struct is longer; the
 *     reader ignores the tail it does not know. The host applies this to everything a plugin
 *     gives it (it copies each into its own layout, zero-filled, at load and at fetch_done);
 *     a plugin applies it to struct kd_host, struct kd_decide_args and the forecast it is
 *     given, and writes into struct kd_policy_result only the fields its `size` covers.
 *   - Arrays are walked with the stride their writer declares, never with `p++` on the
 *     reader's type: the option array with kd_plugin.option_size.
 *   - The fields of 2.0 are always present: a struct whose size does not cover every 2.0
 *     field is refused (descriptor, ops table, forecast) as corrupt.
 *   - A plugin that cannot work without a service appended in a later minor checks it with
 *     KD_HAS_FIELD(host, struct kd_host, service) in create() and fails there, saying so.
 *   - Initialise descriptors with KD_PLUGIN_ABI, ops tables with `.size = sizeof(...)`, and
 *     forecasts with KD_FORECAST_INIT: the sizes are then right by construction.
 *
 * ABI history:
 *   1.0  first version
 *   2.0  sizes on every struct and array (the growth rule above); host I/O services (timers,
 *        fd watches) instead of struct event_base; KD_OPTION_LIST; host_default names a
 *        daemon-wide setting looked up in the host's table; quantile series in the forecast;
 *        decide() takes struct kd_decide_args (lead time chosen by the host) and reports the
 *        window it looked at; fetch_done returns only 0 or -EINVAL.
 *
 * ---- Threading, re-entry and lifetime -------------------------------------------------------
 *
 *  1. Everything runs on the daemon's single event loop thread. No callback may block (no
 *     sleeping, no blocking connect/read/write, no waiting on a lock another thread holds).
 *     A plugin may start threads of its own, but must never call a host function from them.
 *  2. `inst` and `config` passed to create() stay valid until destroy() has returned.
 *     String and list option values in `config` belong to the host.
 *  3. fetch() may complete synchronously: call host->fetch_done or host->fetch_fail before
 *     returning, then return 0. A fetch() that returns an error must not have completed it
 *     and must not complete it later.
 *  4. Every fetch started with 0 is completed exactly once, or cancelled by the host, never
 *     both. After either, the kd_fetch handle is dead: never touch it again.
 *  5. A completion re-enters the host, which may call back into the SAME instance before
 *     fetch_done / fetch_fail returns: fetch() for another workload, cancel() of another
 *     outstanding fetch. A plugin that walks its own list of transfers while completing them
 *     must cope with that list changing under it (take the next element only after the
 *     completion returns, or restart from the head).
 *  6. cancel() is only called for an outstanding fetch of that instance. It must release the
 *     fetch's resources and must not complete it, not even from inside cancel().
 *  7. destroy() is called once, never while a fetch of the instance is outstanding (the host
 *     cancels each first) and never from inside any call into the same instance (create,
 *     fetch, cancel, decide, lookahead_ms, a timer or watch callback, or a completion made
 *     from one of them): the host defers it until that call has returned.
 *  8. Timers and fd watches belong to the instance that created them. destroy() should free
 *     them; whatever is left when destroy() returns the host frees, with a warning. A timer
 *     or watch may be freed from inside its own callback, and so may any other.
 *  9. After destroy() returns, the plugin's code may be unloaded (dlclose) at any time.
 * 10. decide() and lookahead_ms() are pure: no I/O, no fetches; they may call host->log and
 *     host->now_ms. decide() may be called at any time between create() and destroy().
 *
 * ---- Return codes ---------------------------------------------------------------------------
 *
 * Functions returning int return 0 on success or a negative errno value; each function says
 * which values it can return and what they mean. A plugin may return any negative errno from
 * its own callbacks; the host only tells them apart where the callback says so, and prints
 * strerror() of the others.
 */
#ifndef KEDASTRAL_PLUGIN_H
#define KEDASTRAL_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KD_PLUGIN_ABI_MAJOR 2u
#define KD_PLUGIN_ABI_MINOR 0u
#define KD_PLUGIN_SYMBOL "kd_plugin"

#define KD_PLUGIN_EXPORT __attribute__((visibility("default")))
#define KD_PRINTF(fmt, va) __attribute__((format(printf, fmt, va)))

/*
 * True when the struct at `ptr` (which has a `size` member holding the bytes its writer
 * compiled) contains `field` of `type`. Read a field appended after 2.0 only when this holds.
 */
#define KD_HAS_FIELD(ptr, type, field)                                                             \
    ((size_t)(ptr)->size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* The first initialisers of every struct kd_plugin. */
#define KD_PLUGIN_ABI                                                                              \
    .abi_major = KD_PLUGIN_ABI_MAJOR, .abi_minor = KD_PLUGIN_ABI_MINOR,                            \
    .size = sizeof(struct kd_plugin), .option_size = sizeof(struct kd_option)

enum kd_plugin_kind {
    KD_PLUGIN_SOURCE = 1, /* produces forecasts, asynchronously */
    KD_PLUGIN_POLICY = 2, /* turns a forecast into one replica count, purely */
};

enum kd_log_level { KD_LOG_ERROR = 0, KD_LOG_WARN = 1, KD_LOG_INFO = 2, KD_LOG_DEBUG = 3 };

/* ---- Options: declared by plugins, parsed and checked by the host ------------------------ */

enum kd_option_type {
    KD_OPTION_STRING = 1, /* const char *, host-owned; NULL if unset */
    KD_OPTION_INT,        /* int64_t */
    KD_OPTION_DOUBLE,     /* double */
    KD_OPTION_BOOL,       /* bool */
    KD_OPTION_DURATION,   /* int64_t milliseconds; written "250ms", "30s", "1h30m", "2d", "1w" */
    KD_OPTION_SIZE,       /* int64_t bytes; written as an integer or "64KiB", "4MiB", "1GiB" */
    /*
     * const char *const *: a NULL-terminated array of strings, host-owned, never NULL itself
     * (an unset list is an array holding only NULL). Written in the config file as a list or
     * array of strings, ["a", "b"], or as one string, "a", meaning a list of one. A
     * default_value, if any, is the single element of the default list.
     */
    KD_OPTION_LIST,
};

enum kd_option_flags {
    KD_OPTION_REQUIRED = 1u << 0, /* the key must be present (default_value is then ignored) */
};

/*
 * One entry of a plugin's option table. The table is an array walked with the stride
 * kd_plugin.option_size (KD_PLUGIN_ABI sets it), ending with an entry whose name is NULL
 * (KD_OPTIONS_END).
 */
struct kd_option {
    const char *name; /* key inside the plugin's config group */
    enum kd_option_type type;
    const char *default_value; /* written as in the config file; NULL: zero / NULL / empty */
    size_t offset;             /* offsetof() into the plugin's config struct */
    const char *description;   /* one sentence, printed by --describe */
    /*
     * The name of a daemon-wide setting whose value, when the operator set it, replaces
     * default_value (and satisfies KD_OPTION_REQUIRED). The host looks the name up in its
     * table of settings; --describe lists the names and how each is set. NULL: none.
     * This host knows "lead_time" (--lead-time, LEAD_TIME) and "forecaster_url"
     * (--forecaster-url, FORECASTER_URL). A name the host does not know is refused at load.
     */
    const char *host_default;
    uint32_t flags; /* enum kd_option_flags */
};

/* The end of an option table; designated, so it stays valid when kd_option grows. */
#define KD_OPTIONS_END                                                                             \
    {                                                                                              \
        .name = NULL                                                                               \
    }

/* ---- Data ------------------------------------------------------------------------------- */

/*
 * One forecast, in the Kedastral forecaster's schema. Always a borrowed, read-only view:
 * whoever built it owns the memory. desired_replicas[i] and values[i] are the plan for
 * generated_at + (i + 1) * step_seconds.
 *
 * Quantile series are optional (n_quantiles 0: none). quantile_levels[q] is in (0, 1),
 * strictly ascending (0.5, 0.9, 0.99); quantile_values holds n_quantiles rows of n_values
 * each, row q first at quantile_values[q * n_values]: the q-th quantile of values[i].
 *
 * A source builds one with KD_FORECAST_INIT (which sets `size`) and hands it to
 * host->fetch_done; a policy reads one in struct kd_decide_args and checks `size` with
 * KD_HAS_FIELD before reading a field appended after 2.0.
 */
struct kd_forecast {
    uint32_t size; /* sizeof(struct kd_forecast) as its writer compiled it */
    const char *workload;
    const char *metric;
    int64_t generated_at_ms; /* Unix time, milliseconds */
    int64_t step_seconds;    /* as received; policies must reject <= 0 */
    int64_t horizon_seconds;
    size_t n_values;
    const double *values;
    size_t n_desired_replicas;
    const int64_t *desired_replicas;
    size_t n_quantiles;
    const double *quantile_levels; /* n_quantiles */
    const double *quantile_values; /* n_quantiles * n_values, row by row */
};

#define KD_FORECAST_INIT .size = sizeof(struct kd_forecast)

struct kd_instance; /* one configured use of a plugin ("source demo"); host-owned, opaque */
struct kd_fetch;    /* one outstanding source request; host-owned, opaque */
struct kd_timer;    /* a host timer; see struct kd_host */
struct kd_watch;    /* a host fd watch; see struct kd_host */

enum kd_fetch_error {
    KD_FETCH_FAILED = 1,    /* transport, status, parse...: retried, served stale meanwhile */
    KD_FETCH_NOT_FOUND = 2, /* the source does not know this workload */
};

/* Events of an fd watch, and what a watch callback is told became ready. */
enum kd_io_events {
    KD_IO_READ = 1u << 0,
    KD_IO_WRITE = 1u << 1,
};

/* A timer fired. `arg` is what timer_create was given. */
typedef void kd_timer_fn(void *arg);

/* `fd` is ready for `events` (KD_IO_READ and/or KD_IO_WRITE). Level-triggered: called again
 * on every loop iteration while the condition holds and the watch asks for it. */
typedef void kd_watch_fn(int fd, uint32_t events, void *arg);

/* ---- Services the host lends to plugins ------------------------------------------------- */

struct kd_host {
    uint32_t size;      /* sizeof(struct kd_host) as the host compiled it: KD_HAS_FIELD */
    uint32_t abi_minor; /* the host's ABI minor, for messages */

    /* One log line, prefixed by the host with "[<kind>:<instance name>]". No newline. */
    void (*log)(const struct kd_instance *inst, enum kd_log_level level, const char *fmt, ...)
        KD_PRINTF(3, 4);

    /* Wall clock, Unix milliseconds (tests may fake it). */
    int64_t (*now_ms)(const struct kd_instance *inst);

    /*
     * Complete `fetch` with a forecast. The host copies everything it needs before returning,
     * so `forecast` may live on the plugin's stack. May be called from inside fetch() (rule 3)
     * and may re-enter the plugin (rule 5). After this the handle is dead, whatever it returns.
     * Returns:
     *   0        the forecast was delivered;
     *   -EINVAL  `forecast` is NULL or malformed (size smaller than 2.0's, a count with a NULL
     *            array, quantile levels out of (0, 1) or not ascending): the fetch has failed
     *            instead, with a message saying what was wrong. Nothing to undo.
     */
    int (*fetch_done)(struct kd_fetch *fetch, const struct kd_forecast *forecast);

    /* Complete `fetch` with an error; `fmt` says what happened in words for the operator.
     * Same rules as fetch_done; the handle is dead afterwards. */
    void (*fetch_fail)(struct kd_fetch *fetch, enum kd_fetch_error error, const char *fmt, ...)
        KD_PRINTF(3, 4);

    /*
     * Timers on the host's loop (as Redis' RedisModule_CreateTimer). timer_create makes a
     * stopped timer that calls fn(arg) when it fires. Returns 0 and *ret_timer; -EINVAL when
     * `fn` is NULL; -ENOMEM.
     */
    int (*timer_create)(const struct kd_instance *inst, kd_timer_fn *fn, void *arg,
                        struct kd_timer **ret_timer);

    /*
     * (Re)arm `timer`: fire after `after_ms` (0: on the next loop iteration, never from inside
     * this call), then every `every_ms` if it is positive, else once. Re-arming a pending timer
     * replaces its schedule. Returns 0; -EINVAL when after_ms or every_ms is negative; -EIO
     * when the loop refused (nothing changed).
     */
    int (*timer_start)(struct kd_timer *timer, int64_t after_ms, int64_t every_ms);

    /* Disarm `timer` (a no-op if it is not pending). It can be started again. */
    void (*timer_stop)(struct kd_timer *timer);

    /* Stop and free `timer`; NULL is a no-op. Allowed inside the timer's own callback. */
    void (*timer_free)(struct kd_timer *timer);

    /*
     * fd watches on the host's loop (as Redis' RedisModule_EventLoopAdd). watch_create makes a
     * watch of `fd` asking for nothing yet; watch_set then says what to wait for. The plugin
     * keeps owning `fd`: free the watch before closing it. Returns 0 and *ret_watch; -EINVAL
     * when fd < 0 or `fn` is NULL; -ENOMEM.
     */
    int (*watch_create)(const struct kd_instance *inst, int fd, kd_watch_fn *fn, void *arg,
                        struct kd_watch **ret_watch);

    /*
     * Wait for `events` (KD_IO_READ | KD_IO_WRITE) on the watch's fd, replacing what it waited
     * for before; 0 stops waiting. Returns 0; -EINVAL for an unknown bit; -EIO when the loop
     * refused the fd (closed, or a kind of file it cannot poll); the watch then waits for
     * nothing.
     */
    int (*watch_set)(struct kd_watch *watch, uint32_t events);

    /* Stop and free `watch`; NULL is a no-op. Allowed inside the watch's own callback. */
    void (*watch_free)(struct kd_watch *watch);
};

/* ---- Operations, one table per kind ----------------------------------------------------- */

/*
 * create() (both kinds): build the instance's state from `config`, which points to
 * config_size bytes filled from the option table (host-owned, alive until after destroy()).
 * Returns 0 and *ret_state; on failure leaves *ret_state untouched and returns:
 *   -EINVAL  the configuration is wrong: explain it first with ONE host->log line at
 *            KD_LOG_ERROR naming the option ("max_body must be between 1 and 67108864 bytes
 *            (got 68157440)"); the host repeats it with the file:line of the plugin's group;
 *   -ENOENT, -EACCES, ...  a file named by an option cannot be used (log it the same way);
 *   -ENOMEM  out of memory.
 * destroy(NULL) is a no-op.
 */
struct kd_source_ops {
    uint32_t size; /* sizeof(struct kd_source_ops) */

    int (*create)(const struct kd_host *host, const struct kd_instance *inst, const void *config,
                  void **ret_state);

    /*
     * Start fetching the forecast for `workload` (borrowed: copy it if kept). Must not block.
     * Complete later (or right away, rule 3), exactly once, with host->fetch_done or
     * host->fetch_fail, unless the host cancels first. Returns 0: started (or completed);
     * any negative errno: not started, never to be completed (-ENOMEM typically; the host
     * fails the fetch with strerror() of it).
     */
    int (*fetch)(void *state, struct kd_fetch *fetch, const char *workload);

    /* The host gave up on `fetch` (timeout, shutdown, reload). Release its resources; never
     * complete it (rule 6). */
    void (*cancel)(void *state, struct kd_fetch *fetch);

    void (*destroy)(void *state);
};

/*
 * What decide() is given. Built by the host; a plugin reads a field appended after 2.0 only
 * when KD_HAS_FIELD(args, struct kd_decide_args, field) holds.
 */
struct kd_decide_args {
    uint32_t size;                      /* sizeof(struct kd_decide_args) as the host built it */
    const struct kd_forecast *forecast; /* never NULL; check its own size the same way */
    int64_t now_ms;                     /* Unix milliseconds */
    /* Effective lead time chosen by the host: the route's / ScaledObject's override, or the
     * plugin's own configured value as reported by lookahead_ms(). >= 0. */
    int64_t lead_time_ms;
};

/*
 * What decide() answers. The host zeroes it, sets `size` and window_first = window_last = -1,
 * then calls decide(); a plugin writes only the fields `size` covers.
 */
struct kd_policy_result {
    uint32_t size;        /* bytes of this struct the plugin may write; set by the host */
    double value;         /* replicas, >= 0 */
    int64_t window_first; /* indexes of desired_replicas the decision looked at, inclusive; */
    int64_t window_last;  /* -1 and -1 if none (an empty series) */
    char reason[192];     /* on error: what is wrong with the forecast, in words */
};

struct kd_policy_ops {
    uint32_t size; /* sizeof(struct kd_policy_ops) */

    int (*create)(const struct kd_host *host, const struct kd_instance *inst, const void *config,
                  void **ret_state);

    /*
     * Pure (rule 10): decide from args->forecast at args->now_ms looking args->lead_time_ms
     * ahead. Returns 0 with ret_result->value set (finite, >= 0); -EINVAL when the forecast
     * cannot be used (step_seconds <= 0, ...) with ret_result->reason saying why. The host
     * answers the request UNAVAILABLE on any error, and also when value is not finite.
     */
    int (*decide)(void *state, const struct kd_decide_args *args,
                  struct kd_policy_result *ret_result);

    /* How far ahead this policy looks by its own configuration, in milliseconds (>= 0). The
     * host passes it as lead_time_ms when nothing overrides it, and defaults a route's
     * stale_after to twice it (upstream: stale when age > 2 x lead time). */
    int64_t (*lookahead_ms)(const void *state);

    void (*destroy)(void *state);
};

struct kd_plugin {
    uint32_t abi_major; /* these two stay first: they guard the rest */
    uint32_t abi_minor;
    uint32_t size;        /* sizeof(struct kd_plugin) as the plugin compiled it */
    uint32_t option_size; /* sizeof(struct kd_option): the stride of `options` */

    enum kd_plugin_kind kind;
    const char *name; /* "file", "http", "max"; the file is <kind>-<name>.so */
    const char *version;
    const char *description; /* one line */

    size_t config_size;              /* bytes the host allocates for the option struct */
    const struct kd_option *options; /* ends with KD_OPTIONS_END; NULL: no options */

    const struct kd_source_ops *source; /* kind == KD_PLUGIN_SOURCE */
    const struct kd_policy_ops *policy; /* kind == KD_PLUGIN_POLICY */
};

#endif /* KEDASTRAL_PLUGIN_H */
