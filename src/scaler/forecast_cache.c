/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Forecast cache (see forecast_cache.h). Each entry owns at most one fetch in flight, whose
 * struct kd_fetch is embedded in the entry; the source may complete it from inside fetch().
 *
 * Memory per workload is what 100,000 workloads cost: one allocation holds the entry, its one
 * timer (a refresh or, while a fetch runs, its timeout: never both) and its name; the forecast
 * is packed (forecast_pack.h) and unpacked into the cache's scratch when a view is filled, so
 * views stay valid until the next cache call, as the header promises.
 */
#include "scaler/forecast_cache.h"

#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "scaler/answer_store.h"
#include "scaler/forecast_cache_entry.h"
#include "scaler/forecast_cache_fetch.h"
#include "scaler/forecast_pack.h"
#include "scaler/routes.h"
#include "util/hashmap.h"
#include "util/list.h"
#include "util/time.h"

#define KD_BACKOFF_BASE_MS 1000

/* What an error message points to when there was no memory to copy it. */
static const char no_memory_message[] = "fetch failed (no memory to keep its message)";

/* A forecast unpacked by kd_forecast_cache_pin(), freed when control returns to the loop. */
struct kd_cache_pinned {
    struct kd_cache_pinned *next;
    struct kd_forecast forecast;
    struct kd_workload_answer answers[KD_ANSWER_COUNT];
    alignas(double) unsigned char buf[];
};

/* What an entry shows before its first answer of a kind. */
static const struct kd_workload_answer no_answer = {.window_first = -1,
                                                    .window_last = -1,
                                                    .age_ms = -1,
                                                    .stale_after_ms = -1,
                                                    .next_activation_ms = -1};

static const struct kd_workload_answer *unpacked_answers(const struct kd_cache_entry *entry,
                                                         struct kd_workload_answer *to)
{
    for (int k = 0; k < KD_ANSWER_COUNT; k++)
        kd_answer_store_get(&entry->answers[k], &no_answer, &to[k]);
    return to;
}

/* The view's forecast: unpacked into the scratch unless it is there already. The scratch is
 * the cache's, not the entry's, whence the cast: it is a cache of what views show. */
static const struct kd_forecast *unpacked(const struct kd_cache_entry *entry)
{
    struct kd_forecast_cache *cache = entry->cache;
    const struct kd_packed_forecast *p = entry->forecast;

    if (!p)
        return NULL;
    if (cache->scratch_of != p || cache->scratch_gen != kd_forecast_packed_gen(p)) {
        kd_forecast_unpack(p, cache->scratch_buf, &cache->scratch);
        cache->scratch_of = p;
        cache->scratch_gen = kd_forecast_packed_gen(p);
    }
    return &cache->scratch;
}

/* Pack `forecast` for `entry`, the scratch made big enough to unpack it. */
int kd_forecast_cache_store(struct kd_forecast_cache *cache, const struct kd_forecast *forecast,
                            struct kd_packed_forecast **ret_packed)
{
    struct kd_packed_forecast *p;
    int r = kd_forecast_pack(forecast, ++cache->next_gen, &p);

    if (r < 0)
        return r;
    size_t need = kd_forecast_unpacked_size(p);
    if (need > cache->scratch_cap) {
        void *buf = malloc(need);
        if (!buf) {
            free(p);
            return -ENOMEM;
        }
        free(cache->scratch_buf);
        cache->scratch_buf = buf;
        cache->scratch_cap = need;
        cache->scratch_of = NULL;
    }
    *ret_packed = p;
    return 0;
}

void kd_forecast_cache_set_error_message(struct kd_cache_entry *entry, const char *message)
{
    size_t len = strnlen(message, KD_ERROR_MESSAGE_MAX - 1);
    char *copy = malloc(len + 1);

    if (entry->error_message != no_memory_message)
        free((char *)(uintptr_t)entry->error_message);
    entry->error_message = no_memory_message;
    if (copy) {
        memcpy(copy, message, len);
        copy[len] = '\0';
        entry->error_message = copy;
    }
}

void kd_forecast_cache_clear_error_message(struct kd_cache_entry *entry)
{
    if (entry->error_message != no_memory_message)
        free((char *)(uintptr_t)entry->error_message);
    entry->error_message = NULL;
}

static uint64_t next_random(struct kd_forecast_cache *cache)
{
    /* xorshift64: jitter only needs to spread retries, not to be unpredictable */
    uint64_t x = cache->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    cache->rng = x;
    return x;
}

