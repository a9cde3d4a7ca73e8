/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The scaler's glue: plugin instances and routes from the configuration, the forecast cache,
 * and externalscaler.ExternalScaler wired to the gRPC transport. The decisions themselves
 * are in external_scaler.c; this file only moves them between the cache and the calls.
 */
#include "scaler/scaler.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "config/config.h"
#include "grpc/grpc_server.h"
#include "plugin/plugin_host.h"
#include "scaler/plugin_settings.h"
#include "scaler/external_scaler.h"
#include "scaler/forecast_cache.h"
#include "scaler/routes.h"
#include "scaler/scaler_status.h"
#include "scaler/source_identity.h"
#include "util/errbuf.h"
#include "util/hashmap.h"
#include "util/list.h"
#include "util/log.h"
#include "util/time.h"

#define KD_SCALER_PATH(m) "/" KD_EXTERNAL_SCALER_SERVICE "/" m

struct scaler_call;

struct kd_scaler {
    struct event_base *base;
    struct kd_plugin_handle **handles; /* one per instance, sources then policies */
    size_t n_handles;
    struct kd_instance **sources;
    char **source_ids; /* kd_source_identity_render() of sources[i], for reload */
    size_t n_sources;
    struct kd_instance **policies;
    size_t n_policies;
    struct kd_routes routes;
    struct kd_forecast_cache *cache;
    struct kd_grpc_method methods[4];
    struct kd_list streams; /* open StreamIsActive calls (struct scaler_call), ended on drain */
    size_t n_streams;
    struct kd_scaler_observer observer;
    struct kd_status_tracker *tracker; /* per-source health for the status endpoints */

    /* Reload: a retired scaler frees itself (from release_ev) once open_calls drops to 0. */
    size_t open_calls;
    bool retired;
    struct event *release_ev;
    void (*on_released)(void *arg, struct kd_scaler *scaler);
    void *released_arg;
};

/* Per-call state, only for calls that outlive on_message (cold waits and streams). */
struct scaler_call {
    struct kd_scaler *scaler;
    struct kd_grpc_call *call;
    struct kd_scaler_request request;
    struct kd_cache_waiter waiter;
    struct kd_cache_subscriber sub;
    bool active; /* stream: the state last seen, to send only inactive->active edges */
    /* stream, activation = "demand": fires when demand enters the activation window; created
     * and armed only while something is due */
    struct event *activation_ev;
    double started_s;    /* monotonic, for the duration metric */
    struct kd_list link; /* stream: in kd_scaler.streams, newest first */
};

/* ---- metrics ------------------------------------------------------------------------------ */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void observe_call(const struct kd_scaler *scaler, enum kd_scaler_method method,
                         enum kd_scaler_result result, double started_s)
{
    if (scaler->observer.on_call)
        scaler->observer.on_call(scaler->observer.arg, method, result,
                                 started_s < 0 ? -1 : mono_s() - started_s);
}

static void observe_answer(const struct kd_scaler *scaler, const struct kd_cache_view *view,
                           const char *workload, enum kd_route_mode mode, double replicas,
                           int64_t age_ms)
{
    if (scaler->observer.on_answer)
        scaler->observer.on_answer(scaler->observer.arg, workload, mode, replicas,
                                   (double)age_ms / 1000.0,
                                   view->entry ? kd_forecast_cache_memo(view->entry) : NULL);
}

/* The result of a call that got no view (bad request, no route, shutdown, out of memory). */
static enum kd_scaler_result failed_result(enum kd_scaler_method method)
{
    return method == KD_SCALER_IS_ACTIVE ? KD_SCALER_RESULT_INACTIVE_ERROR : KD_SCALER_RESULT_ERROR;
}

/* ---- answering ---------------------------------------------------------------------------- */

