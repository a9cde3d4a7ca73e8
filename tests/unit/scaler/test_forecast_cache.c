/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scaler/forecast_cache on a real event_base with a fake source: single flight, synchronous
 * and asynchronous completion, timeout and cancel, stale-while-revalidate, backoff, refresh,
 * idle eviction, waiter cancellation, subscribers, drain, and carrying entries into a new
 * cache on reload.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "fake_plugins.h"
#include "scaler/forecast_cache.h"
#include "scaler/routes.h"
#include "util/log.h"
#include "util/time.h"

/* Generous, only a hang guard: tests assert what happened, never how fast. */
#define HANG_GUARD_MS 10000

struct fixture {
    struct event_base *base;
    struct fake_source fs;
    struct fake_policy fp;
    struct kd_instance *src, *pol;
    struct kd_routes routes;
    struct kd_forecast_cache *cache;
};

static int setup_with(void **state, struct kd_source_timing timing)
{
    struct fixture *f = calloc(1, sizeof(*f));
    int64_t replicas[] = {2, 5, 3};

    f->base = event_base_new();
    f->fp.lookahead_ms = 300000;
    f->src = fake_instance("fake", &fake_source_plugin, &f->fs, f->base);
    f->pol = fake_instance("max", &fake_policy_plugin, &f->fp, f->base);
    fake_source_set(&f->fs, kd_time_now_ms(), 60, replicas, 3);
    kd_routes_init(&f->routes);
    assert_int_equal(kd_routes_add(&f->routes, "w*", f->src, f->pol, &timing, -1, -1), 0);
    assert_int_equal(kd_forecast_cache_create(f->base, &f->routes, &f->cache), 0);
    *state = f;
    return 0;
}

/* Long periods: nothing fires on its own during a test. */
static int setup(void **state)
{
    return setup_with(state, (struct kd_source_timing){600000, 600000, 6000000});
}

/* Short periods for the timer-driven tests. */
static int setup_fast(void **state)
{
    return setup_with(state, (struct kd_source_timing){20, 20, 6000000});
}

static int setup_evict(void **state)
{
    return setup_with(state, (struct kd_source_timing){10, 1000, 30});
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    kd_forecast_cache_destroy(f->cache);
    kd_routes_fini(&f->routes);
    kd_instance_destroy(f->src);
    kd_instance_destroy(f->pol);
    event_base_free(f->base);
    free(f);
    return 0;
}

struct probe {
    struct kd_cache_waiter waiter;
    int calls;
    bool shutdown;
    const struct kd_forecast *forecast;
    enum kd_fetch_error error;
    char message[256];
};

static void probe_ready(struct kd_cache_waiter *waiter, const struct kd_cache_view *view)
{
    struct probe *p = (struct probe *)(void *)waiter;

    p->calls++;
    p->shutdown = view == NULL;
    if (view) {
        p->forecast = view->forecast;
        p->error = view->error;
        snprintf(p->message, sizeof(p->message), "%s", view->error_message);
        assert_null(waiter->entry); /* unlinked before the call */
    }
}

/* Run the loop until pred(f) holds; fail if it never does. */
static void run_until(struct fixture *f, bool (*pred)(struct fixture *f))
{
    int64_t give_up = kd_time_mono_ms() + HANG_GUARD_MS;
    struct timeval tick = {0, 2000};

    while (!pred(f)) {
        assert_true(kd_time_mono_ms() < give_up);
        event_base_loopexit(f->base, &tick);
        event_base_dispatch(f->base);
    }
}

static int ask(struct fixture *f, const char *workload, struct probe *p)
{
    struct kd_cache_view view;
    struct kd_cache_entry *entry;
    int r = kd_forecast_cache_lookup(f->cache, workload, kd_time_mono_ms(), &view, &entry);

    if (r == -EINPROGRESS) {
        p->waiter.on_ready = probe_ready;
        kd_forecast_cache_wait(entry, &p->waiter);
    } else if (r == 0) {
        p->calls++;
        p->forecast = view.forecast;
        p->error = view.error;
        snprintf(p->message, sizeof(p->message), "%s", view.error_message);
    }
    return r;
}