int64_t kd_forecast_cache_backoff_ms(unsigned failures, int64_t refresh_ms, uint64_t random)
{
    unsigned shift = failures > 1 ? failures - 1 : 0;
    int64_t delay = KD_BACKOFF_BASE_MS;

    while (shift-- > 0 && delay < refresh_ms)
        delay *= 2;
    if (delay > refresh_ms)
        delay = refresh_ms;
    if (delay < 1)
        delay = 1;
    int64_t half = delay / 2;
    return half + (int64_t)(random % (uint64_t)(delay - half + 1));
}

int64_t kd_forecast_cache_retry_ms(struct kd_cache_entry *entry)
{
    return kd_forecast_cache_backoff_ms(entry->failures, entry->route->timing.refresh_ms,
                                        next_random(entry->cache));
}

static void fill_view(const struct kd_cache_entry *entry, struct kd_cache_view *view)
{
    *view = (struct kd_cache_view){
        .in_flight = entry->in_flight,
        .stale = entry->stale,
        .failures = entry->failures,
        .failing_since_ms = entry->failures ? entry->failing_since_ms : 0,
        .last_asked_mono_ms = entry->last_asked_mono_ms,
        .refresh_due_mono_ms = entry->refresh_due_mono_ms,
        .entry = (struct kd_cache_entry *)entry,
        .workload = entry->workload,
        .route = entry->route,
        .forecast = unpacked(entry),
        .fetched_at_ms = entry->fetched_at_ms,
        .error = entry->error,
        .error_message = entry->error && entry->error_message ? entry->error_message : "",
        .idle = entry->idle,
        .answers = unpacked_answers(entry, entry->cache->answers),
    };
}

/* Subscribers stay linked; unsubscribe() advances the cursor if it removes the next one. */
void kd_forecast_cache_notify_subscribers(struct kd_cache_entry *entry)
{
    struct kd_cache_view view;

    entry->notify_next = entry->subscribers.next;
    while (entry->notify_next != &entry->subscribers) {
        struct kd_cache_subscriber *s =
            KD_CONTAINER_OF(entry->notify_next, struct kd_cache_subscriber, link);
        entry->notify_next = s->link.next;
        fill_view(entry, &view);
        s->on_update(s, &view);
    }
}

void kd_forecast_cache_notify(struct kd_cache_entry *entry)
{
    struct kd_cache_view view;

    /* Waiters are unlinked before their call so they may free themselves. */
    struct kd_list *node;
    while ((node = kd_list_pop_front(&entry->waiters))) {
        struct kd_cache_waiter *w = KD_CONTAINER_OF(node, struct kd_cache_waiter, link);
        w->entry = NULL;
        fill_view(entry, &view);
        w->on_ready(w, &view);
    }
    kd_forecast_cache_notify_subscribers(entry);
}

static void entry_free(struct kd_cache_entry *entry)
{
    kd_forecast_cache_fetch_cancel(entry);
    struct kd_list *node;
    /* Unlinked, not only orphaned: their links must not point into the freed entry. */
    while ((node = kd_list_pop_front(&entry->waiters)))
        KD_CONTAINER_OF(node, struct kd_cache_waiter, link)->entry = NULL;
    while ((node = kd_list_pop_front(&entry->subscribers)))
        KD_CONTAINER_OF(node, struct kd_cache_subscriber, link)->entry = NULL;
    kd_list_remove(&entry->lru);
    evtimer_del(kd_forecast_cache_entry_timer(entry));
    if (entry->cache->scratch_of == entry->forecast)
        entry->cache->scratch_of = NULL;
    free(entry->forecast);
    kd_forecast_cache_clear_error_message(entry);
    for (int k = 0; k < KD_ANSWER_COUNT; k++)
        kd_answer_store_release(&entry->cache->answer_store, &entry->answers[k]);
    free(entry);
}

void kd_forecast_cache_evict(struct kd_cache_entry *entry, enum kd_cache_evict_reason reason)
{
    struct kd_forecast_cache *cache = entry->cache;

    kd_hashmap_remove(&cache->entries, entry->workload);
    cache->stats.evictions++;
    cache->stats.evictions_by[reason]++;
    cache->stats.entries--;
    if (cache->observer.on_evict)
        cache->observer.on_evict(cache->observer.arg, entry->workload, reason);
    entry_free(entry);
}

