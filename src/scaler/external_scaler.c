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
#include "scaler/routes.h"

void kd_external_scaler_reply_init(struct kd_scaler_reply *reply)
{
    reply->status = KD_GRPC_OK;
    reply->message[0] = '\0';
    reply->body = reply->inline_body;
    reply->len = 0;
    reply->value = 0;
    reply->age_ms = -1;
    reply->stale = false;
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

/* Pack `msg` into the reply body (inline when it fits). */
static void reply_pack(struct kd_scaler_reply *reply, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);

    kd_external_scaler_reply_fini(reply);
    if (len > sizeof(reply->inline_body)) {
        reply->body = malloc(len);
        if (!reply->body) {
            reply->body = reply->inline_body;
            reply_status(reply, KD_GRPC_RESOURCE_EXHAUSTED, "out of memory");
            return;
        }
    }
    reply->len = protobuf_c_message_pack(msg, reply->body);
    reply->status = KD_GRPC_OK;
    reply->message[0] = '\0';
}

static const char *metadata(const Externalscaler__ScaledObjectRef *ref, const char *key)
{
    /* Like a Go map read: the last duplicate wins, absent and empty are the same. */
    const char *found = NULL;

    for (size_t i = 0; i < ref->n_scalermetadata; i++) {
        const Externalscaler__ScaledObjectRef__ScalerMetadataEntry *e = ref->scalermetadata[i];
        if (e && e->key && strcmp(e->key, key) == 0)
            found = e->value;
    }
    return found && *found ? found : NULL;
}

static const char *method_input(enum kd_scaler_method method)
{
    return method == KD_SCALER_GET_METRICS ? "GetMetricsRequest" : "ScaledObjectRef";
}

int kd_external_scaler_parse(enum kd_scaler_method method, const uint8_t *msg, size_t len,
                             struct kd_scaler_request *ret_request,
                             struct kd_scaler_reply *ret_error)
{
    Externalscaler__GetMetricsRequest *mreq = NULL;
    Externalscaler__ScaledObjectRef *ref = NULL;
    const Externalscaler__ScaledObjectRef *use;
    const char *requested_metric = NULL;
    int r = -EINVAL;

    if (method == KD_SCALER_GET_METRICS) {
        mreq = externalscaler__get_metrics_request__unpack(NULL, len, msg);
        if (!mreq)
            goto fail_malformed;
        if (!mreq->scaledobjectref) {
            reply_status(ret_error, KD_GRPC_INVALID_ARGUMENT,
                         "GetMetricsRequest has no scaledObjectRef");
            goto out;
        }
        use = mreq->scaledobjectref;
        requested_metric = mreq->metricname && *mreq->metricname ? mreq->metricname : NULL;
    } else {
        ref = externalscaler__scaled_object_ref__unpack(NULL, len, msg);
        if (!ref)
            goto fail_malformed;
        use = ref;
    }