static void finish_reply(struct kd_grpc_call *call, const struct kd_scaler_reply *reply)
{
    if (reply->status != KD_GRPC_OK) {
        kd_grpc_call_finish(call, reply->status, reply->message);
        return;
    }
    if (kd_grpc_call_send(call, reply->body, reply->len) < 0) {
        kd_grpc_call_finish(call, KD_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    kd_grpc_call_finish(call, KD_GRPC_OK, NULL);
}

static void note_staleness(const struct kd_cache_view *view, const struct kd_scaler_reply *reply,
                           int64_t now_ms)
{
    if (!view->forecast || !kd_forecast_cache_note_stale(view->entry, reply->stale))
        return;
    if (reply->exhausted)
        kd_log_prefixed(KD_LOG_WARN, NULL,
                        "workload %s: forecast is exhausted (generated %" PRId64
                        " s ago, every step has passed)%s%s",
                        view->workload, (now_ms - view->forecast->generated_at_ms) / 1000,
                        view->error ? "; last fetch: " : "", view->error_message);
    else if (reply->stale)
        kd_log_prefixed(KD_LOG_WARN, NULL,
                        "workload %s: forecast is stale (generated %" PRId64
                        " s ago, stale_after %" PRId64 " s)%s%s",
                        view->workload, (now_ms - view->forecast->generated_at_ms) / 1000,
                        reply->stale_after_ms / 1000, view->error ? "; last fetch: " : "",
                        view->error_message);
    else
        kd_log_prefixed(KD_LOG_INFO, NULL, "workload %s: forecast is fresh again", view->workload);
}

/* FNV-1a, to remember which settings error was logged last for a workload. */
static uint64_t text_hash(const char *text)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (; text && *text; text++)
        h = (h ^ (uint8_t)*text) * 0x100000001b3ull;
    return text ? h | 1 : 0;
}

/*
 * The effective settings of `request` on the view's route. Returns NULL, or the reason the
 * metadata was refused (in err, or the request's own override_error), which is logged once
 * per workload and change.
 */
static const char *resolve_settings(const struct kd_scaler *scaler,
                                    const struct kd_scaler_request *request,
                                    const struct kd_cache_view *view, struct kd_settings *settings,
                                    char *err, size_t err_len)
{
    const char *bad = request->override_error;

    if (kd_settings_resolve(view->route, &scaler->routes, bad ? NULL : &request->overrides,
                            settings, err, err_len) < 0)
        bad = err;
    if (kd_forecast_cache_note_settings_error(view->entry, text_hash(bad)) && bad)
        kd_log_prefixed(KD_LOG_WARN, NULL, "workload %s: trigger metadata refused: %s",
                        view->workload, bad);
    return bad;
}

/* Keep what was decided in the workload's entry, for introspection. */
static void record_answer(const struct kd_cache_view *view, enum kd_workload_answer_kind kind,
                          const struct kd_settings *settings, const struct kd_scaler_reply *reply,
                          int64_t now_ms)
{
    const struct kd_workload_answer answer = {
        .at_ms = now_ms,
        .status = reply->status,
        .settings = *settings,
        .policy_value = reply->policy_value,
        .window_first = reply->window_first,
        .window_last = reply->window_last,
        .age_ms = reply->age_ms,
        .stale_after_ms = reply->stale_after_ms,
        .stale = reply->stale,
        .exhausted = reply->exhausted,
        .shadow = reply->shadow,
        .active = kind == KD_ANSWER_ACTIVITY && reply->status == KD_GRPC_OK && reply->active,
        .next_activation_ms = reply->next_activation_ms,
    };
    if (view->entry)
        kd_forecast_cache_record(view->entry, kind, &answer);
}

/* Compute the answer to a unary request from a view (NULL: the cache shut down). */
static enum kd_scaler_result answer_view(const struct kd_scaler *scaler,
                                         const struct kd_scaler_request *request,
                                         const struct kd_cache_view *view,
                                         struct kd_scaler_reply *reply)
{
    int64_t now = kd_time_now_ms();
    struct kd_settings settings;
    char err[512];
    bool metrics = request->method == KD_SCALER_GET_METRICS;

    if (!view) {
        kd_external_scaler_answer_error(request, -ESHUTDOWN, &scaler->routes, reply);
        return failed_result(request->method);
    }
    const char *bad = resolve_settings(scaler, request, view, &settings, err, sizeof(err));
    if (bad) {
        kd_external_scaler_answer_invalid(bad, reply);
        record_answer(view, metrics ? KD_ANSWER_METRICS : KD_ANSWER_ACTIVITY, &settings, reply,
                      now);
        return failed_result(request->method);
    }
    if (metrics) {
        kd_external_scaler_answer_metrics(request, view, &settings, now, reply);
        note_staleness(view, reply, now);
        record_answer(view, KD_ANSWER_METRICS, &settings, reply, now);
        if (reply->status != KD_GRPC_OK)
            return KD_SCALER_RESULT_ERROR;
        KD_DEBUG("workload=%s replicas=%.6g forecast_age=%" PRId64 "s%s%s", request->workload,
                 reply->value, reply->age_ms / 1000, reply->stale ? " fallback" : "",
                 reply->shadow ? " shadow" : "");
        /* Shadow: export what the policy would have answered. */
        observe_answer(scaler, view, request->workload, settings.mode,
                       reply->shadow ? reply->policy_value : reply->value, reply->age_ms);
        return KD_SCALER_RESULT_SUCCESS;
    }
    kd_external_scaler_answer_is_active(request, view, &settings, now, reply);
    note_staleness(view, reply, now);
    record_answer(view, KD_ANSWER_ACTIVITY, &settings, reply, now);
    if (reply->status != KD_GRPC_OK || !reply->active) {
        if (!view->forecast)
            return KD_SCALER_RESULT_INACTIVE_ERROR;
        return reply->stale ? KD_SCALER_RESULT_INACTIVE_STALE : KD_SCALER_RESULT_INACTIVE;
    }
    observe_answer(scaler, view, request->workload, settings.mode, NAN, reply->age_ms);
    return KD_SCALER_RESULT_ACTIVE;
}

static void call_free(struct scaler_call *sc)
{
    if (sc->activation_ev)
        event_free(sc->activation_ev);
    kd_external_scaler_request_fini(&sc->request);
    free(sc);
}

static void on_waiter_ready(struct kd_cache_waiter *waiter, const struct kd_cache_view *view)
{
    struct scaler_call *sc = KD_CONTAINER_OF(waiter, struct scaler_call, waiter);
    struct kd_grpc_call *call = sc->call;
    struct kd_scaler_reply reply;

    kd_external_scaler_reply_init(&reply);
    enum kd_scaler_result result = answer_view(sc->scaler, &sc->request, view, &reply);
    observe_call(sc->scaler, sc->request.method, result, sc->started_s);
    /* Free before finishing: the transport may run on_close from inside finish. */
    kd_grpc_call_set_user(call, NULL);
    call_free(sc);
    finish_reply(call, &reply);
    kd_external_scaler_reply_fini(&reply);
}

/* ---- unary methods ------------------------------------------------------------------------ */

static void on_get_metric_spec(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    struct kd_scaler *scaler = arg;
    struct kd_scaler_request request;
    struct kd_scaler_reply reply;
    double started = mono_s();

    scaler->open_calls++;
    kd_external_scaler_reply_init(&reply);
    if (kd_external_scaler_parse(KD_SCALER_GET_METRIC_SPEC, msg, len, &request, &reply) == 0) {
        kd_external_scaler_answer_metric_spec(&request, &reply);
        kd_external_scaler_request_fini(&request);
    }
    observe_call(scaler, KD_SCALER_GET_METRIC_SPEC,
                 reply.status == KD_GRPC_OK ? KD_SCALER_RESULT_SUCCESS : KD_SCALER_RESULT_ERROR,
                 started);
    finish_reply(call, &reply);
    kd_external_scaler_reply_fini(&reply);
}

static void on_unary(struct kd_grpc_call *call, const uint8_t *msg, size_t len,
                     struct kd_scaler *scaler, enum kd_scaler_method method)
{
    struct kd_scaler_request request;
    struct kd_scaler_reply reply;
    struct kd_cache_view view;
    struct kd_cache_entry *entry;
    enum kd_scaler_result result = failed_result(method);
    double started = mono_s();

    scaler->open_calls++;
    kd_external_scaler_reply_init(&reply);
    if (kd_external_scaler_parse(method, msg, len, &request, &reply) < 0)
        goto answer;

    /* the call's one monotonic read serves the cache's last-use time too */
    int r = kd_forecast_cache_lookup(scaler->cache, request.workload, (int64_t)(started * 1000),
                                     &view, &entry);
    if (r == -EINPROGRESS) {
        struct scaler_call *sc = calloc(1, sizeof(*sc));
        if (!sc) {
            kd_external_scaler_answer_error(&request, -ENOMEM, &scaler->routes, &reply);
            goto answer_request;
        }
        sc->scaler = scaler;
        sc->call = call;
        kd_external_scaler_request_move(&sc->request, &request);
        sc->started_s = started;
        sc->waiter.on_ready = on_waiter_ready;
        kd_grpc_call_set_user(call, sc);
        kd_forecast_cache_wait(entry, &sc->waiter);
        return;
    }
    if (r < 0)
        kd_external_scaler_answer_error(&request, r, &scaler->routes, &reply);
    else
        result = answer_view(scaler, &request, &view, &reply);
answer_request:
    kd_external_scaler_request_fini(&request);
answer:
    observe_call(scaler, method, result, started);
    finish_reply(call, &reply);
    kd_external_scaler_reply_fini(&reply);
}

static void on_get_metrics(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    on_unary(call, msg, len, arg, KD_SCALER_GET_METRICS);
}

static void on_is_active(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    on_unary(call, msg, len, arg, KD_SCALER_IS_ACTIVE);
}

/* Every dispatched call ends here; a retired scaler goes once its last call is gone. */
static void call_closed(struct kd_scaler *scaler)
{
    scaler->open_calls--;
    if (scaler->retired && scaler->open_calls == 0)
        event_active(scaler->release_ev, EV_TIMEOUT, 0);
}

static void on_unary_close(struct kd_grpc_call *call, void *arg)
{
    struct scaler_call *sc = kd_grpc_call_user(call);
    struct kd_scaler *scaler = arg;

    if (sc) {
        /* Ended before the cold fetch answered: cancelled, deadline or drain. */
        observe_call(scaler, sc->request.method, failed_result(sc->request.method), sc->started_s);
        kd_forecast_cache_cancel_wait(&sc->waiter);
        call_free(sc);
    }
    call_closed(scaler);
}

/* ---- StreamIsActive ----------------------------------------------------------------------- */

static void stream_unlist(struct scaler_call *sc)
{
    if (!kd_list_linked(&sc->link))
        return;
    sc->scaler->n_streams--;
    kd_list_remove(&sc->link);
}

static void on_activation_due(evutil_socket_t fd, short what, void *arg);

/* Arm the stream's activation timer for `at_ms` (wall clock), or disarm it (at_ms < 0). */
static void arm_activation(struct scaler_call *sc, int64_t at_ms, int64_t now_ms)
{
    if (at_ms < 0) {
        if (sc->activation_ev)
            evtimer_del(sc->activation_ev);
        return;
    }
    if (!sc->activation_ev) {
        sc->activation_ev = evtimer_new(sc->scaler->base, on_activation_due, sc);
        if (!sc->activation_ev) {
            KD_WARN("workload %s: out of memory for the activation timer; the stream pushes on "
                    "the next refresh instead",
                    sc->request.workload);
            return;
        }
    }
    /* +1 ms: wake just after the step boundary, when the window has moved. */
    int64_t delay = at_ms - now_ms + 1;
    if (delay < 1)
        delay = 1;
    struct timeval tv = {.tv_sec = delay / 1000, .tv_usec = (delay % 1000) * 1000};
    evtimer_add(sc->activation_ev, &tv);
}

static void stream_evaluate(struct scaler_call *sc, const struct kd_cache_view *view)
{
    int64_t now = kd_time_now_ms();
    struct kd_scaler_reply reply;
    struct kd_settings settings;
    char err[512];

    kd_external_scaler_reply_init(&reply);
    const char *bad = resolve_settings(sc->scaler, &sc->request, view, &settings, err, sizeof(err));
    if (bad) {
        kd_external_scaler_answer_invalid(bad, &reply);
    } else {
        kd_external_scaler_answer_is_active(&sc->request, view, &settings, now, &reply);
        note_staleness(view, &reply, now);
    }
    record_answer(view, KD_ANSWER_ACTIVITY, &settings, &reply, now);
    bool active = reply.status == KD_GRPC_OK && reply.active;
    /* KEDA ignores false, and every true restarts its cooldown: send edges only. */
    if (active && !sc->active) {
        kd_external_scaler_pack_is_active(true, &reply);
        if (reply.status == KD_GRPC_OK) {
            KD_DEBUG("workload=%s stream pushed active=true", sc->request.workload);
            kd_grpc_call_send(sc->call, reply.body, reply.len);
        }
    }
    sc->active = active;
    arm_activation(sc, active ? -1 : reply.next_activation_ms, now);
    kd_external_scaler_reply_fini(&reply);
}

static void on_activation_due(evutil_socket_t fd, short what, void *arg)
{
    struct scaler_call *sc = arg;
    struct kd_cache_view view;

    (void)fd;
    (void)what;
    if (kd_forecast_cache_subscriber_view(&sc->sub, &view))
        stream_evaluate(sc, &view);
}

static void on_stream_update(struct kd_cache_subscriber *sub, const struct kd_cache_view *view)
{
    struct scaler_call *sc = KD_CONTAINER_OF(sub, struct scaler_call, sub);
    stream_evaluate(sc, view);
}

static void on_stream_is_active(struct kd_grpc_call *call, const uint8_t *msg, size_t len,
                                void *arg)
{
    struct kd_scaler *scaler = arg;
    struct kd_scaler_reply reply;
    struct kd_cache_view view;
    struct scaler_call *sc;

    scaler->open_calls++;
    kd_external_scaler_reply_init(&reply);
    sc = calloc(1, sizeof(*sc));
    if (!sc) {
        observe_call(scaler, KD_SCALER_STREAM_IS_ACTIVE, KD_SCALER_RESULT_ERROR, -1);
        kd_grpc_call_finish(call, KD_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    sc->scaler = scaler;
    sc->call = call;
    sc->sub.on_update = on_stream_update;
    if (kd_external_scaler_parse(KD_SCALER_STREAM_IS_ACTIVE, msg, len, &sc->request, &reply) < 0) {
        free(sc);
        goto fail;
    }
    int r = kd_forecast_cache_subscribe(scaler->cache, sc->request.workload, &sc->sub, &view);
    if (r < 0 && r != -EINPROGRESS) {
        kd_external_scaler_answer_error(&sc->request, r, &scaler->routes, &reply);
        call_free(sc);
        goto fail;
    }
    kd_grpc_call_set_user(call, sc);
    kd_list_push_front(&scaler->streams, &sc->link);
    scaler->n_streams++;
    observe_call(scaler, KD_SCALER_STREAM_IS_ACTIVE, KD_SCALER_RESULT_STARTED, -1);
    if (r == 0)
        stream_evaluate(sc, &view);
    return;

fail:
    observe_call(scaler, KD_SCALER_STREAM_IS_ACTIVE, KD_SCALER_RESULT_ERROR, -1);
    finish_reply(call, &reply);
    kd_external_scaler_reply_fini(&reply);
}

static void on_stream_close(struct kd_grpc_call *call, void *arg)
{
    struct scaler_call *sc = kd_grpc_call_user(call);
    struct kd_scaler *scaler = arg;

    if (sc) {
        kd_forecast_cache_unsubscribe(&sc->sub);
        stream_unlist(sc);
        call_free(sc);
    }
    call_closed(scaler);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static int open_instance(struct kd_scaler *scaler, const struct kd_config *config,
                         enum kd_plugin_kind kind, const char *name, const char *plugin,
                         const config_setting_t *group, const char *file, int line,
                         struct kd_instance **ret_instance, char *err, size_t err_len)
{
    struct kd_plugin_handle *handle;
    const char *const *keys =
        kind == KD_PLUGIN_SOURCE ? kd_config_source_keys : kd_config_policy_keys;
    char why[512];
    int r = kd_plugin_host_open(config->plugin_dir, kind, plugin, &handle, why, sizeof(why));

    if (r < 0) {
        /* A plugin that cannot be opened is named where the config asked for it. */
        kd_errbuf_at(err, err_len, file, line, "%s", why);
        return r;
    }
    struct kd_plugin_settings settings;
    const struct kd_instance_args args = {
        .group = group,
        .host_keys = keys,
        .settings = kd_plugin_settings_fill(config, &settings),
        .base = scaler->base,
    };
    r = kd_instance_create(handle, name, &args, ret_instance, err, err_len);
    if (r < 0) {
        kd_plugin_host_close(handle);
        return r;
    }
    scaler->handles[scaler->n_handles++] = handle;
    return 0;
}

static struct kd_instance *find_instance(struct kd_instance **v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(kd_instance_name(v[i]), name) == 0)
            return v[i];
    }
    return NULL;
}

static int build_routes(struct kd_scaler *scaler, const struct kd_config *config, char *err,
                        size_t err_len)
{
    scaler->routes.policies = scaler->policies;
    scaler->routes.n_policies = scaler->n_policies;
    for (size_t i = 0; i < config->n_workloads; i++) {
        const struct kd_config_workload *w = &config->workloads[i];
        struct kd_instance *source = find_instance(scaler->sources, scaler->n_sources, w->source);
        struct kd_instance *policy = find_instance(scaler->policies, scaler->n_policies, w->policy);
        const struct kd_config_source *cs = NULL;
        for (size_t j = 0; j < config->n_sources; j++) {
            if (strcmp(config->sources[j].name, w->source) == 0)
                cs = &config->sources[j];
        }
        if (!source || !policy || !cs) {
            kd_errbuf_at(err, err_len, w->file ? w->file : "(built-in)", w->line,
                         "workload \"%s\" names an unknown %s", w->match,
                         !policy ? "policy" : "source");
            return -EINVAL;
        }
        struct kd_source_timing timing = {
            .refresh_ms = cs->refresh_ms,
            .timeout_ms = cs->timeout_ms,
            .idle_evict_ms = cs->idle_evict_ms,
        };
        int r = kd_routes_add(&scaler->routes, w->match, source, policy, &timing, w->stale_after_ms,
                              w->fallback_replicas);
        if (r == 0)
            kd_routes_configure(&scaler->routes.routes[scaler->routes.n - 1], w);
        if (r < 0) {
            kd_errbuf_at(err, err_len, w->file ? w->file : "(built-in)", w->line,
                         "workload \"%s\": %s", w->match,
                         r == -EINVAL ? "refresh, timeout and idle_evict of its source must be > 0"
                                      : strerror(-r));
            return r;
        }
    }
    return 0;
}

static void release(struct kd_scaler *scaler)
{
    struct kd_list *node;

    /* Streams the transport still holds must not reach back into freed state on close. */
    while ((node = kd_list_first(&scaler->streams))) {
        struct scaler_call *sc = KD_CONTAINER_OF(node, struct scaler_call, link);
        stream_unlist(sc);
        kd_forecast_cache_unsubscribe(&sc->sub);
        if (sc->activation_ev) {
            event_free(sc->activation_ev);
            sc->activation_ev = NULL;
        }
    }
    kd_forecast_cache_destroy(scaler->cache);
    kd_status_tracker_destroy(scaler->tracker);
    if (scaler->release_ev)
        event_free(scaler->release_ev);
    kd_routes_fini(&scaler->routes);
    for (size_t i = 0; i < scaler->n_sources; i++) {
        kd_instance_destroy(scaler->sources[i]);
        free(scaler->source_ids[i]);
    }
    for (size_t i = 0; i < scaler->n_policies; i++)
        kd_instance_destroy(scaler->policies[i]);
    for (size_t i = 0; i < scaler->n_handles; i++)
        kd_plugin_host_close(scaler->handles[i]);
    free(scaler->sources);
    free(scaler->source_ids);
    free(scaler->policies);
    free(scaler->handles);
    free(scaler);
}

static void on_release(evutil_socket_t fd, short what, void *arg)
{
    struct kd_scaler *scaler = arg;
    void (*on_released)(void *, struct kd_scaler *) = scaler->on_released;
    void *released_arg = scaler->released_arg;

    (void)fd;
    (void)what;
    if (scaler->open_calls > 0)
        return;
    release(scaler);
    if (on_released)
        on_released(released_arg, scaler);
}

/* Every source (with its identity, for reload) and every policy of the config. */
static int open_instances(struct kd_scaler *scaler, const struct kd_config *config, char *err,
                          size_t err_len)
{
    int r;

    for (size_t i = 0; i < config->n_sources; i++) {
        const struct kd_config_source *s = &config->sources[i];
        r = open_instance(scaler, config, KD_PLUGIN_SOURCE, s->name, s->plugin, s->group, s->file,
                          s->line, &scaler->sources[scaler->n_sources], err, err_len);
        if (r < 0)
            return r;
        r = kd_source_identity_render(config, s, &scaler->source_ids[scaler->n_sources]);
        scaler->n_sources++;
        if (r < 0) {
            kd_errbuf_printf(err, err_len, "out of memory");
            return r;
        }
    }
    for (size_t i = 0; i < config->n_policies; i++) {
        const struct kd_config_policy *p = &config->policies[i];
        r = open_instance(scaler, config, KD_PLUGIN_POLICY, p->name, p->plugin, p->group, p->file,
                          p->line, &scaler->policies[scaler->n_policies], err, err_len);
        if (r < 0)
            return r;
        scaler->n_policies++;
    }
    return 0;
}

int kd_scaler_create(const struct kd_config *config, struct event_base *base,
                     struct kd_scaler **ret_scaler, char *err, size_t err_len)
{
    struct kd_scaler *scaler = calloc(1, sizeof(*scaler));
    int r = -ENOMEM;

    if (!scaler) {
        kd_errbuf_printf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    scaler->base = base;
    kd_list_init(&scaler->streams);
    kd_routes_init(&scaler->routes);
    scaler->handles = calloc(config->n_sources + config->n_policies + 1, sizeof(*scaler->handles));
    scaler->sources = calloc(config->n_sources + 1, sizeof(*scaler->sources));
    scaler->source_ids = calloc(config->n_sources + 1, sizeof(*scaler->source_ids));
    scaler->policies = calloc(config->n_policies + 1, sizeof(*scaler->policies));
    if (!scaler->handles || !scaler->sources || !scaler->source_ids || !scaler->policies) {
        kd_errbuf_printf(err, err_len, "out of memory");
        goto fail;
    }

    r = open_instances(scaler, config, err, err_len);
    if (r < 0)
        goto fail;
    r = build_routes(scaler, config, err, err_len);
    if (r < 0)
        goto fail;
    r = kd_forecast_cache_create(base, &scaler->routes, &scaler->cache);
    if (r < 0) {
        kd_errbuf_printf(err, err_len, "out of memory");
        goto fail;
    }
    if (config->max_workloads > 0)
        kd_forecast_cache_set_max_entries(scaler->cache, (size_t)config->max_workloads);
    r = kd_status_tracker_create(scaler->sources, scaler->n_sources, &scaler->tracker);
    if (r < 0) {
        kd_errbuf_printf(err, err_len, "out of memory");
        goto fail;
    }
    kd_scaler_set_observer(scaler, NULL);
    scaler->release_ev = evtimer_new(base, on_release, scaler);
    if (!scaler->release_ev) {
        r = -ENOMEM;
        kd_errbuf_printf(err, err_len, "out of memory");
        goto fail;
    }

    const struct kd_grpc_method methods[4] = {
        {KD_SCALER_PATH("IsActive"), KD_GRPC_UNARY, on_is_active, NULL, on_unary_close, scaler},
        {KD_SCALER_PATH("StreamIsActive"), KD_GRPC_SERVER_STREAMING, on_stream_is_active, NULL,
         on_stream_close, scaler},
        {KD_SCALER_PATH("GetMetricSpec"), KD_GRPC_UNARY, on_get_metric_spec, NULL, on_unary_close,
         scaler},
        {KD_SCALER_PATH("GetMetrics"), KD_GRPC_UNARY, on_get_metrics, NULL, on_unary_close, scaler},
    };
    memcpy(scaler->methods, methods, sizeof(methods));
    *ret_scaler = scaler;
    return 0;

fail:
    release(scaler);
    return r;
}

int kd_scaler_register(struct kd_scaler *scaler, struct kd_grpc_server *server)
{
    /* StreamMetricSpec is left out on purpose: the transport then answers 12 UNIMPLEMENTED
     * in grpc-go's words, and KEDA falls back to GetMetricSpec for good. */
    return kd_grpc_server_register(server, scaler->methods,
                                   sizeof(scaler->methods) / sizeof(scaler->methods[0]));
}

const struct kd_grpc_method *kd_scaler_methods(const struct kd_scaler *scaler, size_t *ret_n)
{
    *ret_n = sizeof(scaler->methods) / sizeof(scaler->methods[0]);
    return scaler->methods;
}

/* End every StreamIsActive stream with status 0: KEDA reconnects (2 s) and the new stream
 * lands on whatever serves then. The freeing of a retired scaler is deferred to the loop, so
 * none of this can free it. */
static void end_streams(struct kd_scaler *scaler)
{
    struct kd_list *node;

    while ((node = kd_list_first(&scaler->streams))) {
        struct scaler_call *sc = KD_CONTAINER_OF(node, struct scaler_call, link);
        stream_unlist(sc);
        kd_forecast_cache_unsubscribe(&sc->sub);
        if (sc->activation_ev)
            evtimer_del(sc->activation_ev);
        kd_grpc_call_finish(sc->call, KD_GRPC_OK, NULL);
    }
}

void kd_scaler_drain(struct kd_scaler *scaler)
{
    /* Waiting unary calls are answered 14 "shutting down" by their waiter callbacks. */
    kd_forecast_cache_drain(scaler->cache);
    end_streams(scaler);
}

void kd_scaler_destroy(struct kd_scaler *scaler)
{
    if (!scaler)
        return;
    release(scaler);
}

void kd_scaler_set_observer(struct kd_scaler *scaler, const struct kd_scaler_observer *observer)
{
    struct kd_cache_observer chain;

    scaler->observer = observer ? *observer : (struct kd_scaler_observer){0};
    kd_status_tracker_observer(scaler->tracker, observer ? &observer->cache : NULL, &chain);
    kd_forecast_cache_set_observer(scaler->cache, &chain);
}

void kd_scaler_parts(const struct kd_scaler *scaler, struct kd_scaler_parts *ret_parts)
{
    *ret_parts = (struct kd_scaler_parts){
        .cache = scaler->cache,
        .routes = &scaler->routes,
        .sources = scaler->sources,
        .n_sources = scaler->n_sources,
        .tracker = scaler->tracker,
    };
}

void kd_scaler_stats(const struct kd_scaler *scaler, struct kd_scaler_stats *ret_stats)
{
    struct kd_forecast_cache_stats cache;

    kd_forecast_cache_stats(scaler->cache, &cache);
    *ret_stats = (struct kd_scaler_stats){
        .cache_entries = cache.entries,
        .open_streams = scaler->n_streams,
        .open_calls = scaler->open_calls,
    };
}

void kd_scaler_retire(struct kd_scaler *scaler, void (*on_released)(void *arg, struct kd_scaler *s),
                      void *arg)
{
    scaler->retired = true;
    scaler->on_released = on_released;
    scaler->released_arg = arg;
    /* Streams never end by themselves: left here they would keep this configuration, its
     * sources and their refreshes alive forever. Unary calls finish here as they are. The
     * observer stays: the calls still finishing here are real calls. */
    end_streams(scaler);
    if (scaler->open_calls == 0)
        event_active(scaler->release_ev, EV_TIMEOUT, 0);
}

/* The new instance of every source of `old` whose definition did not change, by name. */
static int unchanged_sources(const struct kd_scaler *scaler, const struct kd_scaler *old,
                             struct kd_hashmap *ret_map)
{
    struct kd_hashmap old_ids = KD_HASHMAP_INIT;
    int r = 0;

    for (size_t i = 0; i < old->n_sources && r == 0; i++)
        r = kd_hashmap_put(&old_ids, kd_instance_name(old->sources[i]), old->source_ids[i]);
    for (size_t i = 0; i < scaler->n_sources && r == 0; i++) {
        const char *id = kd_hashmap_get(&old_ids, kd_instance_name(scaler->sources[i]));
        if (id && strcmp(id, scaler->source_ids[i]) == 0)
            r = kd_hashmap_put(ret_map, kd_instance_name(scaler->sources[i]), scaler->sources[i]);
    }
    kd_hashmap_fini(&old_ids);
    return r;
}

size_t kd_scaler_adopt(struct kd_scaler *scaler, const struct kd_scaler *old)
{
    struct kd_hashmap unchanged = KD_HASHMAP_INIT;
    struct kd_cache_view view;
    size_t pos = 0, adopted = 0;

    if (unchanged_sources(scaler, old, &unchanged) < 0)
        goto done;
    /* An unchanged source keeps its health record and counts on the status page too. */
    for (size_t i = 0; i < scaler->n_sources; i++) {
        const char *name = kd_instance_name(scaler->sources[i]);
        if (kd_hashmap_get(&unchanged, name))
            kd_status_tracker_adopt(scaler->tracker, old->tracker, name);
    }
    while (kd_forecast_cache_next(old->cache, &pos, &view)) {
        const struct kd_instance *source =
            kd_hashmap_get(&unchanged, kd_instance_name(view.route->source));
        const struct kd_route *route = kd_routes_match(&scaler->routes, view.workload);
        /* Same source name and definition, and the workload still routes to it. */
        if (!source || !route || route->source != source)
            continue;
        if (kd_forecast_cache_seed(scaler->cache, &view) == 0)
            adopted++;
    }
done:
    kd_hashmap_fini(&unchanged);
    return adopted;
}