/* Make room for one more entry: drop the least recently asked one that nobody is using. */
static int make_room(struct kd_forecast_cache *cache)
{
    struct kd_list *node;

    if (!cache->max_entries || cache->stats.entries < cache->max_entries)
        return 0;
    for (node = cache->lru.prev; node != &cache->lru; node = node->prev) {
        struct kd_cache_entry *e = KD_CONTAINER_OF(node, struct kd_cache_entry, lru);
        if (!e->in_flight && kd_list_empty(&e->waiters) && kd_list_empty(&e->subscribers)) {
            kd_forecast_cache_evict(e, KD_CACHE_EVICT_CAPACITY);
            return 0;
        }
    }
    return -ENOSPC;
}

static void touch(struct kd_cache_entry *entry, int64_t now_mono_ms)
{
    entry->last_asked_mono_ms = now_mono_ms;
    kd_list_remove(&entry->lru);
    kd_list_push_front(&entry->cache->lru, &entry->lru);
}

/* A new entry for `workload` on `route`, in the map, with no fetch started. */
static int entry_new(struct kd_forecast_cache *cache, const char *workload,
                     const struct kd_route *route, struct kd_cache_entry **ret_entry)
{
    size_t name_at = kd_forecast_cache_entry_timer_at() + event_get_struct_event_size();
    size_t len = strlen(workload) + 1;
    struct kd_cache_entry *entry = calloc(1, name_at + len);

    if (!entry)
        return -ENOMEM;
    entry->cache = cache;
    entry->route = route;
    kd_list_init(&entry->waiters);
    kd_list_init(&entry->subscribers);
    entry->last_asked_mono_ms = kd_time_mono_ms();
    entry->refresh_due_mono_ms = 0;
    entry->workload = (char *)entry + name_at;
    memcpy(entry->workload, workload, len);
    if (evtimer_assign(kd_forecast_cache_entry_timer(entry), cache->base,
                       kd_forecast_cache_fetch_on_timer, entry) < 0 ||
        kd_hashmap_put(&cache->entries, entry->workload, entry) < 0) {
        free(entry);
        return -ENOMEM;
    }
    kd_list_push_front(&cache->lru, &entry->lru);
    cache->stats.entries++;
    *ret_entry = entry;
    return 0;
}

static int entry_get(struct kd_forecast_cache *cache, const char *workload, int64_t now_mono_ms,
                     struct kd_cache_entry **ret_entry)
{
    struct kd_cache_entry *entry = kd_hashmap_get(&cache->entries, workload);

    if (cache->draining)
        return -ESHUTDOWN;
    if (entry) {
        touch(entry, now_mono_ms);
        if (entry->idle) {
            /* Asked again after going idle: refresh now, answer from the kept data. */
            entry->idle = false;
            kd_forecast_cache_fetch_start(entry);
        }
        *ret_entry = entry;
        return 0;
    }

    const struct kd_route *route = kd_routes_match(cache->routes, workload);
    if (!route)
        return -ENOENT;
    int r = make_room(cache);
    if (r < 0)
        return r;
    r = entry_new(cache, workload, route, &entry);
    if (r < 0)
        return r;
    kd_forecast_cache_fetch_start(entry);
    *ret_entry = entry;
    return 0;
}

int kd_forecast_cache_lookup(struct kd_forecast_cache *cache, const char *workload,
                             int64_t now_mono_ms, struct kd_cache_view *ret_view,
                             struct kd_cache_entry **ret_entry)
{
    struct kd_cache_entry *entry;
    int r = entry_get(cache, workload, now_mono_ms, &entry);

    if (r < 0)
        return r;
    if (!kd_forecast_cache_entry_known(entry)) {
        *ret_entry = entry;
        return -EINPROGRESS;
    }
    fill_view(entry, ret_view);
    return 0;
}

void kd_forecast_cache_wait(struct kd_cache_entry *entry, struct kd_cache_waiter *waiter)
{
    waiter->entry = entry;
    kd_list_push_front(&entry->waiters, &waiter->link);
}

void kd_forecast_cache_cancel_wait(struct kd_cache_waiter *waiter)
{
    struct kd_cache_entry *entry = waiter->entry;

    if (!entry)
        return;
    kd_list_remove(&waiter->link);
    waiter->entry = NULL;
}

int kd_forecast_cache_subscribe(struct kd_forecast_cache *cache, const char *workload,
                                struct kd_cache_subscriber *sub, struct kd_cache_view *ret_view)
{
    struct kd_cache_entry *entry;
    int r = entry_get(cache, workload, kd_time_mono_ms(), &entry);