static void test_single_flight(void **state)
{
    struct fixture *f = *state;
    struct probe p[5] = {0};

    f->fs.mode = FAKE_ASYNC;
    for (int i = 0; i < 5; i++)
        assert_int_equal(ask(f, "web", &p[i]), -EINPROGRESS);
    assert_int_equal(f->fs.fetches, 1);
    assert_string_equal(f->fs.last_workload, "web");
    fake_source_complete(&f->fs);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(p[i].calls, 1);
        assert_non_null(p[i].forecast);
        assert_int_equal(p[i].forecast->n_desired_replicas, 3);
        assert_int_equal(p[i].forecast->desired_replicas[1], 5);
        assert_string_equal(p[i].forecast->metric, "rps");
    }
    /* Warm now: answered at once, from memory, no new fetch. */
    struct probe q = {0};
    assert_int_equal(ask(f, "web", &q), 0);
    assert_non_null(q.forecast);
    assert_int_equal(f->fs.fetches, 1);

    struct kd_forecast_cache_stats st;
    kd_forecast_cache_stats(f->cache, &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.fetches, 1);
}

static void test_no_route(void **state)
{
    struct fixture *f = *state;
    struct probe p = {0};

    assert_int_equal(ask(f, "other", &p), -ENOENT);
    assert_int_equal(f->fs.fetches, 0);
}

static void test_sync_source(void **state)
{
    struct fixture *f = *state;
    struct probe p = {0};

    f->fs.mode = FAKE_SYNC_DONE;
    assert_int_equal(ask(f, "w1", &p), 0);
    assert_int_equal(p.calls, 1);
    assert_non_null(p.forecast);
    assert_int_equal(p.error, 0);
    assert_int_equal(f->fs.fetches, 1);
    /* The copy is deep: the source's buffer may change afterwards. */
    f->fs.replicas[1] = 99;
    assert_int_equal(p.forecast->desired_replicas[1], 5);
}

static void test_sync_failure_and_not_found(void **state)
{
    struct fixture *f = *state;
    struct probe p = {0}, q = {0};

    f->fs.mode = FAKE_SYNC_FAIL;
    f->fs.fail_error = KD_FETCH_NOT_FOUND;
    f->fs.fail_message = "forecaster has no workload \"w2\"";
    assert_int_equal(ask(f, "w2", &p), 0);
    assert_null(p.forecast);
    assert_int_equal(p.error, KD_FETCH_NOT_FOUND);
    assert_string_equal(p.message, "forecaster has no workload \"w2\"");

    f->fs.fail_error = KD_FETCH_FAILED;
    f->fs.fail_message = "connection refused";
    assert_int_equal(ask(f, "w3", &q), 0);
    assert_int_equal(q.error, KD_FETCH_FAILED);
    assert_string_equal(q.message, "connection refused");
}

static void test_start_error(void **state)
{
    struct fixture *f = *state;
    struct probe p = {0};

    f->fs.mode = FAKE_START_ERROR;
    assert_int_equal(ask(f, "w", &p), 0);
    assert_int_equal(p.error, KD_FETCH_FAILED);
    assert_string_equal(p.message, "the source could not start a fetch: Input/output error");
}

static void complete_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fake_source_complete(arg);
}

static struct probe *async_probe;
static bool probe_called(struct fixture *f)
{
    (void)f;
    return async_probe->calls > 0;
}

static void test_async_completion_from_loop(void **state)
{
    struct fixture *f = *state;
    struct probe p = {0};
    struct timeval soon = {0, 1000};

    f->fs.mode = FAKE_ASYNC;
    assert_int_equal(ask(f, "w", &p), -EINPROGRESS);
    struct event *ev = evtimer_new(f->base, complete_cb, &f->fs);
    evtimer_add(ev, &soon);
    async_probe = &p;
    run_until(f, probe_called);
    event_free(ev);
    assert_int_equal(p.calls, 1);
    assert_non_null(p.forecast);
    assert_int_equal(f->fs.cancels, 0);
}

static void test_timeout_cancels(void **state)
{
    struct fixture *f = *state;
    struct probe p = {0}, q = {0};

    f->fs.mode = FAKE_ASYNC;
    assert_int_equal(ask(f, "w", &p), -EINPROGRESS);
    async_probe = &p;
    run_until(f, probe_called);
    assert_int_equal(f->fs.cancels, 1);
    assert_null(f->fs.pending);
    assert_null(p.forecast);
    assert_int_equal(p.error, KD_FETCH_FAILED);
    assert_string_equal(p.message, "timed out after 20 ms");

    /* Not cold any more: the next caller gets the error at once, no waiting. */
    assert_int_equal(ask(f, "w", &q), 0);
    assert_string_equal(q.message, "timed out after 20 ms");
}

