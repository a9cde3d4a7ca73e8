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
#include "scaler/effective_settings.h"

struct kd_cache_view;
struct kd_routes;

/* Longest workload name accepted: a Kubernetes object name (DNS subdomain, 253 bytes). */
#define KD_WORKLOAD_NAME_MAX 253

#define KD_EXTERNAL_SCALER_SERVICE "externalscaler.ExternalScaler"

enum kd_scaler_method {
    KD_SCALER_IS_ACTIVE,
    KD_SCALER_STREAM_IS_ACTIVE,
    KD_SCALER_GET_METRIC_SPEC,
    KD_SCALER_GET_METRICS,
};

/* Bytes of a request's strings kept inside the request: a workload name of 100 bytes with the
 * computed metric name and a few overrides fits, so a cached call allocates nothing. */
#define KD_SCALER_REQUEST_INLINE 320

/* A parsed request. Every string lives in one block owned by the request: `inline_strings`
 * when it fits, else the heap. A copy of the struct would point into the original's block:
 * move it with kd_external_scaler_request_move(). */
struct kd_scaler_request {
    enum kd_scaler_method method;
    char *workload;
    char *metric_name;             /* GetMetrics: as requested, or the computed name if empty */
    struct kd_overrides overrides; /* recognised scalerMetadata keys (effective_settings.h) */
    /* Set when a recognised key's value holds a NUL byte or invalid UTF-8: GetMetrics and
     * IsActive answer INVALID_ARGUMENT with it (GetMetricSpec still answers). */
    char *override_error;
    char *strings; /* the block: NULL (strings owned elsewhere), inline_strings or heap */
    char inline_strings[KD_SCALER_REQUEST_INLINE];
};

/* An answer: status OK with `body` (a packed response message, possibly 0 bytes) or a status
 * and message. */
struct kd_scaler_reply {
    enum kd_grpc_status status;
    char message[512];
    uint8_t *body; /* inline_body or heap */
    size_t len;
    uint8_t inline_body[160];
    double value;           /* GetMetrics: the value answered, for the log line */
    int64_t age_ms;         /* GetMetrics/IsActive: the forecast's age, -1 when none */
    bool stale;             /* the forecast was older than stale_after, or exhausted */
    bool exhausted;         /* every step of the forecast has passed */
    int64_t stale_after_ms; /* the limit applied to this forecast; -1 when none */

    /* What the policy said, also in shadow mode (where GetMetrics answers 0): NAN when it did
     * not run (no usable forecast). window_* are the indexes it looked at, -1 if unknown. */
    double policy_value;
    int64_t window_first, window_last;
    bool shadow;

    /* IsActive / StreamIsActive: the outcome (false also on error) and, for activation =
     * "demand" while inactive, when demand enters the activation window (-1: never). */
    bool active;
    int64_t next_activation_ms;
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

/* Move a parsed request to `dst` (which is overwritten), re-homing pointers into the inline
 * block; `src` is left empty (its fini is a no-op). */
void kd_external_scaler_request_move(struct kd_scaler_request *dst, struct kd_scaler_request *src);

/* GetMetricSpec: one MetricSpec {metricName, targetSize 1, targetSizeFloat 1.0}. */
void kd_external_scaler_answer_metric_spec(const struct kd_scaler_request *request,
                                           struct kd_scaler_reply *ret_reply);

/*
 * GetMetrics from what the cache knows about the workload, under `settings` (the route's
 * with the request's overrides: kd_settings_resolve). Shadow mode answers 0 after running
 * the policy (reply->policy_value). No forecast: NOT_FOUND / UNAVAILABLE; stale or
 * exhausted: fallback_replicas, else UNAVAILABLE with the reason.
 */
void kd_external_scaler_answer_metrics(const struct kd_scaler_request *request,
                                       const struct kd_cache_view *view,
                                       const struct kd_settings *settings, int64_t now_ms,
                                       struct kd_scaler_reply *ret_reply);

/*
 * IsActive. Shadow: false. No forecast, stale or exhausted: an error with the reason
 * (NOT_FOUND for a workload the source does not know, else UNAVAILABLE), or false with
 * on_stale = "inactive". Fresh: activation "fresh" is true; "demand" runs the policy over
 * the activation window and is true iff its value exceeds activation_threshold (and then
 * reply->next_activation_ms says when that may change from false to true).
 */
void kd_external_scaler_answer_is_active(const struct kd_scaler_request *request,
                                         const struct kd_cache_view *view,
                                         const struct kd_settings *settings, int64_t now_ms,
                                         struct kd_scaler_reply *ret_reply);

/* One IsActiveResponse{result: active} (a StreamIsActive message). */
void kd_external_scaler_pack_is_active(bool active, struct kd_scaler_reply *ret_reply);

/* The request's override_error or a kd_settings_resolve() error as INVALID_ARGUMENT. */
void kd_external_scaler_answer_invalid(const char *message, struct kd_scaler_reply *ret_reply);

/*
 * Run `settings->policy` on `forecast` at now_ms with lead time `lead_ms` (the host's
 * effective lead time: an override, or the policy's own). On error returns a negative errno
 * with the reason in result->reason.
 */
int kd_external_scaler_decide(const struct kd_settings *settings,
                              const struct kd_forecast *forecast, int64_t now_ms, int64_t lead_ms,
                              struct kd_policy_result *result);

/* The cache could not answer: `error` from kd_forecast_cache_lookup()/subscribe() (-ENOENT
 * no route, -ESHUTDOWN, -ENOMEM); `view` NULL means the waiter was told the cache shut down. */
void kd_external_scaler_answer_error(const struct kd_scaler_request *request, int error,
                                     const struct kd_routes *routes,
                                     struct kd_scaler_reply *ret_reply);

#endif /* KD_EXTERNAL_SCALER_H */
