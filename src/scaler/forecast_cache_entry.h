/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the forecast cache: the layout of an entry and of the cache, shared by its two
 * units. forecast_cache.c keeps the table (entries, views, waiters, subscribers, eviction,
 * reload seeding, pinning); forecast_cache_fetch.c drives each entry's fetch and its one timer
 * (refresh, timeout, retry with backoff) and calls back into the table for what it owns.
 */
#ifndef KD_FORECAST_CACHE_ENTRY_H
#define KD_FORECAST_CACHE_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <kedastral/plugin.h>

#include "plugin/plugin_host.h"
#include "scaler/answer_store.h"
#include "scaler/forecast_cache.h"
#include "util/hashmap.h"
#include "util/list.h"

#define KD_ERROR_MESSAGE_MAX 256

struct event;
struct kd_packed_forecast;
struct kd_cache_pinned;

struct kd_cache_entry {
    struct kd_forecast_cache *cache;
    char *workload; /* also the hash map key; in this allocation, after the timer */
    const struct kd_route *route;

    struct kd_fetch fetch;         /* valid while in_flight */
    struct timespec fetch_started; /* monotonic, for the fetch duration */

    struct kd_packed_forecast *forecast; /* last good */
    int64_t fetched_at_ms;
    const char *error_message; /* malloc'd, or no_memory_message; NULL when error is 0 */
    enum kd_fetch_error error;
    unsigned failures; /* consecutive */
    int64_t failing_since_ms;
    int64_t refresh_due_mono_ms; /* 0: no refresh armed */
    int64_t last_asked_mono_ms;
    bool in_flight;
    bool stale; /* as last noted by the service, for once-per-change logs */
    bool idle;  /* not asked within 2 x refresh: no background fetches */

    struct kd_list lru; /* in cache->lru, most recently asked first */
    uint64_t settings_error_hash;
    struct kd_stored_answer answers[KD_ANSWER_COUNT];
    struct kd_observer_memo memo; /* the scaler observer's, per workload */
    struct kd_list waiters;       /* struct kd_cache_waiter, newest first */
    struct kd_list subscribers;   /* struct kd_cache_subscriber, newest first */
    struct kd_list *notify_next;  /* cursor of a running notification */
    /* followed by the timer (struct event, event_get_struct_event_size()) and the name */
};

struct kd_forecast_cache {
    struct event_base *base;
    const struct kd_routes *routes;
    struct kd_hashmap entries;
    struct kd_list lru;
    size_t max_entries; /* 0: unbounded */
    uint64_t rng;
    bool draining;
    struct kd_forecast_cache_stats stats;
    struct kd_cache_observer observer;

    /* The last forecast unpacked for a view: `scratch_of` with generation `scratch_gen`.
     * Grown when a forecast is stored, so that filling a view never allocates. */
    struct kd_forecast scratch;
    void *scratch_buf;
    size_t scratch_cap;
    const struct kd_packed_forecast *scratch_of;
    uint32_t scratch_gen;
    uint32_t next_gen;
    struct kd_cache_pinned *pinned;
    struct event *unpin_ev;
    struct kd_answer_store answer_store;
    struct kd_workload_answer answers[KD_ANSWER_COUNT]; /* the last view's, unpacked */
};

/* Where the entry's timer sits in its allocation (after the entry, 16-byte aligned). */
static inline size_t kd_forecast_cache_entry_timer_at(void)
{
    return (sizeof(struct kd_cache_entry) + 15) / 16 * 16;
}

static inline struct event *kd_forecast_cache_entry_timer(const struct kd_cache_entry *entry)
{
    return (struct event *)(void *)((char *)(uintptr_t)entry + kd_forecast_cache_entry_timer_at());
}

/* A forecast or an error arrived: the entry can answer. */
static inline bool kd_forecast_cache_entry_known(const struct kd_cache_entry *entry)
{
    return entry->forecast || entry->error;
}

/* Unknown to the source and nothing good ever arrived: remembered, never refetched. */
static inline bool kd_forecast_cache_entry_unknown(const struct kd_cache_entry *entry)
{
    return !entry->forecast && entry->error == KD_FETCH_NOT_FOUND;
}

/* The table's side (forecast_cache.c), for the fetch driver. */

/* Pack `forecast` for an entry of `cache`, the scratch made big enough to unpack it. */
int kd_forecast_cache_store(struct kd_forecast_cache *cache, const struct kd_forecast *forecast,
                            struct kd_packed_forecast **ret_packed);

/* Keep a copy of `message` (at most KD_ERROR_MESSAGE_MAX - 1 bytes) as the entry's error. */
void kd_forecast_cache_set_error_message(struct kd_cache_entry *entry, const char *message);
void kd_forecast_cache_clear_error_message(struct kd_cache_entry *entry);

/* Retry delay after the entry's consecutive failures, jittered from the cache's generator. */
int64_t kd_forecast_cache_retry_ms(struct kd_cache_entry *entry);

/* Call the entry's waiters (unlinked first) and then its subscribers with its view. */
void kd_forecast_cache_notify(struct kd_cache_entry *entry);
void kd_forecast_cache_notify_subscribers(struct kd_cache_entry *entry);

/* Drop the entry from the cache and free it. */
void kd_forecast_cache_evict(struct kd_cache_entry *entry, enum kd_cache_evict_reason reason);

#endif /* KD_FORECAST_CACHE_ENTRY_H */