static void test_waiter_cancel(void **state)
{
    struct fixture *f = *state;
    struct probe a = {0}, b = {0}, c = {0};

    f->fs.mode = FAKE_ASYNC;
    assert_int_equal(ask(f, "w", &a), -EINPROGRESS);
    assert_int_equal(ask(f, "w", &b), -EINPROGRESS);
    assert_int_equal(ask(f, "w", &c), -EINPROGRESS);
    kd_forecast_cache_cancel_wait(&b.waiter);
    kd_forecast_cache_cancel_wait(&b.waiter); /* twice is harmless */
    kd_forecast_cache_cancel_wait(&a.waiter);
    fake_source_complete(&f->fs);
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 0);
    assert_int_equal(c.calls, 1);
}

struct counter {
    struct kd_cache_subscriber sub;
    int updates;
    int with_error;
    bool had_forecast;
    bool unsubscribe_self;
};

static void counter_update(struct kd_cache_subscriber *sub, const struct kd_cache_view *view)
{
    struct counter *c = (struct counter *)(void *)sub;

    c->updates++;
    if (view->error)
        c->with_error++;
    c->had_forecast = view->forecast != NULL;
    if (c->unsubscribe_self)
        kd_forecast_cache_unsubscribe(sub);
}

/* Keep "w" asked about, as KEDA's polling does, until it was fetched three times. */
static bool three_fetches(struct fixture *f)
{
    struct kd_cache_view view;
    struct kd_cache_entry *entry;

    kd_forecast_cache_lookup(f->cache, "w", kd_time_mono_ms(), &view, &entry);
    return f->fs.fetches >= 3;
}

static void test_refresh_while_asked(void **state)
{
    struct fixture *f = *state;
    struct probe p = {0};

    f->fs.mode = FAKE_SYNC_DONE;
    assert_int_equal(ask(f, "w", &p), 0);
    run_until(f, three_fetches);
    assert_int_equal(f->fs.cancels, 0);
}

static int fail_after;
static int fetch_fail_later(void *state, struct kd_fetch *fetch, const char *workload)
{
    struct fake_source *fs = state;

    if (fs->fetches >= fail_after) {
        fs->fetches++;
        kd_plugin_host_services()->fetch_fail(fetch, KD_FETCH_FAILED, "HTTP 500 from forecaster");
        return 0;
    }
    return fake_source_fetch_default(state, fetch, workload);
}

static void test_failure_keeps_last_good_and_backs_off(void **state)
{
    struct fixture *f = *state;
    struct probe p = {0}, q = {0};
    f->fs.fetch_override = fetch_fail_later;
    fail_after = 1;
    f->fs.mode = FAKE_SYNC_DONE;

    assert_int_equal(ask(f, "w", &p), 0);
    assert_non_null(p.forecast);
    int64_t generated = p.forecast->generated_at_ms;
    /* Refreshes now fail; retries continue (backoff capped at refresh) and the last good
     * forecast is still served, with the error beside it. */
    run_until(f, three_fetches);
    assert_int_equal(ask(f, "w", &q), 0);
    assert_non_null(q.forecast);
    assert_int_equal(q.forecast->generated_at_ms, generated);
    assert_int_equal(q.error, KD_FETCH_FAILED);
    assert_string_equal(q.message, "HTTP 500 from forecaster");

    struct kd_forecast_cache_stats st;
    kd_forecast_cache_stats(f->cache, &st);
    assert_true(st.failures >= 2);

    /* Recovery clears the error. */
    fail_after = 1000;
    int before = f->fs.fetches;
    while (f->fs.fetches == before) {
        struct timeval tick = {0, 2000};
        event_base_loopexit(f->base, &tick);
        event_base_dispatch(f->base);
    }
    struct probe r = {0};
    assert_int_equal(ask(f, "w", &r), 0);
    assert_int_equal(r.error, 0);
    assert_string_equal(r.message, "");
}

