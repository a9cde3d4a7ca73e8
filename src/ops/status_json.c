/* SPDX-License-Identifier: Apache-2.0 */
/* /status.json rendering (see status_json.h). Times are RFC 3339 strings, durations _ms or
 * _s numbers, absent values null: a script never has to guess a unit or a sentinel. */
#include "ops/status_json.h"

#include <errno.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "ops/status_format.h"

const char *kd_status_workload_state(const struct kd_status_workload *w)
{
    if (w->not_found)
        return "not_found";
    if (!w->has_forecast)
        return w->failures ? "failing" : "fetching";
    if (w->stale)
        return "stale";
    return w->failures ? "failing" : "ok";
}

/* The cJSON add functions return NULL on allocation failure; one flag collects them all. */
struct builder {
    bool failed;
};

static cJSON *check(struct builder *b, cJSON *item)
{
    if (!item)
        b->failed = true;
    return item;
}

static void add_time(struct builder *b, cJSON *obj, const char *key, int64_t ms)
{
    char buf[KD_STATUS_TIME_LEN];

    if (ms == 0) {
        check(b, cJSON_AddNullToObject(obj, key));
        return;
    }
    kd_status_format_time(ms, buf);
    check(b, cJSON_AddStringToObject(obj, key, buf));
}

static void add_number(struct builder *b, cJSON *obj, const char *key, double v)
{
    check(b, cJSON_AddNumberToObject(obj, key, v));
}

/* A string, or null when empty or NULL. */
static void add_text(struct builder *b, cJSON *obj, const char *key, const char *s)
{
    if (!s || !*s)
        check(b, cJSON_AddNullToObject(obj, key));
    else
        check(b, cJSON_AddStringToObject(obj, key, s));
}

static cJSON *add_object(struct builder *b, cJSON *obj, const char *key)
{
    cJSON *o = check(b, cJSON_AddObjectToObject(obj, key));
    return o ? o : obj; /* keep going into the parent; b->failed already says it is lost */
}

static void render_daemon(struct builder *b, cJSON *root, const struct kd_status_snapshot *s)
{
    const struct kd_status_daemon *d = &s->daemon;
    cJSON *o = add_object(b, root, "daemon");

    add_text(b, o, "version", d->version);
    add_text(b, o, "config_file", d->config_file);
    add_text(b, o, "listen", d->listen);
    add_text(b, o, "http_listen", d->http_listen);
    add_time(b, o, "started_at", d->started_ms);
    add_number(b, o, "uptime_s", d->started_ms ? (double)(s->now_ms - d->started_ms) / 1000.0 : 0);
    cJSON *r = add_object(b, o, "reloads");
    add_number(b, r, "ok", (double)d->reloads_ok);
    add_number(b, r, "failed", (double)d->reloads_failed);
    add_time(b, r, "last_at", d->last_reload_ms);
    if (d->last_reload_ms)
        add_text(b, r, "last_result", d->last_reload_ok ? "ok" : "failed");
    else
        add_text(b, r, "last_result", NULL);
    add_text(b, r, "last_error", d->last_reload_ok ? NULL : d->last_reload_error);
    cJSON *l = add_object(b, o, "limits");
    for (size_t i = 0; i < d->n_limits; i++)
        add_number(b, l, d->limits[i].name, (double)d->limits[i].value);
}

static void render_source(struct builder *b, cJSON *arr, const struct kd_status_source *src)
{
    cJSON *o = check(b, cJSON_CreateObject());

    if (!o)
        return;
    cJSON_AddItemToArray(arr, o);
    add_text(b, o, "name", src->name);
    add_text(b, o, "plugin", src->plugin);
    add_text(b, o, "state", src->failing ? "failing" : "ok");
    add_time(b, o, "failing_since", src->failing_since_ms);
    add_text(b, o, "last_error", src->last_error);
    add_text(b, o, "last_error_workload", src->last_error_workload);
    cJSON *f = add_object(b, o, "fetches");
    for (size_t i = 0; i < KD_STATUS_FETCH_COUNT; i++)
        add_number(b, f, kd_status_fetch_result_names[i], (double)src->fetches[i]);
    add_number(b, o, "in_flight", (double)src->in_flight);
    add_number(b, o, "workloads", (double)src->workloads);
    add_number(b, o, "cached", (double)src->cached);
    add_number(b, o, "refresh_ms", (double)src->refresh_ms);
    add_number(b, o, "timeout_ms", (double)src->timeout_ms);
    add_number(b, o, "idle_evict_ms", (double)src->idle_evict_ms);
}

