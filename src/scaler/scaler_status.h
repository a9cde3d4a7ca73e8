/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Introspection for the status endpoints: a snapshot of the daemon, each source's health and
 * each workload's forecast, window and answer, as plain data. The renderers (ops/status_*.c)
 * read only this header; they see no cache, route or plugin internals.
 */
#ifndef KD_SCALER_STATUS_H
#define KD_SCALER_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kd_scaler;
struct kd_instance;
struct kd_cache_observer;
struct kd_status_tracker;

#define KD_STATUS_MAX_ORIGINS 16
#define KD_STATUS_MAX_LIMITS 32

enum kd_status_fetch_result {
    KD_STATUS_FETCH_SUCCESS,
    KD_STATUS_FETCH_ERROR,
    KD_STATUS_FETCH_NOT_FOUND,
    KD_STATUS_FETCH_TIMEOUT,
    KD_STATUS_FETCH_COUNT,
};

/* The JSON names of the results above ("success", "error", "not_found", "timeout"). */
extern const char *const kd_status_fetch_result_names[KD_STATUS_FETCH_COUNT];

/* Daemon-wide facts the scaler does not know; main.c fills them. Strings borrowed. */
struct kd_status_daemon {
    const char *version;
    const char *config_file; /* NULL: the built-in configuration */
    const char *listen;
    const char *http_listen;
    int64_t started_ms;
    uint64_t reloads_ok;
    uint64_t reloads_failed;
    int64_t last_reload_ms; /* 0: never reloaded */
    bool last_reload_ok;
    const char *last_reload_error; /* "" when the last reload succeeded */
    /* Limits in force: max_message_size, default_deadline_ms, shutdown_timeout_ms and every
     * limits.* setting (kd_status_daemon_limits). */
    size_t n_limits;
    struct {
        char name[48]; /* "max_workloads"; durations end in "_ms" */
        int64_t value;
    } limits[KD_STATUS_MAX_LIMITS];
};

struct kd_config;

/* Fill daemon->limits from `config` and the settings table. */
void kd_status_daemon_limits(const struct kd_config *config, struct kd_status_daemon *daemon);

struct kd_status_source {
    const char *name;
    const char *plugin;
    /* Failing: the source's latest fetch failed (an error or a timeout; "not found" is an
     * answer, not a failure). Since the first failure after the last success. */
    bool failing;
    int64_t failing_since_ms;        /* 0 when ok */
    const char *last_error;          /* the latest failure's words, "" if none yet */
    const char *last_error_workload; /* whose fetch it was, "" if none yet */
    uint64_t fetches[KD_STATUS_FETCH_COUNT];
    size_t in_flight;
    size_t workloads;                              /* cache entries routed to this source */
    size_t cached;                                 /* of those, entries holding a forecast */
    int64_t refresh_ms, timeout_ms, idle_evict_ms; /* 0 when no route uses the source */
};

struct kd_status_workload {
    const char *name;
    const char *route; /* the glob that matched */
    const char *source;
    const char *policy;
    int64_t lead_time_ms; /* the policy's lookahead */
    int64_t stale_after_ms;
    int64_t fallback_replicas; /* -1: none */

    bool has_forecast;
    int64_t generated_at_ms;
    int64_t fetched_at_ms;
    int64_t step_s;
    int64_t horizon_s;
    size_t n_points;
    const int64_t *desired_replicas; /* n_points; the plan for generated_at + (i + 1) * step */

    /* The effective settings (the last GetMetrics call's, with its ScaledObject's allowed
     * overrides; the route's before any call) and where each came from. */
    const char *mode;       /* "active" or "shadow" */
    const char *activation; /* "fresh" or "demand" */
    const char *on_stale;   /* "error" or "inactive" */
    int64_t activation_lead_ms;
    double activation_threshold;
    size_t n_origins;
    struct {
        const char *setting; /* "lead_time", "policy", ... */
        const char *origin;  /* "config", "metadata" or "default" */
    } origins[KD_STATUS_MAX_ORIGINS];