static void test_backoff_bounds(void **state)
{
    (void)state;
    /* Exponential from 1 s with jitter in [d/2, d], capped at refresh. */
    assert_int_equal(kd_forecast_cache_backoff_ms(1, 10000, 0), 500);
    assert_int_equal(kd_forecast_cache_backoff_ms(1, 10000, 500), 1000);
    assert_int_equal(kd_forecast_cache_backoff_ms(2, 10000, 0), 1000);
    assert_int_equal(kd_forecast_cache_backoff_ms(3, 10000, 0), 2000);
    assert_int_equal(kd_forecast_cache_backoff_ms(4, 10000, 2000), 6000);
    assert_int_equal(kd_forecast_cache_backoff_ms(5, 10000, 0), 5000);
    assert_int_equal(kd_forecast_cache_backoff_ms(60, 10000, 5000), 10000);
    assert_int_equal(kd_forecast_cache_backoff_ms(4000000000u, 10000, 3), 5003);
    for (uint64_t rnd = 0; rnd < 5000; rnd += 7) {
        int64_t d = kd_forecast_cache_backoff_ms(3, 10000, rnd * 2654435761u);
        assert_true(d >= 2000 && d <= 4000);
    }
    /* refresh shorter than the base: the cap wins */
    assert_int_equal(kd_forecast_cache_backoff_ms(1, 20, 0), 10);
    assert_int_equal(kd_forecast_cache_backoff_ms(1, 20, 10), 20);
    assert_int_equal(kd_forecast_cache_backoff_ms(1, 1, 0), 0);
}

static bool evicted(struct fixture *f)
{
    struct kd_forecast_cache_stats st;
    kd_forecast_cache_stats(f->cache, &st);
    return st.evictions == 1;
}

static void test_idle_eviction(void **state)
{
    struct fixture *f = *state;
    struct probe p = {0}, q = {0};

    f->fs.mode = FAKE_SYNC_DONE;
    assert_int_equal(ask(f, "w", &p), 0);
    run_until(f, evicted);
    struct kd_forecast_cache_stats st;
    kd_forecast_cache_stats(f->cache, &st);
    assert_int_equal(st.entries, 0);
    int before = f->fs.fetches;
    assert_int_equal(ask(f, "w", &q), 0); /* a new entry, fetched again */
    assert_int_equal(f->fs.fetches, before + 1);
}

static bool five_fetches(struct fixture *f)
{
    return f->fs.fetches >= 5;
}

static void test_subscriber_keeps_entry_and_sees_updates(void **state)
{
    struct fixture *f = *state;
    struct counter c = {.sub.on_update = counter_update};
    struct counter d = {.sub.on_update = counter_update, .unsubscribe_self = true};
    struct kd_cache_view view;

    f->fs.mode = FAKE_ASYNC;
    assert_int_equal(kd_forecast_cache_subscribe(f->cache, "w", &c.sub, &view), -EINPROGRESS);
    assert_int_equal(kd_forecast_cache_subscribe(f->cache, "w", &d.sub, &view), -EINPROGRESS);
    assert_int_equal(f->fs.fetches, 1);
    fake_source_complete(&f->fs);
    assert_int_equal(c.updates, 1);
    assert_true(c.had_forecast);
    assert_int_equal(d.updates, 1);
    assert_null(d.sub.entry);

    /* idle_evict is 30 ms but the subscriber keeps the entry alive across refreshes. */
    f->fs.mode = FAKE_SYNC_DONE;
    run_until(f, five_fetches);
    struct kd_forecast_cache_stats st;
    kd_forecast_cache_stats(f->cache, &st);
    assert_int_equal(st.evictions, 0);
    assert_true(c.updates >= 4);
    assert_int_equal(d.updates, 1);
    kd_forecast_cache_unsubscribe(&c.sub);
    kd_forecast_cache_unsubscribe(&c.sub);
    run_until(f, evicted);
}

static void test_drain(void **state)
{
    struct fixture *f = *state;
    struct probe p = {0}, q = {0};

    f->fs.mode = FAKE_ASYNC;
    assert_int_equal(ask(f, "w", &p), -EINPROGRESS);
    kd_forecast_cache_drain(f->cache);
    assert_int_equal(p.calls, 1);
    assert_true(p.shutdown);
    assert_int_equal(f->fs.cancels, 1);
    assert_null(f->fs.pending);
    assert_int_equal(ask(f, "w", &q), -ESHUTDOWN);
}