/* The forecast (its series only for ?workload=), the policy's window and its value. */
static void render_forecast(struct builder *b, cJSON *o, const struct kd_status_snapshot *s,
                            const struct kd_status_workload *w)
{
    if (w->has_forecast) {
        cJSON *f = add_object(b, o, "forecast");
        add_time(b, f, "generated_at", w->generated_at_ms);
        add_time(b, f, "fetched_at", w->fetched_at_ms);
        add_number(b, f, "age_s", (double)(s->now_ms - w->generated_at_ms) / 1000.0);
        add_number(b, f, "step_s", (double)w->step_s);
        add_number(b, f, "horizon_s", (double)w->horizon_s);
        add_number(b, f, "points", (double)w->n_points);
        /* The series only for ?workload=: a page of 1000 day-long forecasts would be huge. */
        if (s->workload) {
            cJSON *series = check(b, cJSON_AddArrayToObject(f, "desired_replicas"));
            for (size_t i = 0; series && i < w->n_points; i++) {
                cJSON *n = check(b, cJSON_CreateNumber((double)w->desired_replicas[i]));
                if (n)
                    cJSON_AddItemToArray(series, n);
            }
        }
    } else {
        check(b, cJSON_AddNullToObject(o, "forecast"));
    }

    if (w->has_window) {
        cJSON *win = add_object(b, o, "window");
        int64_t step_ms = w->step_s * 1000;
        add_number(b, win, "first", (double)w->window_first);
        add_number(b, win, "last", (double)w->window_last);
        add_time(b, win, "first_at", w->generated_at_ms + (int64_t)(w->window_first + 1) * step_ms);
        add_time(b, win, "last_at", w->generated_at_ms + (int64_t)(w->window_last + 1) * step_ms);
    } else {
        check(b, cJSON_AddNullToObject(o, "window"));
    }
    if (w->has_policy_value)
        add_number(b, o, "policy_value", w->policy_value);
    else
        check(b, cJSON_AddNullToObject(o, "policy_value"));
}

/* What a call would be answered now, and the last GetMetrics and activity KEDA saw. */
static void render_answer(struct builder *b, cJSON *o, const struct kd_status_workload *w)
{
    cJSON *a = add_object(b, o, "answer");
    add_number(b, a, "code", w->answer_code);
    add_text(b, a, "status", w->answer_status);
    if (w->answer_code == 0)
        add_number(b, a, "value", w->answer_value);
    else
        add_text(b, a, "message", w->answer_message);
    check(b, cJSON_AddBoolToObject(o, "stale", w->stale));
    check(b, cJSON_AddBoolToObject(o, "active", w->active));
    add_time(b, o, "next_activation", w->next_activation_ms);
    if (w->last_metrics_ms) {
        cJSON *m = add_object(b, o, "last_metrics");
        add_time(b, m, "at", w->last_metrics_ms);
        add_number(b, m, "code", w->last_metrics_code);
    } else {
        check(b, cJSON_AddNullToObject(o, "last_metrics"));
    }
    if (w->last_activity_ms) {
        cJSON *m = add_object(b, o, "last_activity");
        add_time(b, m, "at", w->last_activity_ms);
        check(b, cJSON_AddBoolToObject(m, "active", w->last_active));
    } else {
        check(b, cJSON_AddNullToObject(o, "last_activity"));
    }
}

static void render_workload(struct builder *b, cJSON *arr, const struct kd_status_snapshot *s,
                            const struct kd_status_workload *w)
{
    cJSON *o = check(b, cJSON_CreateObject());

    if (!o)
        return;
    cJSON_AddItemToArray(arr, o);
    add_text(b, o, "name", w->name);
    add_text(b, o, "state", kd_status_workload_state(w));
    add_text(b, o, "route", w->route);
    add_text(b, o, "source", w->source);
    add_text(b, o, "policy", w->policy);
    add_text(b, o, "mode", w->mode);
    add_number(b, o, "lead_time_ms", (double)w->lead_time_ms);
    add_number(b, o, "stale_after_ms", (double)w->stale_after_ms);
    if (w->fallback_replicas >= 0)
        add_number(b, o, "fallback_replicas", (double)w->fallback_replicas);
    else
        check(b, cJSON_AddNullToObject(o, "fallback_replicas"));
    add_text(b, o, "on_stale", w->on_stale);
    add_text(b, o, "activation", w->activation);
    add_number(b, o, "activation_lead_ms", (double)w->activation_lead_ms);
    add_number(b, o, "activation_threshold", w->activation_threshold);
    cJSON *origins = add_object(b, o, "origins");
    for (size_t i = 0; i < w->n_origins; i++)
        add_text(b, origins, w->origins[i].setting, w->origins[i].origin);

    render_forecast(b, o, s, w);
    check(b, cJSON_AddBoolToObject(o, "exhausted", w->exhausted));

    render_answer(b, o, w);

    cJSON *f = add_object(b, o, "fetch");
    check(b, cJSON_AddBoolToObject(f, "in_flight", w->fetching));
    check(b, cJSON_AddBoolToObject(f, "idle", w->idle));
    add_number(b, f, "failures", w->failures);
    add_time(b, f, "failing_since", w->failing_since_ms);
    add_text(b, f, "last_error", w->last_error);
    add_time(b, o, "last_asked", w->last_asked_ms);
    add_time(b, o, "refresh_due", w->refresh_due_ms);
}

int kd_status_json_render(const struct kd_status_snapshot *s, char **ret_text)
{
    struct builder b = {0};
    cJSON *root = cJSON_CreateObject();

    if (!root)
        return -ENOMEM;
    add_time(&b, root, "now", s->now_ms);
    render_daemon(&b, root, s);
    cJSON *sources = check(&b, cJSON_AddArrayToObject(root, "sources"));
    for (size_t i = 0; sources && i < s->n_sources; i++)
        render_source(&b, sources, &s->sources[i]);
    cJSON *workloads = check(&b, cJSON_AddArrayToObject(root, "workloads"));
    for (size_t i = 0; workloads && i < s->n_workloads; i++)
        render_workload(&b, workloads, s, &s->workloads[i]);
    cJSON *page = add_object(&b, root, "page");
    add_number(&b, page, "limit", (double)s->limit);
    add_text(&b, page, "after", s->after);
    add_text(&b, page, "next_after", s->next_after);
    add_number(&b, page, "total", (double)s->total_workloads);

    char *text = b.failed ? NULL : cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return -ENOMEM;
    *ret_text = text;
    return 0;
}
