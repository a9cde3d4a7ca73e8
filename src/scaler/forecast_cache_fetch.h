/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fetch driver of the forecast cache: each entry's single fetch in flight and its one
 * timer, which is the fetch's timeout while one runs and otherwise the next refresh or retry
 * (or, for an idle entry, its eviction). Private to the cache (forecast_cache_entry.h).
 */
#ifndef KD_FORECAST_CACHE_FETCH_H
#define KD_FORECAST_CACHE_FETCH_H

#include <stdint.h>

#include <event2/util.h>

struct kd_cache_entry;

/* Start the entry's fetch unless one runs or the cache drains; the source may complete it
 * before this returns. */
void kd_forecast_cache_fetch_start(struct kd_cache_entry *entry);

/* Cancel the entry's fetch in flight, if any, without an outcome (drain, free). */
void kd_forecast_cache_fetch_cancel(struct kd_cache_entry *entry);

/* Arm the entry's timer for a refresh in `delay_ms` (negative: now). */
void kd_forecast_cache_fetch_schedule(struct kd_cache_entry *entry, int64_t delay_ms);

/* The entry's timer callback (evtimer_assign, `arg` the entry). */
void kd_forecast_cache_fetch_on_timer(evutil_socket_t fd, short what, void *arg);

#endif /* KD_FORECAST_CACHE_FETCH_H */
