/* SPDX-License-Identifier: Apache-2.0 */
/* externalscaler.ExternalScaler request/response logic (pure; see external_scaler.h). */
#include "scaler/external_scaler.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "externalscaler.pb-c.h"
#include "plugin/plugin_host.h"
#include "scaler/forecast_cache.h"
#include "scaler/pb_check.h"
#include "scaler/ref_scan.h"
#include "scaler/reply_wire.h"
#include "scaler/routes.h"
#include "window.h"

void kd_external_scaler_reply_init(struct kd_scaler_reply *reply)
{
    reply->status = KD_GRPC_OK;
    reply->message[0] = '\0';
    reply->body = reply->inline_body;
    reply->len = 0;
    reply->value = 0;
    reply->age_ms = -1;
    reply->stale = false;
    reply->exhausted = false;
    reply->stale_after_ms = -1;
    reply->policy_value = NAN;
    reply->window_first = reply->window_last = -1;
    reply->shadow = false;
    reply->active = false;
    reply->next_activation_ms = -1;
}

void kd_external_scaler_reply_fini(struct kd_scaler_reply *reply)
{
    if (reply->body != reply->inline_body)
        free(reply->body);
    reply->body = reply->inline_body;
    reply->len = 0;
}

static void reply_status(struct kd_scaler_reply *reply, enum kd_grpc_status status, const char *fmt,
                         ...) __attribute__((format(printf, 3, 4)));

static void reply_status(struct kd_scaler_reply *reply, enum kd_grpc_status status, const char *fmt,
                         ...)
{
    va_list ap;

    kd_external_scaler_reply_fini(reply);
    reply->status = status;
    va_start(ap, fmt);
    vsnprintf(reply->message, sizeof(reply->message), fmt, ap);
    va_end(ap);
}

/* Room for a `len`-byte body (inline when it fits); NULL with the reply turned into
 * RESOURCE_EXHAUSTED when out of memory. */
static uint8_t *reply_body(struct kd_scaler_reply *reply, size_t len)
{
    kd_external_scaler_reply_fini(reply);
    if (len > sizeof(reply->inline_body)) {
        reply->body = malloc(len);
        if (!reply->body) {
            reply->body = reply->inline_body;
            reply_status(reply, KD_GRPC_RESOURCE_EXHAUSTED, "out of memory");
            return NULL;
        }
    }
    reply->status = KD_GRPC_OK;
    reply->message[0] = '\0';
    return reply->body;
}

/* Pack `msg` into the reply body. */
static void reply_pack(struct kd_scaler_reply *reply, const ProtobufCMessage *msg)
{
    uint8_t *body = reply_body(reply, protobuf_c_message_get_packed_size(msg));

    if (body)
        reply->len = protobuf_c_message_pack(msg, body);
}

static const char *method_input(enum kd_scaler_method method)
{
    return method == KD_SCALER_GET_METRICS ? "GetMetricsRequest" : "ScaledObjectRef";
}

/* The wire format is checked as protobuf-c would unpack it, without unpacking (pb_check.h);
 * the strings are then read byte-exact (ref_scan.h). */
static int scan_request(enum kd_scaler_method method, const uint8_t *msg, size_t len,
                        struct kd_ref_scan *scan, struct kd_slice *requested_metric,
                        struct kd_scaler_reply *ret_error)
{
    const ProtobufCMessageDescriptor *desc = method == KD_SCALER_GET_METRICS
                                                 ? &externalscaler__get_metrics_request__descriptor
                                                 : &externalscaler__scaled_object_ref__descriptor;
    bool has_ref = true;
    int r;

    if (kd_pb_check(desc, msg, len) < 0)
        goto fail_malformed;
    if (method == KD_SCALER_GET_METRICS) {
        r = kd_ref_scan_get_metrics(msg, len, scan, requested_metric, &has_ref);
    } else {
        r = kd_ref_scan(msg, len, scan);
        *requested_metric = (struct kd_slice){NULL, 0};
    }
    if (r < 0)
        goto fail_malformed;
    if (!has_ref) {
        reply_status(ret_error, KD_GRPC_INVALID_ARGUMENT,
                     "GetMetricsRequest has no scaledObjectRef");
        return -EINVAL;
    }
    return 0;

fail_malformed:
    reply_status(ret_error, KD_GRPC_INVALID_ARGUMENT, "malformed %s", method_input(method));
    return -EINVAL;
}

