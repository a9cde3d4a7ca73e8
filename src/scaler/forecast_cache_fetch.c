/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Forecast cache, the fetch driver (forecast_cache_fetch.h): starts an entry's fetch, takes its
 * outcome (checked, packed, or counted as a failure with backoff), times it out, and runs the
 * refresh tick that keeps an asked entry fresh, lets it go idle or evicts it.
 */
#include "scaler/forecast_cache_fetch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "plugin/plugin_host.h"
#include "scaler/forecast_cache_entry.h"
#include "scaler/routes.h"
#include "util/duration.h"
#include "util/log.h"
#include "util/time.h"

static void observe_fetch(const struct kd_cache_entry *entry, enum kd_cache_fetch_result result)
{
    const struct kd_cache_observer *o = &entry->cache->observer;
    struct timespec now;

    if (!o->on_fetch)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double s = (double)(now.tv_sec - entry->fetch_started.tv_sec) +
               (double)(now.tv_nsec - entry->fetch_started.tv_nsec) / 1e9;
    o->on_fetch(o->arg, kd_instance_name(entry->route->source), result, s);
}

void kd_forecast_cache_fetch_schedule(struct kd_cache_entry *entry, int64_t delay_ms)
{
    if (delay_ms < 0)
        delay_ms = 0;
    struct timeval tv = {.tv_sec = delay_ms / 1000, .tv_usec = (delay_ms % 1000) * 1000};
    evtimer_add(kd_forecast_cache_entry_timer(entry), &tv);
    entry->refresh_due_mono_ms = kd_time_mono_ms() + delay_ms;
}

static void entry_log(const struct kd_cache_entry *entry, enum kd_log_level level, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));

static void entry_log(const struct kd_cache_entry *entry, enum kd_log_level level, const char *fmt,
                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    kd_log_prefixedv(level, kd_instance_log_prefix(entry->route->source), fmt, ap);
    va_end(ap);
}

static void fetch_failed(struct kd_cache_entry *entry, enum kd_fetch_error error,
                         const char *message)
{
    struct kd_forecast_cache *cache = entry->cache;

    cache->stats.failures++;
    entry->error = error;
    kd_forecast_cache_set_error_message(entry, message && *message ? message : "fetch failed");
    if (cache->observer.on_fetch_error)
        cache->observer.on_fetch_error(cache->observer.arg, kd_instance_name(entry->route->source),
                                       entry->workload, entry->error_message);
    if (entry->failures++ == 0) {
        entry->failing_since_ms = kd_time_now_ms();
        if (entry->forecast)
            entry_log(entry, KD_LOG_WARN,
                      "workload %s: %s; serving the last good forecast (fetched %" PRId64
                      " s ago) while retrying",
                      entry->workload, entry->error_message,
                      (kd_time_now_ms() - entry->fetched_at_ms) / 1000);
        else
            entry_log(entry, KD_LOG_WARN, "workload %s: %s; retrying", entry->workload,
                      entry->error_message);
    }
    /* An unknown workload is forgotten after one refresh period (on_refresh) unless a
     * stream keeps asking; everything else retries with backoff while asked. */
    if (!cache->draining) {
        bool forget = kd_forecast_cache_entry_unknown(entry) && kd_list_empty(&entry->subscribers);
        kd_forecast_cache_fetch_schedule(entry, forget ? entry->route->timing.refresh_ms
                                                       : kd_forecast_cache_retry_ms(entry));
    }
    kd_forecast_cache_notify(entry);
}

static struct kd_cache_entry *entry_of(struct kd_fetch *fetch)
{
    return (struct kd_cache_entry *)(void *)((char *)fetch -
                                             offsetof(struct kd_cache_entry, fetch));
}

/* A fetch the cache no longer waits for (cancelled, or completed twice) is ignored. */
static bool finish_fetch(struct kd_cache_entry *entry)
{
    if (!entry->in_flight)
        return false;
    entry->in_flight = false;
    evtimer_del(kd_forecast_cache_entry_timer(entry));
    return true;
}

/* A forecast for another workload, or from the future beyond clock skew, is not this
 * workload's plan: rejected like a failed fetch (the last good one keeps serving). */
static int check_forecast(const struct kd_cache_entry *entry, const struct kd_forecast *forecast,
                          char *why, size_t why_len)
{
    if (forecast->workload && *forecast->workload &&
        strcmp(forecast->workload, entry->workload) != 0) {
        snprintf(why, why_len, "rejected a forecast for workload \"%.100s\" (asked for \"%.100s\")",
                 forecast->workload, entry->workload);
        return -EINVAL;
    }
    int64_t ahead = forecast->generated_at_ms - kd_time_now_ms();
    if (ahead > KD_FORECAST_SKEW_MS) {
        char text[32], limit[32];
        kd_duration_format(ahead, text, sizeof(text));
        kd_duration_format(KD_FORECAST_SKEW_MS, limit, sizeof(limit));
        snprintf(why, why_len,
                 "rejected a forecast generated %s in the future (clock skew allowance %s)", text,
                 limit);
        return -EINVAL;
    }
    return 0;
}

