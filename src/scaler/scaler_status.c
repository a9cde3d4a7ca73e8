/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Status snapshots (see scaler_status.h): one pass over the cache entries, sorted by name for
 * stable paging, and the answer GetMetrics would give now, computed by the same pure code
 * (external_scaler.c) the gRPC path uses, so the page never disagrees with KEDA.
 */
#include "scaler/scaler_status.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/settings.h"
#include "grpc/grpc_status.h"
#include "plugin/plugin_host.h"
#include "scaler/external_scaler.h"
#include "scaler/forecast_cache.h"
#include "scaler/routes.h"
#include "scaler/effective_settings.h"
#include "scaler/scaler.h"
#include "util/time.h"

const char *const kd_status_fetch_result_names[KD_STATUS_FETCH_COUNT] = {
    "success",
    "error",
    "not_found",
    "timeout",
};

/* ---- tracker ------------------------------------------------------------------------------ */

struct tracked_source {
    const struct kd_instance *instance;
    uint64_t fetches[KD_STATUS_FETCH_COUNT];
    bool failing;
    bool last_failed; /* the latest on_fetch was an error or timeout: keep its words */
    int64_t failing_since_ms;
    char last_error[256];
    char last_error_workload[128];
};

struct kd_status_tracker {
    struct tracked_source *sources;
    size_t n_sources;
    struct kd_cache_observer next;
};

int kd_status_tracker_create(struct kd_instance *const *sources, size_t n_sources,
                             struct kd_status_tracker **ret_tracker)
{
    struct kd_status_tracker *t = calloc(1, sizeof(*t));

    if (!t)
        return -ENOMEM;
    t->sources = calloc(n_sources ? n_sources : 1, sizeof(*t->sources));
    if (!t->sources) {
        free(t);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n_sources; i++)
        t->sources[i].instance = sources[i];
    t->n_sources = n_sources;
    *ret_tracker = t;
    return 0;
}

void kd_status_tracker_destroy(struct kd_status_tracker *tracker)
{
    if (!tracker)
        return;
    free(tracker->sources);
    free(tracker);
}

/* A handful of sources: a scan is cheaper than a map. */
static struct tracked_source *tracked(const struct kd_status_tracker *t, const char *name)
{
    for (size_t i = 0; i < t->n_sources; i++) {
        if (strcmp(kd_instance_name(t->sources[i].instance), name) == 0)
            return &t->sources[i];
    }
    return NULL;
}

void kd_status_tracker_adopt(struct kd_status_tracker *tracker, const struct kd_status_tracker *old,
                             const char *name)
{
    struct tracked_source *to = tracked(tracker, name);
    const struct tracked_source *from = tracked(old, name);

    if (!to || !from)
        return;
    const struct kd_instance *instance = to->instance;
    *to = *from;
    to->instance = instance;
}

static void on_fetch(void *arg, const char *source, enum kd_cache_fetch_result result,
                     double duration_s)
{
    struct kd_status_tracker *t = arg;
    struct tracked_source *s = tracked(t, source);

    if (s) {
        enum kd_status_fetch_result r = (enum kd_status_fetch_result)result;
        if (r < KD_STATUS_FETCH_COUNT)
            s->fetches[r]++;
        s->last_failed = result == KD_CACHE_FETCH_ERROR || result == KD_CACHE_FETCH_TIMEOUT;
        if (s->last_failed && !s->failing) {
            s->failing = true;
            s->failing_since_ms = kd_time_now_ms();
        } else if (!s->last_failed) {
            s->failing = false;
            s->failing_since_ms = 0;
        }
    }
    if (t->next.on_fetch)
        t->next.on_fetch(t->next.arg, source, result, duration_s);
}