/* Append `s` as a C string at *at; returns where it starts. */
static char *put(char **at, struct kd_slice s)
{
    char *start = *at;

    if (s.len)
        memcpy(start, s.p, s.len);
    start[s.len] = '\0';
    *at += s.len + 1;
    return start;
}

int kd_external_scaler_parse(enum kd_scaler_method method, const uint8_t *msg, size_t len,
                             struct kd_scaler_request *ret_request,
                             struct kd_scaler_reply *ret_error)
{
    static const char default_metric[] = "kedastral--desired-replicas"; /* its length */
    struct kd_ref_scan scan;
    struct kd_slice requested;
    char why[128], override_error[256];
    const char *bad;

    if (scan_request(method, msg, len, &scan, &requested, ret_error) < 0)
        return -EINVAL;

    bool from_metadata = scan.workload.len > 0;
    struct kd_slice workload = from_metadata ? scan.workload : scan.name;
    if (!workload.len) {
        reply_status(ret_error, KD_GRPC_INVALID_ARGUMENT,
                     "ScaledObjectRef has no name and scalerMetadata has no \"workload\"");
        return -EINVAL;
    }
    /* Never truncated, never silently repaired: the name picks a forecast. */
    if ((bad = kd_name_check(workload, KD_WORKLOAD_NAME_MAX, why, sizeof(why)))) {
        reply_status(ret_error, KD_GRPC_INVALID_ARGUMENT, "workload name (%s) %s",
                     from_metadata ? "scalerMetadata \"workload\"" : "ScaledObjectRef name", bad);
        return -EINVAL;
    }
    struct kd_slice metric = requested.len ? requested : scan.metric_name;
    if (metric.len && (bad = kd_name_check(metric, 0, why, sizeof(why)))) {
        reply_status(
            ret_error, KD_GRPC_INVALID_ARGUMENT, "metric name (%s) %s",
            requested.len ? "GetMetricsRequest metricName" : "scalerMetadata \"metricName\"", bad);
        return -EINVAL;
    }
    override_error[0] = '\0';
    size_t total =
        workload.len + 1 + (metric.len ? metric.len : workload.len + sizeof(default_metric)) + 1;
    for (int k = 0; k < KD_OVERRIDE_COUNT; k++) {
        total += scan.overrides[k].len + 1;
        if (scan.overrides[k].len && !override_error[0] &&
            (bad = kd_name_check(scan.overrides[k], 0, why, sizeof(why))))
            snprintf(override_error, sizeof(override_error), "scalerMetadata \"%s\": the value %s",
                     kd_override_names[k], bad);
    }
    total += strlen(override_error) + 1;

    /* Nothing below fails once the block is there, so *ret_request is written only now. */
    char *block =
        total <= sizeof(ret_request->inline_strings) ? ret_request->inline_strings : malloc(total);
    if (!block) {
        reply_status(ret_error, KD_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return -ENOMEM;
    }
    struct kd_scaler_request *req = ret_request;
    char *at = block;
    req->method = method;
    req->strings = block;
    req->workload = put(&at, workload);
    if (metric.len) {
        req->metric_name = put(&at, metric);
    } else {
        static const char prefix[] = "kedastral-", suffix[] = "-desired-replicas";
        req->metric_name = at;
        memcpy(at, prefix, sizeof(prefix) - 1);
        at += sizeof(prefix) - 1;
        memcpy(at, workload.p, workload.len);
        at += workload.len;
        memcpy(at, suffix, sizeof(suffix));
        at += sizeof(suffix);
    }
    for (int k = 0; k < KD_OVERRIDE_COUNT; k++)
        req->overrides.value[k] = scan.overrides[k].len ? put(&at, scan.overrides[k]) : NULL;
    req->override_error = NULL;
    if (override_error[0]) {
        req->override_error = at;
        memcpy(at, override_error, strlen(override_error) + 1);
    }
    return 0;
}

void kd_external_scaler_request_fini(struct kd_scaler_request *request)
{
    if (request->strings != request->inline_strings)
        free(request->strings);
    request->strings = NULL;
    request->workload = request->metric_name = request->override_error = NULL;
    request->overrides = (struct kd_overrides){{NULL}};
}

/* `p` (NULL or a string of src's block) as the same string of dst's inline block. */
static char *rehome(const char *p, const struct kd_scaler_request *src,
                    struct kd_scaler_request *dst)
{
    return p ? dst->inline_strings + (p - src->inline_strings) : NULL;
}

void kd_external_scaler_request_move(struct kd_scaler_request *dst, struct kd_scaler_request *src)
{
    *dst = *src;
    if (src->strings == src->inline_strings) {
        dst->strings = dst->inline_strings;
        dst->workload = rehome(src->workload, src, dst);
        dst->metric_name = rehome(src->metric_name, src, dst);
        for (int k = 0; k < KD_OVERRIDE_COUNT; k++)
            dst->overrides.value[k] = rehome(src->overrides.value[k], src, dst);
        dst->override_error = rehome(src->override_error, src, dst);
    }
    src->strings = NULL; /* the block is dst's now */
    kd_external_scaler_request_fini(src);
}

void kd_external_scaler_answer_metric_spec(const struct kd_scaler_request *request,
                                           struct kd_scaler_reply *ret_reply)
{
    Externalscaler__MetricSpec spec = EXTERNALSCALER__METRIC_SPEC__INIT;
    Externalscaler__MetricSpec *specs[1] = {&spec};
    Externalscaler__GetMetricSpecResponse resp = EXTERNALSCALER__GET_METRIC_SPEC_RESPONSE__INIT;