    if (r < 0)
        return r;
    sub->entry = entry;
    kd_list_push_front(&entry->subscribers, &sub->link);
    if (!kd_forecast_cache_entry_known(entry))
        return -EINPROGRESS;
    fill_view(entry, ret_view);
    return 0;
}

bool kd_forecast_cache_subscriber_view(const struct kd_cache_subscriber *sub,
                                       struct kd_cache_view *ret_view)
{
    if (!sub->entry || !kd_forecast_cache_entry_known(sub->entry))
        return false;
    fill_view(sub->entry, ret_view);
    return true;
}

void kd_forecast_cache_unsubscribe(struct kd_cache_subscriber *sub)
{
    struct kd_cache_entry *entry = sub->entry;

    if (!entry)
        return;
    if (entry->notify_next == &sub->link)
        entry->notify_next = sub->link.next;
    kd_list_remove(&sub->link);
    sub->entry = NULL;
}

void kd_forecast_cache_set_max_entries(struct kd_forecast_cache *cache, size_t max_entries)
{
    cache->max_entries = max_entries;
}

void kd_forecast_cache_record(struct kd_cache_entry *entry, enum kd_workload_answer_kind kind,
                              const struct kd_workload_answer *answer)
{
    /* Out of memory keeps the previous answer: introspection only. */
    (void)kd_answer_store_put(&entry->cache->answer_store, &entry->answers[kind], answer);
}

struct kd_observer_memo *kd_forecast_cache_memo(struct kd_cache_entry *entry)
{
    return &entry->memo;
}

bool kd_forecast_cache_note_settings_error(struct kd_cache_entry *entry, uint64_t error_hash)
{
    bool changed = entry->settings_error_hash != error_hash;
    entry->settings_error_hash = error_hash;
    return changed;
}

bool kd_forecast_cache_note_stale(struct kd_cache_entry *entry, bool stale)
{
    bool changed = entry->stale != stale;
    entry->stale = stale;
    return changed;
}

void kd_forecast_cache_set_observer(struct kd_forecast_cache *cache,
                                    const struct kd_cache_observer *observer)
{
    cache->observer = observer ? *observer : (struct kd_cache_observer){0};
}

void kd_forecast_cache_stats(const struct kd_forecast_cache *cache,
                             struct kd_forecast_cache_stats *ret_stats)
{
    *ret_stats = cache->stats;
}

bool kd_forecast_cache_next(const struct kd_forecast_cache *cache, size_t *pos,
                            struct kd_cache_view *ret_view)
{
    void *value;

    while (kd_hashmap_next(&cache->entries, pos, NULL, &value)) {
        const struct kd_cache_entry *entry = value;
        if (kd_forecast_cache_entry_known(entry)) {
            fill_view(entry, ret_view);
            return true;
        }
    }
    return false;
}

bool kd_forecast_cache_next_any(const struct kd_forecast_cache *cache, size_t *pos,
                                struct kd_cache_view *ret_view)
{
    void *value;

    if (!kd_hashmap_next(&cache->entries, pos, NULL, &value))
        return false;
    fill_view(value, ret_view);
    return true;
}

int kd_forecast_cache_seed(struct kd_forecast_cache *cache, const struct kd_cache_view *from)
{
    const struct kd_cache_entry *old = from->entry;
    struct kd_packed_forecast *copy = NULL;
    struct kd_cache_entry *entry;
    int64_t delay;

    if (cache->draining)
        return -ESHUTDOWN;
    if (!from->forecast && !from->error)
        return -EINVAL;
    if (kd_hashmap_get(&cache->entries, from->workload))
        return -EEXIST;
    const struct kd_route *route = kd_routes_match(cache->routes, from->workload);
    if (!route)
        return -ENOENT;
    if (make_room(cache) < 0)
        return -ENOSPC;
    if (from->forecast) {
        int r = kd_forecast_cache_store(cache, from->forecast, &copy);
        if (r < 0)
            return r;
    }
    int r = entry_new(cache, from->workload, route, &entry);
    if (r < 0) {
        free(copy);
        return r;
    }
    entry->forecast = copy;
    entry->fetched_at_ms = copy ? from->fetched_at_ms : 0;
    entry->error = from->error;
    if (from->error)
        kd_forecast_cache_set_error_message(entry, from->error_message && *from->error_message
                                                       ? from->error_message
                                                       : "fetch failed");
    if (old) {
        entry->failures = old->failures;
        entry->failing_since_ms = old->failing_since_ms;
        entry->stale = old->stale;
        entry->last_asked_mono_ms = old->last_asked_mono_ms;
    }
    if (entry->error && entry->failures == 0) {
        entry->failures = 1;
        entry->failing_since_ms = kd_time_now_ms();
    }

    if (entry->failures > 0) {
        delay = kd_forecast_cache_retry_ms(entry);
    } else {
        delay = entry->fetched_at_ms + route->timing.refresh_ms - kd_time_now_ms();
        if (delay < 0)
            delay = 0;
        if (delay > route->timing.refresh_ms)
            delay = route->timing.refresh_ms;
    }
    kd_forecast_cache_fetch_schedule(entry, delay);
    return 0;
}