static void test_destroy_cancels_in_flight(void **state)
{
    struct fixture *f = *state;
    struct probe p = {0};

    f->fs.mode = FAKE_ASYNC;
    assert_int_equal(ask(f, "w", &p), -EINPROGRESS);
    kd_forecast_cache_destroy(f->cache);
    f->cache = NULL;
    assert_int_equal(f->fs.cancels, 1);
    assert_int_equal(p.calls, 0);
}

static void test_late_completion_ignored(void **state)
{
    struct fixture *f = *state;
    struct probe p = {0};

    f->fs.mode = FAKE_ASYNC;
    assert_int_equal(ask(f, "w", &p), -EINPROGRESS);
    struct kd_fetch *fetch = f->fs.pending;
    fake_source_complete(&f->fs);
    assert_int_equal(p.calls, 1);
    /* A buggy source completing twice must not disturb the entry. */
    kd_plugin_host_services()->fetch_fail(fetch, KD_FETCH_FAILED, "late");
    struct probe q = {0};
    assert_int_equal(ask(f, "w", &q), 0);
    assert_int_equal(q.error, 0);
}

/* Reload: what one cache knew is carried into the next without a fetch, as a deep copy. */
static void test_seed_carries_entries(void **state)
{
    struct fixture *f = *state;
    struct kd_forecast_cache *next;
    struct kd_cache_view view;
    struct probe p = {0}, q = {0}, r = {0}, s = {0};
    size_t pos = 0, n = 0;

    f->fs.mode = FAKE_SYNC_DONE;
    assert_int_equal(ask(f, "w1", &p), 0);
    f->fs.mode = FAKE_SYNC_FAIL;
    f->fs.fail_error = KD_FETCH_NOT_FOUND;
    f->fs.fail_message = "forecaster has no workload \"w2\"";
    assert_int_equal(ask(f, "w2", &p), 0);
    f->fs.mode = FAKE_ASYNC;
    assert_int_equal(ask(f, "w3", &p), -EINPROGRESS); /* cold: nothing to carry */
    assert_int_equal(f->fs.fetches, 3);

    assert_int_equal(kd_forecast_cache_create(f->base, &f->routes, &next), 0);
    while (kd_forecast_cache_next(f->cache, &pos, &view)) {
        n++;
        assert_int_equal(kd_forecast_cache_seed(next, &view), 0);
        assert_int_equal(kd_forecast_cache_seed(next, &view), -EEXIST);
    }
    assert_int_equal(n, 2);
    struct kd_forecast_cache_stats st;
    kd_forecast_cache_stats(next, &st);
    assert_int_equal(st.entries, 2);
    assert_int_equal(st.fetches, 0);

    /* Gone with the old cache: the new one holds its own copies. */
    fake_source_complete(&f->fs);
    kd_forecast_cache_destroy(f->cache);
    f->cache = next;
    int64_t fetches = f->fs.fetches;

    assert_int_equal(ask(f, "w1", &q), 0);
    assert_non_null(q.forecast);
    assert_int_equal(q.error, 0);
    assert_int_equal(q.forecast->n_desired_replicas, 3);
    assert_int_equal(q.forecast->desired_replicas[1], 5);
    assert_string_equal(q.forecast->metric, "rps");
    assert_int_equal(ask(f, "w2", &r), 0);
    assert_null(r.forecast);
    assert_int_equal(r.error, KD_FETCH_NOT_FOUND);
    assert_string_equal(r.message, "forecaster has no workload \"w2\"");
    assert_int_equal(f->fs.fetches, fetches);
    assert_int_equal(ask(f, "w3", &s), -EINPROGRESS); /* was cold: fetches from scratch */
    assert_int_equal(f->fs.fetches, fetches + 1);
    fake_source_complete(&f->fs);
    assert_int_equal(s.calls, 1);
}