    const char *workload = metadata(use, "workload");
    if (!workload)
        workload = use->name && *use->name ? use->name : NULL;
    if (!workload) {
        reply_status(ret_error, KD_GRPC_INVALID_ARGUMENT,
                     "ScaledObjectRef has no name and scalerMetadata has no \"workload\"");
        goto out;
    }
    const char *metric = requested_metric ? requested_metric : metadata(use, "metricName");
    size_t wlen = strlen(workload);
    size_t mlen = metric ? strlen(metric) : wlen + sizeof("kedastral--desired-replicas") - 1;
    char *block = malloc(wlen + 1 + mlen + 1);
    if (!block) {
        reply_status(ret_error, KD_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        r = -ENOMEM;
        goto out;
    }
    memcpy(block, workload, wlen + 1);
    if (metric)
        memcpy(block + wlen + 1, metric, mlen + 1);
    else
        snprintf(block + wlen + 1, mlen + 1, "kedastral-%s-desired-replicas", workload);
    *ret_request = (struct kd_scaler_request){
        .method = method,
        .workload = block,
        .metric_name = block + wlen + 1,
    };
    r = 0;
    goto out;

fail_malformed:
    reply_status(ret_error, KD_GRPC_INVALID_ARGUMENT, "malformed %s", method_input(method));
out:
    if (mreq)
        externalscaler__get_metrics_request__free_unpacked(mreq, NULL);
    if (ref)
        externalscaler__scaled_object_ref__free_unpacked(ref, NULL);
    return r;
}

void kd_external_scaler_request_fini(struct kd_scaler_request *request)
{
    free(request->workload);
    request->workload = request->metric_name = NULL;
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

static int64_t forecast_age(const struct kd_cache_view *view, int64_t now_ms)
{
    return now_ms - view->forecast->generated_at_ms;
}

bool kd_external_scaler_is_active(const struct kd_cache_view *view, int64_t now_ms)
{
    /* Upstream: stale when age > threshold, strictly; a future generatedAt is active. */
    return view->forecast && forecast_age(view, now_ms) <= view->route->stale_after_ms;
}

void kd_external_scaler_answer_is_active(bool active, struct kd_scaler_reply *ret_reply)
{
    Externalscaler__IsActiveResponse resp = EXTERNALSCALER__IS_ACTIVE_RESPONSE__INIT;

    resp.result = active;
    reply_pack(ret_reply, &resp.base);
}

/* llround() for the non-negative values answered here, without needing libm. */
static int64_t round_half_away(double value)
{
    if (value >= 9.2e18)
        return INT64_MAX;
    int64_t whole = (int64_t)value;
    return value - (double)whole >= 0.5 ? whole + 1 : whole;
}

static void pack_value(const struct kd_scaler_request *request, double value,
                       struct kd_scaler_reply *ret_reply)
{
    Externalscaler__MetricValue mv = EXTERNALSCALER__METRIC_VALUE__INIT;
    Externalscaler__MetricValue *values[1] = {&mv};
    Externalscaler__GetMetricsResponse resp = EXTERNALSCALER__GET_METRICS_RESPONSE__INIT;

    mv.metricname = request->metric_name;
    mv.metricvalue = round_half_away(value);
    mv.metricvaluefloat = value;
    resp.n_metricvalues = 1;
    resp.metricvalues = values;
    reply_pack(ret_reply, &resp.base);
    ret_reply->value = value;
}

void kd_external_scaler_answer_metrics(const struct kd_scaler_request *request,
                                       const struct kd_cache_view *view, int64_t now_ms,
                                       struct kd_scaler_reply *ret_reply)
{
    const struct kd_route *route = view->route;
    const char *w = request->workload;

    if (!view->forecast) {
        if (view->error == KD_FETCH_NOT_FOUND)
            reply_status(ret_reply, KD_GRPC_NOT_FOUND, "no forecast for %s: %s", w,
                         view->error_message);
        else
            reply_status(ret_reply, KD_GRPC_UNAVAILABLE, "no forecast for %s yet: %s", w,
                         view->error ? view->error_message : "the first fetch is running");
        return;
    }

    int64_t age = forecast_age(view, now_ms);
    ret_reply->age_ms = age;
    if (age > route->stale_after_ms) {
        ret_reply->stale = true;
        if (route->fallback_replicas >= 0) {
            pack_value(request, (double)route->fallback_replicas, ret_reply);
            return;
        }
        char age_text[80], limit_text[80];
        format_ms(age, age_text, sizeof(age_text));
        format_ms(route->stale_after_ms, limit_text, sizeof(limit_text));
        reply_status(ret_reply, KD_GRPC_UNAVAILABLE,
                     "forecast for %s is stale: generated %s ago, stale_after is %s%s%s", w,
                     age_text, limit_text, view->error ? "; last fetch: " : "",
                     view->error ? view->error_message : "");
        return;
    }

    const struct kd_instance *policy = route->policy;
    struct kd_policy_result result = {0};
    int r = policy->plugin->policy->decide(policy->state, view->forecast, now_ms, &result);
    if (r < 0) {
        result.reason[sizeof(result.reason) - 1] = '\0';
        reply_status(ret_reply, KD_GRPC_UNAVAILABLE, "forecast for %s is unusable: %s", w,
                     result.reason[0] ? result.reason : strerror(-r));
        return;
    }
    if (!isfinite(result.value)) {
        reply_status(ret_reply, KD_GRPC_UNAVAILABLE,
                     "forecast for %s is unusable: policy %s returned a non-finite value", w,
                     policy->name);
        return;
    }
    pack_value(request, result.value < 0 ? 0 : result.value, ret_reply);
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
    default:
        reply_status(ret_reply, KD_GRPC_INTERNAL, "%s", strerror(error < 0 ? -error : error));
        break;
    }
}