    spec.metricname = request->metric_name;
    spec.targetsize = 1;
    spec.targetsizefloat = 1.0;
    resp.n_metricspecs = 1;
    resp.metricspecs = specs;
    reply_pack(ret_reply, &resp.base);
}

/* Go's time.Duration.String() at millisecond precision: "12s", "10m0.001s", "1h0m0s". */
static void format_ms(int64_t ms, char *buf, size_t len)
{
    const char *sign = ms < 0 ? "-" : "";
    uint64_t v = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    uint64_t h = v / 3600000, m = v / 60000 % 60, s = v / 1000 % 60, frac = v % 1000;
    char sec[32];

    if (frac == 0)
        snprintf(sec, sizeof(sec), "%" PRIu64 "s", s);
    else if (frac % 100 == 0)
        snprintf(sec, sizeof(sec), "%" PRIu64 ".%01" PRIu64 "s", s, frac / 100);
    else if (frac % 10 == 0)
        snprintf(sec, sizeof(sec), "%" PRIu64 ".%02" PRIu64 "s", s, frac / 10);
    else
        snprintf(sec, sizeof(sec), "%" PRIu64 ".%03" PRIu64 "s", s, frac);
    if (v < 1000 && frac != 0)
        snprintf(buf, len, "%s%" PRIu64 "ms", sign, frac);
    else if (h)
        snprintf(buf, len, "%s%" PRIu64 "h%" PRIu64 "m%s", sign, h, m, sec);
    else if (m)
        snprintf(buf, len, "%s%" PRIu64 "m%s", sign, m, sec);
    else
        snprintf(buf, len, "%s%s", sign, sec);
}

static int64_t forecast_age(const struct kd_forecast *forecast, int64_t now_ms)
{
    return now_ms - forecast->generated_at_ms;
}

int kd_external_scaler_decide(const struct kd_settings *settings,
                              const struct kd_forecast *forecast, int64_t now_ms, int64_t lead_ms,
                              struct kd_policy_result *result)
{
    const struct kd_instance *policy = settings->policy;

