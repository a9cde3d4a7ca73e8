/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-workload forecast cache: one entry per workload (hash map), a deep copy of the last
 * good forecast, single-flight fetches with a timeout, stale-while-revalidate, backoff with
 * jitter after failures. Bounded against any client:
 *   - an entry refreshes in the background only while it is asked about (within 2 x refresh,
 *     or while a StreamIsActive stream watches it); then it goes idle, keeping its data
 *     without fetching, until idle_evict drops it; the next ask refreshes it at once;
 *   - a workload the source does not know (NOT_FOUND, no forecast) is remembered for one
 *     refresh period and never refetched in the background;
 *   - max_entries caps the entries: the least recently asked one makes room.
 * Nothing here blocks: a cold workload's callers queue a waiter and are called back.
 */
#ifndef KD_FORECAST_CACHE_H
#define KD_FORECAST_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kedastral/plugin.h>

#include "scaler/workload_state.h"
#include "util/list.h"

/* A forecast whose generatedAt is further ahead of our clock than this is rejected. */
#define KD_FORECAST_SKEW_MS (5 * 60 * 1000)

struct event_base;
struct kd_routes;
struct kd_route;
struct kd_forecast_cache;
struct kd_cache_entry;

/* What the cache knows about one workload. Borrowed: valid until control returns to the
 * event loop or the next cache call, whichever comes first (`forecast` is unpacked into one
 * scratch per cache: a view kept past another view's filling must be pinned). */
struct kd_cache_view {
    struct kd_cache_entry *entry;
    const char *workload;
    const struct kd_route *route;
    const struct kd_forecast *forecast; /* last good forecast, NULL if none ever arrived */
    int64_t fetched_at_ms;              /* wall clock when it arrived; 0 if none */
    enum kd_fetch_error error;          /* 0: the last finished fetch succeeded */
    const char *error_message;          /* "" when error is 0 */
    /* For the status page (scaler_status.c): */
    bool in_flight;              /* a fetch is running */
    bool stale;                  /* as last noted with kd_forecast_cache_note_stale() */
    unsigned failures;           /* consecutive failed fetches */
    int64_t failing_since_ms;    /* wall clock of the first of them; 0 when not failing */
    int64_t last_asked_mono_ms;  /* monotonic clock of the last lookup or subscriber tick */
    int64_t refresh_due_mono_ms; /* monotonic clock of the next refresh or retry; 0: none
                                    (also while idle: its timer then only evicts) */
    /* Not asked within 2 x refresh: kept, not refreshed, until idle_evict. */
    bool idle;
    /* What was last answered from it, for introspection (workload_state.h). */
    const struct kd_workload_answer *answers; /* [KD_ANSWER_COUNT]; at_ms 0 when none */
};

/* A call waiting for a cold workload's first answer. The caller owns the memory. */
struct kd_cache_waiter {
    /* `view` NULL: the cache is shutting down. The waiter is already unlinked when called. */
    void (*on_ready)(struct kd_cache_waiter *waiter, const struct kd_cache_view *view);
    /* private to the cache */
    struct kd_cache_entry *entry;
    struct kd_list link; /* in the entry's waiters */
};

/* A long-lived watcher (StreamIsActive): told after every fetch outcome and every refresh
 * tick of its workload, so that it can notice staleness. Keeps the entry from idle eviction. */
struct kd_cache_subscriber {
    void (*on_update)(struct kd_cache_subscriber *sub, const struct kd_cache_view *view);
    /* private to the cache */
    struct kd_cache_entry *entry;
    struct kd_list link; /* in the entry's subscribers */
};

/* How one fetch ended, for metrics. Cancelled fetches (drain, destroy) are not reported. */
enum kd_cache_fetch_result {
    KD_CACHE_FETCH_SUCCESS,
    KD_CACHE_FETCH_ERROR,
    KD_CACHE_FETCH_NOT_FOUND,
    KD_CACHE_FETCH_TIMEOUT,
};

