/* SPDX-License-Identifier: Apache-2.0 */
/*
 * externalscaler.ExternalScaler semantics as pure functions: request bytes -> workload and
 * metric name, (cache view, now) -> response bytes or a status. The libevent/transport glue
 * lives in scaler.c; everything here is unit-tested without a network.
 */
#ifndef KD_EXTERNAL_SCALER_H
#define KD_EXTERNAL_SCALER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grpc/grpc_server.h"

struct kd_cache_view;
struct kd_routes;

#define KD_EXTERNAL_SCALER_SERVICE "externalscaler.ExternalScaler"

enum kd_scaler_method {
    KD_SCALER_IS_ACTIVE,
    KD_SCALER_STREAM_IS_ACTIVE,
    KD_SCALER_GET_METRIC_SPEC,
    KD_SCALER_GET_METRICS,
};

/* A parsed request. Both strings live in one allocation owned by the request. */
struct kd_scaler_request {
    enum kd_scaler_method method;
    char *workload;
    char *metric_name; /* GetMetrics: as requested, or the computed name if empty */
};

/* An answer: status OK with `body` (a packed response message, possibly 0 bytes) or a status
 * and message. */
struct kd_scaler_reply {
    enum kd_grpc_status status;
    char message[512];
    uint8_t *body; /* inline_body or heap */
    size_t len;
    uint8_t inline_body[160];
    double value;   /* GetMetrics: the value answered, for the log line */
    int64_t age_ms; /* GetMetrics/IsActive: the forecast's age, -1 when none */
    bool stale;     /* the forecast was older than the route's stale_after */
};

void kd_external_scaler_reply_init(struct kd_scaler_reply *reply);
void kd_external_scaler_reply_fini(struct kd_scaler_reply *reply);

/*
 * Unpack `msg` (ScaledObjectRef, or GetMetricsRequest for GetMetrics) and resolve the
 * workload ("workload" metadata, else the ref's name) and metric name ("metricName" metadata,
 * else "kedastral-<workload>-desired-replicas"). On a bad request returns -EINVAL with a
 * 3 INVALID_ARGUMENT in *ret_error; -ENOMEM likewise with 8 RESOURCE_EXHAUSTED.
 */
int kd_external_scaler_parse(enum kd_scaler_method method, const uint8_t *msg, size_t len,
                             struct kd_scaler_request *ret_request,
                             struct kd_scaler_reply *ret_error);
void kd_external_scaler_request_fini(struct kd_scaler_request *request);

/* GetMetricSpec: one MetricSpec {metricName, targetSize 1, targetSizeFloat 1.0}. */
void kd_external_scaler_answer_metric_spec(const struct kd_scaler_request *request,
                                           struct kd_scaler_reply *ret_reply);

/* GetMetrics from what the cache knows about the workload. */
void kd_external_scaler_answer_metrics(const struct kd_scaler_request *request,
                                       const struct kd_cache_view *view, int64_t now_ms,
                                       struct kd_scaler_reply *ret_reply);

/* True iff there is a forecast and now - generatedAt <= the route's stale_after. */
bool kd_external_scaler_is_active(const struct kd_cache_view *view, int64_t now_ms);

/* IsActive (always OK) and one StreamIsActive message. */
void kd_external_scaler_answer_is_active(bool active, struct kd_scaler_reply *ret_reply);

/* The cache could not answer: `error` from kd_forecast_cache_lookup()/subscribe() (-ENOENT
 * no route, -ESHUTDOWN, -ENOMEM); `view` NULL means the waiter was told the cache shut down. */
void kd_external_scaler_answer_error(const struct kd_scaler_request *request, int error,
                                     const struct kd_routes *routes,
                                     struct kd_scaler_reply *ret_reply);

#endif /* KD_EXTERNAL_SCALER_H */