static void test_seed_errors(void **state)
{
    struct fixture *f = *state;
    struct kd_forecast forecast = f->fs.forecast;
    struct kd_cache_view view = {
        .workload = "other", .forecast = &forecast, .fetched_at_ms = kd_time_now_ms()};

    assert_int_equal(kd_forecast_cache_seed(f->cache, &view), -ENOENT);
    view.workload = "w";
    view.forecast = NULL;
    assert_int_equal(kd_forecast_cache_seed(f->cache, &view), -EINVAL);
    struct probe p = {0};
    f->fs.mode = FAKE_ASYNC;
    assert_int_equal(ask(f, "w", &p), -EINPROGRESS);
    view.forecast = &forecast;
    assert_int_equal(kd_forecast_cache_seed(f->cache, &view), -EEXIST);
    kd_forecast_cache_drain(f->cache);
    view.workload = "w9";
    assert_int_equal(kd_forecast_cache_seed(f->cache, &view), -ESHUTDOWN);
    assert_int_equal(f->fs.fetches, 1);
}

static bool one_fetch(struct fixture *f)
{
    return f->fs.fetches >= 1;
}

/* A carried forecast whose refresh was already due is refreshed from the loop, not waited
 * for by a caller; a carried error is retried after the backoff. */
static void test_seed_refreshes_when_due(void **state)
{
    struct fixture *f = *state;
    struct kd_forecast forecast = f->fs.forecast;
    struct kd_cache_view view = {
        .workload = "w1", .forecast = &forecast, .fetched_at_ms = kd_time_now_ms() - 3600 * 1000};
    struct probe p = {0};

    f->fs.mode = FAKE_SYNC_DONE;
    assert_int_equal(kd_forecast_cache_seed(f->cache, &view), 0);
    assert_int_equal(f->fs.fetches, 0);
    assert_int_equal(ask(f, "w1", &p), 0); /* answered from the carried forecast */
    run_until(f, one_fetch);

    struct kd_cache_view failed = {
        .workload = "w2", .error = KD_FETCH_FAILED, .error_message = "connection refused"};
    int before = f->fs.fetches;
    assert_int_equal(kd_forecast_cache_seed(f->cache, &failed), 0);
    assert_int_equal(f->fs.fetches, before);
    struct probe q = {0};
    assert_int_equal(ask(f, "w2", &q), 0); /* answered with the carried error */
    assert_int_equal(q.error, KD_FETCH_FAILED);
    assert_string_equal(q.message, "connection refused");
    int64_t give_up = kd_time_mono_ms() + HANG_GUARD_MS;
    while (q.error != 0) { /* the retry succeeds */
        struct timeval tick = {0, 2000};
        assert_true(kd_time_mono_ms() < give_up);
        event_base_loopexit(f->base, &tick);
        event_base_dispatch(f->base);
        assert_int_equal(ask(f, "w2", &q), 0);
    }
}

/* 60 steps of a forecaster's two-decimal values: each entry costs well under the 960 bytes a
 * workload may take for 100,000 of them in 96 MB (hash map and allocator overhead are ~60 more),
 * and comes back bit for bit; a pinned view keeps its own forecast past later lookups. */
static void test_sixty_steps_memory_and_pin(void **state)
{
    struct fixture *f = *state;
    double values[60];
    int64_t replicas[60];
    struct kd_cache_view a, b, pinned;
    struct kd_cache_entry *entry;

    for (int i = 0; i < 60; i++) {
        values[i] = (double)(1000 + 37 * i) / 100.0;
        replicas[i] = 1 + i / 10;
    }
    struct kd_forecast forecast = {KD_FORECAST_INIT, "", "http_rps", kd_time_now_ms(), 60, 3600, 60,
                                   values,           60, replicas};
    struct kd_cache_view from = {
        .workload = "w-1", .forecast = &forecast, .fetched_at_ms = kd_time_now_ms()};
    assert_int_equal(kd_forecast_cache_seed(f->cache, &from), 0);
    values[0] = 99.5; /* a second workload, another forecast */
    replicas[0] = 300;
    from.workload = "w-2";
    assert_int_equal(kd_forecast_cache_seed(f->cache, &from), 0);

    assert_int_equal(kd_forecast_cache_lookup(f->cache, "w-1", kd_time_mono_ms(), &a, &entry), 0);
    pinned = a;
    assert_int_equal(kd_forecast_cache_pin(f->cache, &pinned), 0);
    assert_true(kd_forecast_cache_entry_bytes(&a) < 900);
    assert_int_equal(kd_forecast_cache_lookup(f->cache, "w-2", kd_time_mono_ms(), &b, &entry), 0);
    assert_int_equal(b.forecast->n_values, 60);
    assert_memory_equal(b.forecast->values, values, sizeof(values));
    assert_memory_equal(b.forecast->desired_replicas, replicas, sizeof(replicas));
    values[0] = 10.0;
    replicas[0] = 1;
    assert_memory_equal(pinned.forecast->values, values, sizeof(values));
    assert_memory_equal(pinned.forecast->desired_replicas, replicas, sizeof(replicas));
    assert_string_equal(pinned.forecast->metric, "http_rps");
    assert_int_equal(pinned.answers[KD_ANSWER_METRICS].window_first, -1);
    event_base_loop(f->base, EVLOOP_NONBLOCK); /* releases the pinned copy */
}