static void on_fetch_done(struct kd_fetch *fetch, const struct kd_forecast *forecast)
{
    struct kd_cache_entry *entry = entry_of(fetch);
    struct kd_packed_forecast *copy;

    if (!finish_fetch(entry))
        return;
    char why[KD_ERROR_MESSAGE_MAX];
    if (check_forecast(entry, forecast, why, sizeof(why)) < 0) {
        observe_fetch(entry, KD_CACHE_FETCH_ERROR);
        fetch_failed(entry, KD_FETCH_FAILED, why);
        return;
    }
    observe_fetch(entry, KD_CACHE_FETCH_SUCCESS);
    int r = kd_forecast_cache_store(entry->cache, forecast, &copy);
    if (r < 0) {
        /* -EOVERFLOW: beyond what the packed form holds (names over 64 KiB together, or
         * billions of points): refused whole, never truncated. */
        fetch_failed(entry, KD_FETCH_FAILED,
                     r == -EOVERFLOW ? "forecast too large to keep: workload and metric names "
                                       "over 64 KiB together, or too many points"
                                     : "out of memory while storing the forecast");
        return;
    }
    free(entry->forecast);
    entry->forecast = copy;
    entry->fetched_at_ms = kd_time_now_ms();
    entry->error = 0;
    kd_forecast_cache_clear_error_message(entry);
    if (entry->failures > 0)
        entry_log(entry, KD_LOG_INFO, "workload %s: source recovered after %u failed fetches",
                  entry->workload, entry->failures);
    entry->failures = 0;
    if (!entry->cache->draining)
        kd_forecast_cache_fetch_schedule(entry, entry->route->timing.refresh_ms);
    kd_forecast_cache_notify(entry);
}

static void on_fetch_fail(struct kd_fetch *fetch, enum kd_fetch_error error, const char *message)
{
    struct kd_cache_entry *entry = entry_of(fetch);

    if (!finish_fetch(entry))
        return;
    observe_fetch(entry,
                  error == KD_FETCH_NOT_FOUND ? KD_CACHE_FETCH_NOT_FOUND : KD_CACHE_FETCH_ERROR);
    if (error != KD_FETCH_NOT_FOUND)
        error = KD_FETCH_FAILED;
    fetch_failed(entry, error, message);
}

static void on_timeout(struct kd_cache_entry *entry)
{
    struct kd_instance *src = entry->route->source;
    char message[64];

    if (!finish_fetch(entry))
        return;
    kd_instance_cancel(src, &entry->fetch);
    observe_fetch(entry, KD_CACHE_FETCH_TIMEOUT);
    snprintf(message, sizeof(message), "timed out after %" PRId64 " ms",
             entry->route->timing.timeout_ms);
    fetch_failed(entry, KD_FETCH_FAILED, message);
}

void kd_forecast_cache_fetch_start(struct kd_cache_entry *entry)
{
    struct kd_instance *src = entry->route->source;
    int64_t timeout_ms = entry->route->timing.timeout_ms;

    if (entry->in_flight || entry->cache->draining)
        return;
    evtimer_del(kd_forecast_cache_entry_timer(entry));
    entry->refresh_due_mono_ms = 0;
    entry->fetch = (struct kd_fetch){.on_done = on_fetch_done, .on_fail = on_fetch_fail};
    entry->in_flight = true;
    entry->cache->stats.fetches++;
    clock_gettime(CLOCK_MONOTONIC, &entry->fetch_started);

    /* The source may complete (and so clear in_flight) before fetch() returns. */
    int r = kd_instance_fetch(src, &entry->fetch, entry->workload);
    if (r < 0) {
        if (!finish_fetch(entry))
            return;
        char message[128];
        observe_fetch(entry, KD_CACHE_FETCH_ERROR);
        snprintf(message, sizeof(message), "the source could not start a fetch: %s", strerror(-r));
        fetch_failed(entry, KD_FETCH_FAILED, message);
        return;
    }
    if (entry->in_flight) {
        struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
        evtimer_add(kd_forecast_cache_entry_timer(entry), &tv);
    }
}

static void on_refresh(struct kd_cache_entry *entry)
{
    const struct kd_source_timing *t = &entry->route->timing;
    int64_t now = kd_time_mono_ms();

    entry->refresh_due_mono_ms = 0;
    if (!kd_list_empty(&entry->subscribers)) {
        entry->last_asked_mono_ms = now;
    } else {
        int64_t unasked = now - entry->last_asked_mono_ms;
        if (kd_forecast_cache_entry_unknown(entry)) {
            kd_forecast_cache_evict(entry, KD_CACHE_EVICT_NOT_FOUND);
            return;
        }
        if (unasked >= t->idle_evict_ms) {
            kd_forecast_cache_evict(entry, KD_CACHE_EVICT_IDLE);
            return;
        }
        /* Nobody asked for two refresh periods: keep the data, stop fetching, and wake only
         * to evict. The next ask refreshes it at once (entry_get). */
        if (unasked > 2 * t->refresh_ms) {
            entry->idle = true;
            kd_forecast_cache_fetch_schedule(entry, t->idle_evict_ms - unasked);
            entry->refresh_due_mono_ms = 0;
            return;
        }
    }
    /* The periodic tick lets subscribers notice that a forecast went stale. */
    if (kd_forecast_cache_entry_known(entry))
        kd_forecast_cache_notify_subscribers(entry);
    kd_forecast_cache_fetch_start(entry);
}

/* The entry's one timer: the fetch's timeout while one runs, else the refresh (or retry). */
void kd_forecast_cache_fetch_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct kd_cache_entry *entry = arg;

    (void)fd;
    (void)what;
    if (entry->in_flight)
        on_timeout(entry);
    else
        on_refresh(entry);
}

void kd_forecast_cache_fetch_cancel(struct kd_cache_entry *entry)
{
    if (finish_fetch(entry))
        kd_instance_cancel(entry->route->source, &entry->fetch);
}