    /* The indexes of desired_replicas the policy looked at, when the policy says. */
    bool has_window;
    size_t window_first, window_last;
    bool has_policy_value; /* the policy ran: its value (also in shadow mode, answered 0) */
    double policy_value;
    bool exhausted; /* every step of the forecast has passed */

    /* What GetMetrics would answer now: code 0 with value, or the code and message. */
    int answer_code;
    const char *answer_status; /* "OK", "UNAVAILABLE", ... */
    double answer_value;
    const char *answer_message; /* "" for OK */
    bool stale;                 /* older than stale_after, or exhausted */
    bool active;                /* what IsActive would answer now */
    int64_t next_activation_ms; /* activation "demand" while inactive: when demand enters the
                                   activation window; 0: none */
    int64_t last_metrics_ms;    /* the last GetMetrics answer: when (0: never) and its code */
    int last_metrics_code;
    int64_t last_activity_ms; /* the last IsActive / StreamIsActive evaluation, and its outcome */
    bool last_active;

    bool fetching;
    bool idle;         /* not asked within 2 x refresh: kept, not refreshed */
    unsigned failures; /* consecutive failed fetches */
    int64_t failing_since_ms;
    const char *last_error; /* "" when the last fetch succeeded */
    bool not_found;         /* the source does not know the workload */
    int64_t last_asked_ms;
    int64_t refresh_due_ms; /* 0: none armed */
};

struct kd_status_query {
    const char *workload; /* non-NULL: only this one */
    const char *after;    /* non-NULL: names strictly after this (paging) */
    size_t limit;         /* page size; 0: sources only, no workloads */
};

struct kd_status_snapshot {
    int64_t now_ms;
    struct kd_status_daemon daemon; /* the caller's, copied */
    struct kd_status_source *sources;
    size_t n_sources;
    struct kd_status_workload *workloads; /* sorted by name */
    size_t n_workloads;
    size_t total_workloads; /* every cache entry */
    size_t limit;
    const char *after;      /* as queried */
    const char *workload;   /* as queried */
    const char *next_after; /* the last name on this page when more follow; NULL otherwise */
    /* private */
    char (*messages)[512];
};

/*
 * Take a snapshot at `now_ms`. Strings and arrays are borrowed from the scaler and the
 * snapshot: valid until control returns to the event loop, and until _fini. Nothing in the
 * scaler changes (no entry is created or marked as asked). 0 or -ENOMEM (snapshot empty).
 */
int kd_scaler_status_snapshot(const struct kd_scaler *scaler, const struct kd_status_daemon *daemon,
                              const struct kd_status_query *query, int64_t now_ms,
                              struct kd_status_snapshot *ret_snapshot);
void kd_scaler_status_snapshot_fini(struct kd_status_snapshot *snapshot);

/* True iff there is at least one source and every source is failing with nothing cached
 * (for readyz_requires_sources). */
bool kd_status_sources_down(const struct kd_status_snapshot *snapshot);

/* ---- per-source tracking, wired by scaler.c ----------------------------------------------- */

/* Counts and failure state per source instance (`sources` borrowed, must outlive it). */
int kd_status_tracker_create(struct kd_instance *const *sources, size_t n_sources,
                             struct kd_status_tracker **ret_tracker);
void kd_status_tracker_destroy(struct kd_status_tracker *tracker);

/* Reload: copy source `name`'s record (counts, failure state, last error) from `old`. */
void kd_status_tracker_adopt(struct kd_status_tracker *tracker, const struct kd_status_tracker *old,
                             const char *name);

/* The cache observer to install: records into `tracker`, then forwards to `next` (NULL:
 * nothing), which is copied. */
void kd_status_tracker_observer(struct kd_status_tracker *tracker,
                                const struct kd_cache_observer *next,
                                struct kd_cache_observer *ret_observer);

#endif /* KD_SCALER_STATUS_H */