static void unpin_all(struct kd_forecast_cache *cache)
{
    while (cache->pinned) {
        struct kd_cache_pinned *p = cache->pinned;
        cache->pinned = p->next;
        free(p);
    }
}

static void on_unpin(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    unpin_all(arg);
}

int kd_forecast_cache_pin(const struct kd_forecast_cache *cache, struct kd_cache_view *view)
{
    /* Like the scratch, the pinned list is what views show, not the cache's state. */
    struct kd_forecast_cache *c = (struct kd_forecast_cache *)(uintptr_t)cache;
    const struct kd_packed_forecast *packed = view->entry ? view->entry->forecast : NULL;

    if (!view->entry)
        return 0;
    struct kd_cache_pinned *p =
        malloc(sizeof(*p) + (packed ? kd_forecast_unpacked_size(packed) : 0));
    if (!p)
        return -ENOMEM;
    if (packed)
        kd_forecast_unpack(packed, p->buf, &p->forecast);
    if (!c->pinned)
        event_active(c->unpin_ev, EV_TIMEOUT, 1);
    p->next = c->pinned;
    c->pinned = p;
    view->forecast = packed ? &p->forecast : NULL;
    view->answers = unpacked_answers(view->entry, p->answers);
    return 0;
}

size_t kd_forecast_cache_entry_bytes(const struct kd_cache_view *view)
{
    const struct kd_cache_entry *entry = view->entry;
    size_t bytes = kd_forecast_cache_entry_timer_at() + event_get_struct_event_size() +
                   strlen(entry->workload) + 1;

    if (entry->forecast)
        bytes += kd_forecast_packed_size(entry->forecast);
    if (entry->error_message && entry->error_message != no_memory_message)
        bytes += strlen(entry->error_message) + 1;
    return bytes;
}

int kd_forecast_cache_create(struct event_base *base, const struct kd_routes *routes,
                             struct kd_forecast_cache **ret_cache)
{
    struct kd_forecast_cache *cache = calloc(1, sizeof(*cache));

    if (!cache)
        return -ENOMEM;
    cache->unpin_ev = event_new(base, -1, 0, on_unpin, cache);
    if (!cache->unpin_ev) {
        free(cache);
        return -ENOMEM;
    }
    cache->base = base;
    cache->routes = routes;
    kd_answer_store_init(&cache->answer_store);
    kd_hashmap_init(&cache->entries);
    kd_list_init(&cache->lru);
    cache->rng = (uint64_t)kd_time_mono_ms() ^ (uint64_t)(uintptr_t)cache ^ 0x9e3779b97f4a7c15ull;
    if (cache->rng == 0)
        cache->rng = 1;
    *ret_cache = cache;
    return 0;
}

void kd_forecast_cache_drain(struct kd_forecast_cache *cache)
{
    size_t pos = 0;
    void *value;

    cache->draining = true;
    while (kd_hashmap_next(&cache->entries, &pos, NULL, &value)) {
        struct kd_cache_entry *entry = value;
        kd_forecast_cache_fetch_cancel(entry);
        evtimer_del(kd_forecast_cache_entry_timer(entry));
        entry->refresh_due_mono_ms = 0;
        struct kd_list *node;
        while ((node = kd_list_first(&entry->waiters))) {
            struct kd_cache_waiter *w = KD_CONTAINER_OF(node, struct kd_cache_waiter, link);
            kd_forecast_cache_cancel_wait(w);
            w->on_ready(w, NULL);
        }
    }
}

void kd_forecast_cache_destroy(struct kd_forecast_cache *cache)
{
    size_t pos = 0;
    void *value;

    if (!cache)
        return;
    while (kd_hashmap_next(&cache->entries, &pos, NULL, &value))
        entry_free(value);
    kd_hashmap_fini(&cache->entries);
    kd_answer_store_fini(&cache->answer_store);
    unpin_all(cache);
    event_free(cache->unpin_ev);
    free(cache->scratch_buf);
    free(cache);
}