static struct kd_cache_view last_view;

static bool idle(struct fixture *f)
{
    size_t pos = 0;

    while (kd_forecast_cache_next(f->cache, &pos, &last_view)) {
        if (last_view.idle)
            return true;
    }
    return false;
}

/* Nobody asks for 2 x refresh: the entry stops fetching and keeps its data. */
static void test_idle_stops_refresh(void **state)
{
    struct fixture *f = *state;
    struct probe p = {0}, q = {0};

    f->fs.mode = FAKE_SYNC_DONE;
    assert_int_equal(ask(f, "w", &p), 0);
    run_until(f, idle);
    assert_non_null(last_view.forecast);
    assert_int_equal(last_view.refresh_due_mono_ms, 0); /* its timer only evicts */
    int fetches = f->fs.fetches;
    /* 25 refresh periods of 20 ms later: not one fetch more */
    for (int i = 0; i < 25; i++) {
        struct timeval tick = {0, 20000};
        event_base_loopexit(f->base, &tick);
        event_base_dispatch(f->base);
    }
    assert_int_equal(f->fs.fetches, fetches);
    /* asked again: answered from the kept data, and refreshed at once */
    assert_int_equal(ask(f, "w", &q), 0);
    assert_non_null(q.forecast);
    assert_int_equal(f->fs.fetches, fetches + 1);
    assert_false(idle(f));
}

static bool gone(struct fixture *f)
{
    struct kd_forecast_cache_stats st;

    kd_forecast_cache_stats(f->cache, &st);
    return st.entries == 0;
}

/* An unknown workload is remembered for one refresh period, never refetched meanwhile. */
static void test_not_found_not_refreshed(void **state)
{
    struct fixture *f = *state;
    struct probe p = {0}, q = {0};

    f->fs.mode = FAKE_SYNC_FAIL;
    f->fs.fail_error = KD_FETCH_NOT_FOUND;
    f->fs.fail_message = "no such workload";
    for (int i = 0; i < 100; i++)
        assert_int_equal(ask(f, "w-ghost", &p), 0);
    assert_int_equal(f->fs.fetches, 1); /* remembered: 100 asks, one fetch */
    assert_int_equal(p.error, KD_FETCH_NOT_FOUND);
    run_until(f, gone);
    assert_int_equal(f->fs.fetches, 1);
    struct kd_forecast_cache_stats st;
    kd_forecast_cache_stats(f->cache, &st);
    assert_int_equal(st.evictions_by[KD_CACHE_EVICT_NOT_FOUND], 1);
    assert_int_equal(ask(f, "w-ghost", &q), 0); /* asked again later: one new fetch */
    assert_int_equal(f->fs.fetches, 2);
}

static int evicted_count;
static char evicted_name[64];
static enum kd_cache_evict_reason evicted_reason;

static void on_evict_note(void *arg, const char *workload, enum kd_cache_evict_reason reason)
{
    (void)arg;
    evicted_count++;
    evicted_reason = reason;
    snprintf(evicted_name, sizeof(evicted_name), "%s", workload);
}