    /* lead_ms < 0: the policy's own configured lead time (kd_instance_decide asks it) */
    int r = kd_instance_decide(policy, forecast, now_ms, lead_ms, result);
    if (r < 0 && !result->reason[0])
        snprintf(result->reason, sizeof(result->reason), "%s", strerror(-r));
    if (r == 0 && !isfinite(result->value)) {
        snprintf(result->reason, sizeof(result->reason), "policy %s returned a non-finite value",
                 kd_instance_name(policy));
        return -EINVAL;
    }
    if (r == 0 && result->value < 0)
        result->value = 0;
    return r;
}

void kd_external_scaler_pack_is_active(bool active, struct kd_scaler_reply *ret_reply)
{
    uint8_t *body = reply_body(ret_reply, 2);

    if (body)
        kd_reply_wire_is_active(active, body, 2, &ret_reply->len);
    ret_reply->active = active;
}

void kd_external_scaler_answer_invalid(const char *message, struct kd_scaler_reply *ret_reply)
{
    reply_status(ret_reply, KD_GRPC_INVALID_ARGUMENT, "%s", message);
}

/* llround() for the non-negative values answered here, without needing libm. */
static int64_t round_half_away(double value)
{
    if (value >= 9.2e18)
        return INT64_MAX;
    int64_t whole = (int64_t)value;
    return value - (double)whole >= 0.5 ? whole + 1 : whole;
}

/* The hot path's answer, written by reply_wire (protobuf-c's bytes, without its loops). */
static void pack_value(const struct kd_scaler_request *request, double value,
                       struct kd_scaler_reply *ret_reply)
{
    const char *name = request->metric_name;
    int64_t whole = round_half_away(value);
    uint8_t *body = reply_body(ret_reply, sizeof(ret_reply->inline_body));

    /* One pass into the inline body; only a name too long for it is sized first. */
    if (body && kd_reply_wire_metrics(name, whole, value, body, sizeof(ret_reply->inline_body),
                                      &ret_reply->len) == -ENOSPC) {
        size_t len = kd_reply_wire_metrics_size(name, whole, value);
        body = reply_body(ret_reply, len);
        if (body)
            kd_reply_wire_metrics(name, whole, value, body, len, &ret_reply->len);
    }
    ret_reply->value = value;
}

enum freshness { FRESH, NO_FORECAST, STALE };

/*
 * Is the view's forecast usable under `settings`? Fills age_ms, stale, exhausted and
 * stale_after_ms, and for NO_FORECAST / STALE the reason as a status in the reply (which the
 * caller may replace: fallback_replicas, on_stale = "inactive", shadow).
 */
static enum freshness check_fresh(const struct kd_scaler_request *request,
                                  const struct kd_cache_view *view,
                                  const struct kd_settings *settings, int64_t now_ms,
                                  struct kd_scaler_reply *reply)
{
    const struct kd_forecast *f = view->forecast;
    const char *w = request->workload;
    char age_text[80], limit_text[80];

    if (!f) {
        if (view->error == KD_FETCH_NOT_FOUND)
            reply_status(reply, KD_GRPC_NOT_FOUND, "no forecast for %s: %s", w,
                         view->error_message);
        else
            reply_status(reply, KD_GRPC_UNAVAILABLE, "no forecast for %s yet: %s", w,
                         view->error ? view->error_message : "the first fetch is running");
        return NO_FORECAST;
    }
    int64_t age = forecast_age(f, now_ms);
    reply->age_ms = age;
    reply->stale_after_ms = kd_settings_stale_after_ms(settings, f->step_seconds);
    /* The age is written only into the messages below: formatting it for every fresh answer
     * cost two snprintf calls, ~8 % of a cached call's instructions. */
    if (age > reply->stale_after_ms) {
        reply->stale = true;
        format_ms(age, age_text, sizeof(age_text));
        format_ms(reply->stale_after_ms, limit_text, sizeof(limit_text));
        reply_status(reply, KD_GRPC_UNAVAILABLE,
                     "forecast for %s is stale: generated %s ago, stale_after is %s%s%s", w,
                     age_text, limit_text, view->error ? "; last fetch: " : "",
                     view->error ? view->error_message : "");
        return STALE;
    }
    struct kd_window win;
    size_t n = f->desired_replicas ? f->n_desired_replicas : 0;
    if (kd_window_at(f->generated_at_ms, f->step_seconds, n, now_ms, 0, &win) == -ERANGE) {
        reply->stale = reply->exhausted = true;
        format_ms(age, age_text, sizeof(age_text));
        reply_status(reply, KD_GRPC_UNAVAILABLE,
                     "forecast for %s is exhausted: generated %s ago, all %zu steps of %" PRId64
                     " s have passed%s%s",
                     w, age_text, n, f->step_seconds, view->error ? "; last fetch: " : "",
                     view->error ? view->error_message : "");
        return STALE;
    }
    return FRESH;
}

/* Run the policy with lead_ms into the reply's policy fields; false (and an UNAVAILABLE
 * status) when it refused the forecast. */
static bool run_policy(const struct kd_scaler_request *request, const struct kd_cache_view *view,
                       const struct kd_settings *settings, int64_t now_ms, int64_t lead_ms,
                       struct kd_scaler_reply *reply)
{
    struct kd_policy_result result;