/* Why an entry left the cache. */
enum kd_cache_evict_reason {
    KD_CACHE_EVICT_IDLE,      /* not asked about for idle_evict */
    KD_CACHE_EVICT_NOT_FOUND, /* unknown to the source, remembered only briefly */
    KD_CACHE_EVICT_CAPACITY,  /* max_workloads reached: the least recently asked made room */
    KD_CACHE_EVICT_REASON_COUNT,
};

/*
 * Room kept with each workload's entry for an observer's own hints (metrics find their
 * per-workload series again without a hash lookup). Zeroed when the entry is made and gone
 * with it; 12 bytes, since there is one per cached workload. A hint may be stale whenever the
 * observer's own state changed: it must be checked before use (kd_metric_series_hinted).
 */
struct kd_observer_memo {
    uint32_t slot[3];
};

/* Optional hooks for metrics; called on the loop, must not call back into the cache. */
struct kd_cache_observer {
    /* Every finished fetch: the route's source instance name, outcome, seconds taken. */
    void (*on_fetch)(void *arg, const char *source, enum kd_cache_fetch_result result,
                     double duration_s);
    /* An entry was dropped (its workload's series can go). */
    void (*on_evict)(void *arg, const char *workload, enum kd_cache_evict_reason reason);
    /* After on_fetch for a failed fetch: what went wrong, in words. Optional. */
    void (*on_fetch_error)(void *arg, const char *source, const char *workload,
                           const char *message);
    void *arg;
};

struct kd_forecast_cache_stats {
    size_t entries;
    uint64_t fetches;   /* source fetch() calls */
    uint64_t failures;  /* fetches that failed or timed out */
    uint64_t evictions; /* entries dropped, every reason */
    uint64_t evictions_by[KD_CACHE_EVICT_REASON_COUNT];
};

/* `routes` is borrowed and must outlive the cache. */
int kd_forecast_cache_create(struct event_base *base, const struct kd_routes *routes,
                             struct kd_forecast_cache **ret_cache);

/* Frees every entry, cancelling fetches in flight. Waiters and subscribers still linked are
 * dropped without a call: drain first to tell them. */
void kd_forecast_cache_destroy(struct kd_forecast_cache *cache);

/*
 * Ask about `workload` (marks it as asked). Returns
 *   0            *ret_view describes the last forecast and/or error: answer now;
 *   -EINPROGRESS cold: its first fetch is running; *ret_entry is set, pass it to
 *                kd_forecast_cache_wait() before returning to the loop;
 *   -ENOENT      no route matches the workload;
 *   -ENOSPC      a new workload, max_workloads entries and none can make room (each has a
 *                fetch, a waiter or a subscriber);
 *   -ESHUTDOWN   the cache is drained;
 *   -ENOMEM.
 * `now_mono_ms` is the caller's kd_time_mono_ms() (it has read the clock for the call already),
 * kept as the entry's last use for idle eviction.
 */
int kd_forecast_cache_lookup(struct kd_forecast_cache *cache, const char *workload,
                             int64_t now_mono_ms, struct kd_cache_view *ret_view,
                             struct kd_cache_entry **ret_entry);

/* Queue `waiter` (on_ready set) on a cold entry from kd_forecast_cache_lookup(). */
void kd_forecast_cache_wait(struct kd_cache_entry *entry, struct kd_cache_waiter *waiter);

/* Stop waiting (the call was cancelled or its deadline passed); no-op if not waiting. */
void kd_forecast_cache_cancel_wait(struct kd_cache_waiter *waiter);

/*
 * Subscribe `sub` (on_update set) to `workload`. Returns 0 with *ret_view filled, or
 * -EINPROGRESS when nothing is known yet (on_update follows the first fetch); both leave `sub`
 * subscribed. -ENOENT, -ESHUTDOWN, -ENOMEM as for lookup, not subscribed.
 */
int kd_forecast_cache_subscribe(struct kd_forecast_cache *cache, const char *workload,
                                struct kd_cache_subscriber *sub, struct kd_cache_view *ret_view);

/* The view of a subscriber's workload now; false when not subscribed or nothing is known. */
bool kd_forecast_cache_subscriber_view(const struct kd_cache_subscriber *sub,
                                       struct kd_cache_view *ret_view);