/* max_entries: the least recently asked entry makes room; one in use is never dropped. */
static void test_max_entries_lru(void **state)
{
    struct fixture *f = *state;
    struct probe p = {0};
    struct kd_cache_observer obs = {.on_evict = on_evict_note};
    struct kd_cache_subscriber sub = {.on_update = NULL};
    struct kd_cache_view view;

    evicted_count = 0;
    kd_forecast_cache_set_observer(f->cache, &obs);
    kd_forecast_cache_set_max_entries(f->cache, 3);
    f->fs.mode = FAKE_SYNC_DONE;
    assert_int_equal(ask(f, "w1", &p), 0);
    assert_int_equal(ask(f, "w2", &p), 0);
    assert_int_equal(ask(f, "w3", &p), 0);
    assert_int_equal(ask(f, "w1", &p), 0); /* w2 is now the least recently asked */
    assert_int_equal(ask(f, "w4", &p), 0);
    assert_int_equal(evicted_count, 1);
    assert_string_equal(evicted_name, "w2");
    assert_int_equal(evicted_reason, KD_CACHE_EVICT_CAPACITY);
    struct kd_forecast_cache_stats st;
    kd_forecast_cache_stats(f->cache, &st);
    assert_int_equal(st.entries, 3);
    assert_int_equal(st.evictions_by[KD_CACHE_EVICT_CAPACITY], 1);

    /* a subscribed entry is skipped even when it is the oldest */
    sub.on_update = NULL;
    assert_int_equal(kd_forecast_cache_subscribe(f->cache, "w3", &sub, &view), 0);
    assert_int_equal(ask(f, "w1", &p), 0);
    assert_int_equal(ask(f, "w4", &p), 0); /* order now: w4, w1, w3(subscribed) */
    assert_int_equal(ask(f, "w5", &p), 0);
    assert_string_equal(evicted_name, "w1");
    /* every entry in use: refused, nothing dropped */
    f->fs.mode = FAKE_ASYNC;
    struct probe a = {0}, b = {0};
    assert_int_equal(ask(f, "w6", &a), -EINPROGRESS); /* drops w4, w6 waits */
    assert_int_equal(ask(f, "w7", &b), -EINPROGRESS); /* drops w5 */
    f->fs.pending = NULL;
    struct probe c = {0};
    assert_int_equal(ask(f, "w8", &c), -ENOSPC);
    kd_forecast_cache_unsubscribe(&sub);
    kd_forecast_cache_cancel_wait(&a.waiter);
    kd_forecast_cache_cancel_wait(&b.waiter);
}

/* A forecast naming another workload, or generated beyond clock skew in the future. */
static void test_rejected_forecasts(void **state)
{
    struct fixture *f = *state;
    struct probe p = {0}, q = {0}, r = {0};

    f->fs.mode = FAKE_SYNC_DONE;
    f->fs.claim_workload = "demo-api";
    assert_int_equal(ask(f, "w-evil", &p), 0);
    assert_null(p.forecast);
    assert_int_equal(p.error, KD_FETCH_FAILED);
    assert_string_equal(p.message,
                        "rejected a forecast for workload \"demo-api\" (asked for \"w-evil\")");
    f->fs.claim_workload = NULL;
    f->fs.forecast.generated_at_ms = kd_time_now_ms() + 3600 * 1000;
    assert_int_equal(ask(f, "w-future", &q), 0);
    assert_null(q.forecast);
    assert_non_null(strstr(q.message, "rejected a forecast generated "));
    assert_non_null(strstr(q.message, "in the future (clock skew allowance 5m)"));
    /* within the allowance it is accepted */
    f->fs.forecast.generated_at_ms = kd_time_now_ms() + 60 * 1000;
    assert_int_equal(ask(f, "w-skew", &r), 0);
    assert_non_null(r.forecast);
}

int main(void)
{
    kd_log_setup(KD_LOG_ERROR, KD_LOG_TEXT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_route, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_failure_and_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_completion_from_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_cancels, setup_fast, teardown),
        cmocka_unit_test_setup_teardown(test_waiter_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_while_asked, setup_fast, teardown),
        cmocka_unit_test_setup_teardown(test_failure_keeps_last_good_and_backs_off, setup_fast,
                                        teardown),
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test_setup_teardown(test_idle_eviction, setup_evict, teardown),
        cmocka_unit_test_setup_teardown(test_subscriber_keeps_entry_and_sees_updates, setup_evict,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_cancels_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_completion_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sixty_steps_memory_and_pin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_stops_refresh, setup_fast, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_not_refreshed, setup_fast, teardown),
        cmocka_unit_test_setup_teardown(test_max_entries_lru, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_forecasts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_carries_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_refreshes_when_due, setup_fast, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