static void on_fetch_error(void *arg, const char *source, const char *workload, const char *message)
{
    struct kd_status_tracker *t = arg;
    struct tracked_source *s = tracked(t, source);

    if (s && s->last_failed) {
        snprintf(s->last_error, sizeof(s->last_error), "%s", message);
        snprintf(s->last_error_workload, sizeof(s->last_error_workload), "%s", workload);
    }
    if (t->next.on_fetch_error)
        t->next.on_fetch_error(t->next.arg, source, workload, message);
}

static void on_evict(void *arg, const char *workload, enum kd_cache_evict_reason reason)
{
    struct kd_status_tracker *t = arg;

    if (t->next.on_evict)
        t->next.on_evict(t->next.arg, workload, reason);
}

void kd_status_tracker_observer(struct kd_status_tracker *tracker,
                                const struct kd_cache_observer *next,
                                struct kd_cache_observer *ret_observer)
{
    tracker->next = next ? *next : (struct kd_cache_observer){0};
    *ret_observer = (struct kd_cache_observer){
        .on_fetch = on_fetch,
        .on_evict = on_evict,
        .on_fetch_error = on_fetch_error,
        .arg = tracker,
    };
}

/* ---- daemon ------------------------------------------------------------------------------- */

static void add_limit(struct kd_status_daemon *d, const char *name, const char *suffix,
                      int64_t value)
{
    if (d->n_limits == KD_STATUS_MAX_LIMITS)
        return;
    snprintf(d->limits[d->n_limits].name, sizeof(d->limits[0].name), "%s%s", name, suffix);
    d->limits[d->n_limits++].value = value;
}

void kd_status_daemon_limits(const struct kd_config *config, struct kd_status_daemon *daemon)
{
    daemon->n_limits = 0;
    add_limit(daemon, "max_message_size", "", config->max_message_size);
    add_limit(daemon, "default_deadline", "_ms", config->default_deadline_ms);
    add_limit(daemon, "shutdown_timeout", "_ms", config->shutdown_timeout_ms);
    /* Every "limits.*" row of the settings table, so new limits show without an edit here. */
    for (size_t i = 0; i < kd_settings_count; i++) {
        const struct kd_setting *st = &kd_settings[i];
        if (strncmp(st->key, "limits.", 7) != 0)
            continue;
        if (st->type != KD_SETTING_INT && st->type != KD_SETTING_DURATION &&
            st->type != KD_SETTING_SIZE)
            continue;
        int64_t v;
        memcpy(&v, (const char *)config + st->offset, sizeof(v));
        add_limit(daemon, st->key + 7, st->type == KD_SETTING_DURATION ? "_ms" : "", v);
    }
}

/* ---- snapshot ----------------------------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
    const struct kd_cache_view *x = a, *y = b;
    return strcmp(x->workload, y->workload);
}

/*
 * The page: the `limit` first names in order, kept in a max-heap on the name while every
 * entry goes by, so a request costs O(entries x log limit) time and O(limit) memory however
 * many workloads are cached (sorting them all cost O(entries) memory per request).
 */
struct page {
    struct kd_cache_view *heap; /* [limit]; heap[0] is the greatest name kept */
    size_t n, limit;
    size_t n_candidates; /* offered, kept or not: more than n means another page */
};

static void page_sift_down(struct page *p, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, top = i;
        if (l < p->n && by_name(&p->heap[l], &p->heap[top]) > 0)
            top = l;
        if (r < p->n && by_name(&p->heap[r], &p->heap[top]) > 0)
            top = r;
        if (top == i)
            return;
        struct kd_cache_view t = p->heap[i];
        p->heap[i] = p->heap[top];
        p->heap[top] = t;
        i = top;
    }
}