/* No-op if not subscribed. Safe from inside on_update. */
void kd_forecast_cache_unsubscribe(struct kd_cache_subscriber *sub);

/* Shutdown: cancel fetches, stop timers, call every waiter with view NULL. Later lookups and
 * subscribes return -ESHUTDOWN. Subscribers stay linked until they unsubscribe. */
void kd_forecast_cache_drain(struct kd_forecast_cache *cache);

/*
 * Bound the number of entries (0: none; the default). When a new workload would go past it,
 * the least recently asked entry without a fetch, waiter or subscriber is dropped.
 */
void kd_forecast_cache_set_max_entries(struct kd_forecast_cache *cache, size_t max_entries);

/* Keep `answer` (copied) as the entry's last answer of its kind, for introspection. */
void kd_forecast_cache_record(struct kd_cache_entry *entry, enum kd_workload_answer_kind kind,
                              const struct kd_workload_answer *answer);

/* The entry's observer memo (see struct kd_observer_memo). */
struct kd_observer_memo *kd_forecast_cache_memo(struct kd_cache_entry *entry);

/* Record the last settings error seen for the entry (a hash of its text; 0: none); true when
 * it changed, so that the caller logs once per workload and change, not per call. */
bool kd_forecast_cache_note_settings_error(struct kd_cache_entry *entry, uint64_t error_hash);

/* Record whether the caller found the entry's forecast stale; true when that changed (so
 * that the caller logs once per state change). */
bool kd_forecast_cache_note_stale(struct kd_cache_entry *entry, bool stale);

/* Copy `observer` (NULL: none). */
void kd_forecast_cache_set_observer(struct kd_forecast_cache *cache,
                                    const struct kd_cache_observer *observer);

void kd_forecast_cache_stats(const struct kd_forecast_cache *cache,
                             struct kd_forecast_cache_stats *ret_stats);

/*
 * Iterate the entries that know something (a forecast or an error; cold entries are skipped):
 * start with *pos = 0; false when done. The cache must not change while iterating.
 */
bool kd_forecast_cache_next(const struct kd_forecast_cache *cache, size_t *pos,
                            struct kd_cache_view *ret_view);

/* Like kd_forecast_cache_next(), cold entries included (forecast NULL, error 0). */
bool kd_forecast_cache_next_any(const struct kd_forecast_cache *cache, size_t *pos,
                                struct kd_cache_view *ret_view);

/*
 * Reload: start `from->workload`'s entry in `cache` with what `from` (a view of the cache being
 * replaced) knows: a copy of the last good forecast, when it arrived, the last error. When
 * `from->entry` is set, its consecutive failures, staleness and last-asked time carry over too
 * (so idle eviction, backoff and once-per-change logs go on as before); when NULL the entry
 * counts as asked now. No fetch starts now: the refresh runs when the old entry's would have
 * (at once if that time passed), after a failure after the backoff. `from->route` is only the
 * old route; the entry takes `cache`'s own route for the workload. Returns 0, -ENOENT (no
 * route), -EEXIST (the workload already has an entry), -EINVAL (`from` knows nothing),
 * -ESHUTDOWN, -ENOMEM; nothing changes on error.
 */
int kd_forecast_cache_seed(struct kd_forecast_cache *cache, const struct kd_cache_view *from);

/* Give `view` (filled by this cache) a forecast of its own that stays valid until control
 * returns to the event loop, for a caller that holds many views at once (the status page).
 * 0 or -ENOMEM (the view unchanged). */
int kd_forecast_cache_pin(const struct kd_forecast_cache *cache, struct kd_cache_view *view);

/* Bytes the cache holds for the view's entry (entry, timer, name, packed forecast, error
 * message), allocator overhead and the hash map not counted. */
size_t kd_forecast_cache_entry_bytes(const struct kd_cache_view *view);

/* Retry delay after `failures` consecutive failures (>= 1): exponential from 1 s, capped at
 * `refresh_ms`, with "equal jitter" from `random`: a value in [d/2, d]. */
int64_t kd_forecast_cache_backoff_ms(unsigned failures, int64_t refresh_ms, uint64_t random);

#endif /* KD_FORECAST_CACHE_H */