    if (kd_external_scaler_decide(settings, view->forecast, now_ms, lead_ms, &result) < 0) {
        reply_status(reply, KD_GRPC_UNAVAILABLE, "forecast for %s is unusable: %s",
                     request->workload, result.reason);
        return false;
    }
    reply->policy_value = result.value;
    reply->window_first = result.window_first;
    reply->window_last = result.window_last;
    return true;
}

void kd_external_scaler_answer_metrics(const struct kd_scaler_request *request,
                                       const struct kd_cache_view *view,
                                       const struct kd_settings *settings, int64_t now_ms,
                                       struct kd_scaler_reply *ret_reply)
{
    enum freshness fresh = check_fresh(request, view, settings, now_ms, ret_reply);

    if (settings->mode == KD_MODE_SHADOW) {
        /* As if the trigger were absent; the policy's answer is only exported. */
        ret_reply->shadow = true;
        if (fresh == FRESH)
            run_policy(request, view, settings, now_ms, settings->lead_time_ms, ret_reply);
        pack_value(request, 0, ret_reply);
        return;
    }
    if (fresh == NO_FORECAST)
        return;
    if (fresh == STALE) {
        if (settings->fallback_replicas >= 0)
            pack_value(request, (double)settings->fallback_replicas, ret_reply);
        return;
    }
    if (run_policy(request, view, settings, now_ms, settings->lead_time_ms, ret_reply))
        pack_value(request, ret_reply->policy_value, ret_reply);
}

void kd_external_scaler_answer_is_active(const struct kd_scaler_request *request,
                                         const struct kd_cache_view *view,
                                         const struct kd_settings *settings, int64_t now_ms,
                                         struct kd_scaler_reply *ret_reply)
{
    enum freshness fresh = check_fresh(request, view, settings, now_ms, ret_reply);
    bool active;

    ret_reply->next_activation_ms = -1;
    if (settings->mode == KD_MODE_SHADOW) {
        ret_reply->shadow = true;
        kd_external_scaler_pack_is_active(false, ret_reply);
        return;
    }
    if (fresh != FRESH) {
        /* An error keeps KEDA from scaling to zero and lets the ScaledObject's fallback act;
         * on_stale = "inactive" is upstream's false. */
        if (settings->on_stale == KD_ON_STALE_INACTIVE)
            kd_external_scaler_pack_is_active(false, ret_reply);
        return;
    }
    if (settings->activation == KD_ACTIVATION_FRESH) {
        active = true;
    } else {
        if (!run_policy(request, view, settings, now_ms, settings->activation_lead_ms, ret_reply))
            return;
        active = ret_reply->policy_value > settings->activation_threshold;
        if (!active)
            ret_reply->next_activation_ms =
                kd_activation_next_ms(view->forecast, settings->activation_lead_ms,
                                      settings->activation_threshold, now_ms);
    }
    kd_external_scaler_pack_is_active(active, ret_reply);
}

void kd_external_scaler_answer_error(const struct kd_scaler_request *request, int error,
                                     const struct kd_routes *routes,
                                     struct kd_scaler_reply *ret_reply)
{
    char list[256];

    switch (error) {
    case -ENOENT:
        kd_routes_describe(routes, list, sizeof(list));
        reply_status(ret_reply, KD_GRPC_NOT_FOUND, "no workload route matches \"%s\"; routes: %s",
                     request->workload, list);
        break;
    case -ESHUTDOWN:
        reply_status(ret_reply, KD_GRPC_UNAVAILABLE, "shutting down");
        break;
    case -ENOMEM:
        reply_status(ret_reply, KD_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        break;
    case -ENOSPC: /* every cached workload is busy: nothing could be evicted for this one */
        reply_status(ret_reply, KD_GRPC_RESOURCE_EXHAUSTED,
                     "workload cache full: all limits.max_workloads entries are in use; \"%s\" "
                     "not cached",
                     request->workload);
        break;
    default:
        reply_status(ret_reply, KD_GRPC_INTERNAL, "%s", strerror(error < 0 ? -error : error));
        break;
    }
}