static void page_offer(struct page *p, const struct kd_cache_view *view)
{
    p->n_candidates++;
    if (p->n < p->limit) {
        size_t i = p->n++;
        p->heap[i] = *view;
        while (i > 0 && by_name(&p->heap[(i - 1) / 2], &p->heap[i]) < 0) {
            struct kd_cache_view t = p->heap[i];
            p->heap[i] = p->heap[(i - 1) / 2];
            p->heap[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (p->n > 0 && by_name(view, &p->heap[0]) < 0) {
        p->heap[0] = *view;
        page_sift_down(p, 0);
    }
}

static void fill_source(const struct kd_scaler_parts *parts, size_t i, struct kd_status_source *s)
{
    const struct kd_instance *inst = parts->sources[i];
    const struct tracked_source *t = &parts->tracker->sources[i];

    *s = (struct kd_status_source){
        .name = kd_instance_name(inst),
        .plugin = kd_instance_plugin_name(inst),
        .failing = t->failing,
        .failing_since_ms = t->failing_since_ms,
        .last_error = t->last_error,
        .last_error_workload = t->last_error_workload,
    };
    memcpy(s->fetches, t->fetches, sizeof(s->fetches));
    for (size_t r = 0; r < parts->routes->n; r++) {
        const struct kd_route *route = &parts->routes->routes[r];
        if (route->source == inst) {
            s->refresh_ms = route->timing.refresh_ms;
            s->timeout_ms = route->timing.timeout_ms;
            s->idle_evict_ms = route->timing.idle_evict_ms;
            break;
        }
    }
}

static void count_entry(struct kd_status_snapshot *snap, const struct kd_cache_view *view)
{
    for (size_t i = 0; i < snap->n_sources; i++) {
        struct kd_status_source *s = &snap->sources[i];
        if (strcmp(s->name, kd_instance_name(view->route->source)) == 0) {
            s->workloads++;
            s->cached += view->forecast != NULL;
            s->in_flight += view->in_flight;
            return;
        }
    }
}

static const char *mode_name(enum kd_route_mode mode)
{
    return mode == KD_MODE_SHADOW ? "shadow" : "active";
}

static const char *activation_name(enum kd_activation activation)
{
    return activation == KD_ACTIVATION_DEMAND ? "demand" : "fresh";
}

static const char *on_stale_name(enum kd_on_stale on_stale)
{
    return on_stale == KD_ON_STALE_INACTIVE ? "inactive" : "error";
}

_Static_assert(KD_EFF_COUNT <= KD_STATUS_MAX_ORIGINS, "KD_STATUS_MAX_ORIGINS too small");

static void fill_settings(const struct kd_settings *settings, int64_t step_s,
                          struct kd_status_workload *w)
{
    w->policy = settings->policy ? kd_instance_name(settings->policy) : "";
    w->lead_time_ms = settings->lead_time_ms;
    w->stale_after_ms = kd_settings_stale_after_ms(settings, step_s);
    w->fallback_replicas = settings->fallback_replicas;
    w->mode = mode_name(settings->mode);
    w->activation = activation_name(settings->activation);
    w->on_stale = on_stale_name(settings->on_stale);
    w->activation_lead_ms = settings->activation_lead_ms;
    w->activation_threshold = settings->activation_threshold;
    w->n_origins = KD_EFF_COUNT;
    for (size_t i = 0; i < KD_EFF_COUNT; i++) {
        w->origins[i].setting = kd_effective_setting_names[i];
        w->origins[i].origin = kd_setting_origin_name(settings->origin[i]);
    }
}

/* The very answers GetMetrics and IsActive would give: same pure functions, same clock. */
static void fill_answer(const struct kd_cache_view *view, const struct kd_settings *settings,
                        const struct kd_settings *activity_settings, int64_t now_ms, char *message,
                        size_t message_len, struct kd_status_workload *w)
{
    struct kd_scaler_reply reply;
    struct kd_scaler_request request = {.method = KD_SCALER_GET_METRICS};
    char metric[] = "status";
    char *name = strdup(view->workload);

    kd_external_scaler_reply_init(&reply);
    if (!name) {
        reply.status = KD_GRPC_RESOURCE_EXHAUSTED;
        snprintf(reply.message, sizeof(reply.message), "out of memory");
    } else {
        request.workload = name;
        request.metric_name = metric;
        if (view->forecast || view->error)
            kd_external_scaler_answer_metrics(&request, view, settings, now_ms, &reply);
        else {
            reply.status = KD_GRPC_UNAVAILABLE;
            snprintf(reply.message, sizeof(reply.message),
                     "no forecast for %s yet: the first fetch is running", view->workload);
        }
    }
    w->answer_code = (int)reply.status;
    w->answer_status = kd_grpc_status_name(reply.status);
    w->answer_value = reply.status == KD_GRPC_OK ? reply.value : 0;
    w->stale = reply.stale;
    w->exhausted = reply.exhausted;
    if (!isnan(reply.policy_value)) {
        w->has_policy_value = true;
        w->policy_value = reply.policy_value;
    }
    if (view->forecast && reply.window_first >= 0 && reply.window_last >= reply.window_first &&
        (size_t)reply.window_last < view->forecast->n_desired_replicas) {
        w->has_window = true;
        w->window_first = (size_t)reply.window_first;
        w->window_last = (size_t)reply.window_last;
    }
    snprintf(message, message_len, "%s", reply.status == KD_GRPC_OK ? "" : reply.message);
    kd_external_scaler_reply_fini(&reply);
    kd_external_scaler_reply_init(&reply);
    if (name && (view->forecast || view->error)) {
        request.method = KD_SCALER_IS_ACTIVE;
        kd_external_scaler_answer_is_active(&request, view, activity_settings, now_ms, &reply);
        w->active = reply.status == KD_GRPC_OK && reply.active;
        if (reply.next_activation_ms > 0)
            w->next_activation_ms = reply.next_activation_ms;
    }
    kd_external_scaler_reply_fini(&reply);
    free(name);
}

static void fill_workload(const struct kd_cache_view *view, int64_t now_ms, int64_t mono_ms,
                          char *message, size_t message_len, struct kd_status_workload *w)
{
    const struct kd_route *route = view->route;
    const struct kd_forecast *f = view->forecast;
    const struct kd_workload_answer *metrics =
        view->answers ? &view->answers[KD_ANSWER_METRICS] : NULL;
    const struct kd_workload_answer *activity =
        view->answers ? &view->answers[KD_ANSWER_ACTIVITY] : NULL;
    struct kd_settings route_settings, settings, activity_settings;

    /* The answer is computed with what KEDA's last calls carried (their ScaledObject's
     * overrides), so that it is the one KEDA gets; before any call, with the route's. */
    kd_settings_resolve(route, NULL, NULL, &route_settings, NULL, 0);
    settings = metrics && metrics->at_ms ? metrics->settings : route_settings;
    activity_settings = activity && activity->at_ms ? activity->settings : settings;

    *w = (struct kd_status_workload){
        .name = view->workload,
        .route = route->match,
        .source = kd_instance_name(route->source),
        .fetching = view->in_flight,
        .idle = view->idle,
        .failures = view->failures,
        .failing_since_ms = view->failing_since_ms,
        .last_error = view->error ? view->error_message : "",
        .not_found = view->error == KD_FETCH_NOT_FOUND,
        .last_asked_ms = now_ms - (mono_ms - view->last_asked_mono_ms),
        .refresh_due_ms =
            view->refresh_due_mono_ms ? now_ms + (view->refresh_due_mono_ms - mono_ms) : 0,
        .answer_message = message,
    };
    fill_settings(&settings, f ? f->step_seconds : 0, w);
    if (metrics && metrics->at_ms) {
        w->last_metrics_ms = metrics->at_ms;
        w->last_metrics_code = (int)metrics->status;
    }
    if (activity && activity->at_ms) {
        w->last_activity_ms = activity->at_ms;
        w->last_active = activity->active;
    }
    if (f) {
        w->has_forecast = true;
        w->generated_at_ms = f->generated_at_ms;
        w->fetched_at_ms = view->fetched_at_ms;
        w->step_s = f->step_seconds;
        w->horizon_s = f->horizon_seconds;
        w->n_points = f->n_desired_replicas;
        w->desired_replicas = f->desired_replicas;
    }

    fill_answer(view, &settings, &activity_settings, now_ms, message, message_len, w);
}

int kd_scaler_status_snapshot(const struct kd_scaler *scaler, const struct kd_status_daemon *daemon,
                              const struct kd_status_query *query, int64_t now_ms,
                              struct kd_status_snapshot *ret_snapshot)
{
    struct kd_status_snapshot snap = {
        .now_ms = now_ms,
        .limit = query->limit,
        .after = query->after,
        .workload = query->workload,
    };
    struct kd_scaler_parts parts;
    struct kd_forecast_cache_stats stats;
    struct kd_cache_view view;
    struct page page = {.limit = query->limit};
    size_t pos = 0;
    int64_t mono_ms = kd_time_mono_ms(); /* pairs with now_ms, for the entries' times */

    if (daemon)
        snap.daemon = *daemon;
    kd_scaler_parts(scaler, &parts);
    kd_forecast_cache_stats(parts.cache, &stats);
    snap.total_workloads = stats.entries;
    snap.sources = calloc(parts.n_sources ? parts.n_sources : 1, sizeof(*snap.sources));
    if (!snap.sources)
        return -ENOMEM;
    snap.n_sources = parts.n_sources;
    for (size_t i = 0; i < parts.n_sources; i++)
        fill_source(&parts, i, &snap.sources[i]);

    /* One pass: source counts over every entry, and the page's candidates. */
    if (query->limit > 0) {
        size_t cap = stats.entries < query->limit ? stats.entries : query->limit;
        page.heap = malloc((cap ? cap : 1) * sizeof(*page.heap));
        if (!page.heap)
            goto fail;
        page.limit = cap;
    }
    while (kd_forecast_cache_next_any(parts.cache, &pos, &view)) {
        count_entry(&snap, &view);
        if (!page.heap)
            continue;
        if (query->workload && strcmp(view.workload, query->workload) != 0)
            continue;
        if (query->after && strcmp(view.workload, query->after) <= 0)
            continue;
        page_offer(&page, &view);
    }
    if (page.n > 1)
        qsort(page.heap, page.n, sizeof(*page.heap), by_name);

    size_t take = page.n;
    if (take > 0) {
        snap.workloads = calloc(take, sizeof(*snap.workloads));
        snap.messages = calloc(take, sizeof(*snap.messages));
        if (!snap.workloads || !snap.messages)
            goto fail;
    }
    for (size_t i = 0; i < take; i++) {
        /* The page keeps each forecast's steps until it is rendered. */
        if (kd_forecast_cache_pin(parts.cache, &page.heap[i]) < 0)
            goto fail;
        fill_workload(&page.heap[i], now_ms, mono_ms, snap.messages[i], sizeof(snap.messages[i]),
                      &snap.workloads[i]);
    }
    snap.n_workloads = take;
    if (take > 0 && take < page.n_candidates)
        snap.next_after = snap.workloads[take - 1].name;
    free(page.heap);
    *ret_snapshot = snap;
    return 0;

fail:
    free(page.heap);
    kd_scaler_status_snapshot_fini(&snap);
    return -ENOMEM;
}

void kd_scaler_status_snapshot_fini(struct kd_status_snapshot *snapshot)
{
    free(snapshot->sources);
    free(snapshot->workloads);
    free(snapshot->messages);
    snapshot->sources = NULL;
    snapshot->workloads = NULL;
    snapshot->messages = NULL;
    snapshot->n_sources = snapshot->n_workloads = 0;
}

bool kd_status_sources_down(const struct kd_status_snapshot *snapshot)
{
    if (snapshot->n_sources == 0)
        return false;
    for (size_t i = 0; i < snapshot->n_sources; i++) {
        if (!snapshot->sources[i].failing || snapshot->sources[i].cached > 0)
            return false;
    }
    return true;
}
