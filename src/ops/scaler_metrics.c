/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's metric set (see scaler_metrics.h); names and help strings match upstream. */
#include "ops/scaler_metrics.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "ops/metrics.h"

#define N_METHODS 4

static const char *const method_names[N_METHODS] = {
    [KD_SCALER_IS_ACTIVE] = "IsActive",
    [KD_SCALER_STREAM_IS_ACTIVE] = "StreamIsActive",
    [KD_SCALER_GET_METRIC_SPEC] = "GetMetricSpec",
    [KD_SCALER_GET_METRICS] = "GetMetrics",
};

static const char *const result_names[KD_SCALER_RESULT_COUNT] = {
    [KD_SCALER_RESULT_SUCCESS] = "success",
    [KD_SCALER_RESULT_ERROR] = "error",
    [KD_SCALER_RESULT_ACTIVE] = "active",
    [KD_SCALER_RESULT_INACTIVE_ERROR] = "inactive_error",
    [KD_SCALER_RESULT_INACTIVE_STALE] = "inactive_stale",
    [KD_SCALER_RESULT_STARTED] = "started",
    [KD_SCALER_RESULT_INACTIVE] = "inactive",
};

static const char *const mode_names[] = {[KD_MODE_ACTIVE] = "active", [KD_MODE_SHADOW] = "shadow"};

static const char *const evict_names[KD_CACHE_EVICT_REASON_COUNT] = {
    [KD_CACHE_EVICT_IDLE] = "idle",
    [KD_CACHE_EVICT_NOT_FOUND] = "not_found",
    [KD_CACHE_EVICT_CAPACITY] = "capacity",
};

static const char *const fetch_names[] = {
    [KD_CACHE_FETCH_SUCCESS] = "success",
    [KD_CACHE_FETCH_ERROR] = "error",
    [KD_CACHE_FETCH_NOT_FOUND] = "not_found",
    [KD_CACHE_FETCH_TIMEOUT] = "timeout",
};

enum {
    M_REQUESTS,
    M_DURATION,
    M_FETCH_DURATION,
    M_FETCH_ERRORS,
    M_DESIRED,
    M_AGE_SEEN,
    M_WORKLOAD_DESIRED,
    M_WORKLOAD_AGE,
    M_FETCHES,
    M_CACHE_ENTRIES,
    M_CACHE_EVICTIONS,
    M_OPEN_STREAMS,
    M_OPEN_CONNECTIONS,
    M_RELOADS,
    M_TLS_FAILURES,
    M_BUILD_INFO,
    M_CPU,
    M_RSS,
    M_VSIZE,
    M_OPEN_FDS,
    M_MAX_FDS,
    M_START_TIME,
    M_COUNT,
};

static const struct kd_metric_desc descs[M_COUNT] = {
    /* Upstream (cmd/scaler/metrics/metrics.go), exactly. */
    [M_REQUESTS] = {"kedastral_scaler_grpc_requests_total",
                    "Total number of gRPC requests by method and status",
                    KD_METRIC_COUNTER,
                    {"method", "status"},
                    N_METHODS *KD_SCALER_RESULT_COUNT,
                    NULL,
                    0},
    [M_DURATION] = {"kedastral_scaler_grpc_request_duration_seconds",
                    "Duration of gRPC requests by method",
                    KD_METRIC_HISTOGRAM,
                    {"method"},
                    N_METHODS,
                    NULL,
                    0},
    [M_FETCH_DURATION] = {"kedastral_scaler_forecast_fetch_duration_seconds",
                          "Duration of forecast fetch from forecaster",
                          KD_METRIC_HISTOGRAM,
                          {NULL},
                          0,
                          NULL,
                          0},
    [M_FETCH_ERRORS] = {"kedastral_scaler_forecast_fetch_errors_total",
                        "Total number of errors fetching forecasts",
                        KD_METRIC_COUNTER,
                        {NULL},
                        0,
                        NULL,
                        0},
    [M_DESIRED] = {"kedastral_scaler_desired_replicas_returned",
                   "Last desired replicas value returned to KEDA",
                   KD_METRIC_GAUGE,
                   {NULL},
                   0,
                   NULL,
                   0},
    [M_AGE_SEEN] = {"kedastral_scaler_forecast_age_seen_seconds",
                    "Age of forecast data seen from forecaster",
                    KD_METRIC_GAUGE,
                    {NULL},
                    0,
                    NULL,
                    0},
    /* Ours. */
    [M_WORKLOAD_DESIRED] = {"kedastral_scaler_workload_desired_replicas",
                            "Last desired replicas value returned to KEDA, by workload (mode "
                            "shadow: what would have been returned)",
                            KD_METRIC_GAUGE,
                            {"workload", "mode"},
                            KD_SCALER_METRICS_MAX_WORKLOADS,
                            NULL,
                            0},
    [M_WORKLOAD_AGE] = {"kedastral_scaler_workload_forecast_age_seconds",
                        "Age of the forecast last used for the workload, in seconds",
                        KD_METRIC_GAUGE,
                        {"workload"},
                        KD_SCALER_METRICS_MAX_WORKLOADS,
                        NULL,
                        0},
    [M_FETCHES] = {"kedastral_scaler_forecast_fetches_total",
                   "Forecast fetches by source instance and result",
                   KD_METRIC_COUNTER,
                   {"source", "result"},
                   256,
                   NULL,
                   0},
    [M_CACHE_ENTRIES] = {"kedastral_scaler_cache_entries",
                         "Workloads held in the forecast cache",
                         KD_METRIC_GAUGE,
                         {NULL},
                         0,
                         NULL,
                         0},
    [M_CACHE_EVICTIONS] = {"kedastral_scaler_cache_evictions_total",
                           "Cache entries dropped, by reason (idle, not_found, capacity)",
                           KD_METRIC_COUNTER,
                           {"reason"},
                           KD_CACHE_EVICT_REASON_COUNT,
                           NULL,
                           0},
    [M_OPEN_STREAMS] = {"kedastral_scaler_open_streams",
                        "Open StreamIsActive streams",
                        KD_METRIC_GAUGE,
                        {NULL},
                        0,
                        NULL,
                        0},
    [M_OPEN_CONNECTIONS] = {"kedastral_scaler_grpc_open_connections",
                            "Open gRPC (HTTP/2) connections",
                            KD_METRIC_GAUGE,
                            {NULL},
                            0,
                            NULL,
                            0},
    [M_RELOADS] = {"kedastral_scaler_config_reloads_total",
                   "Configuration reloads (SIGHUP) by result",
                   KD_METRIC_COUNTER,
                   {"result"},
                   2,
                   NULL,
                   0},
    [M_TLS_FAILURES] = {"kedastral_scaler_tls_handshake_failures_total",
                        "TLS handshakes on the gRPC port that did not end in HTTP/2, by reason "
                        "(no_h2, plaintext, client_certificate, protocol, closed, timeout)",
                        KD_METRIC_COUNTER,
                        {"reason"},
                        8,
                        NULL,
                        0},
    [M_BUILD_INFO] = {"kedastral_scaler_build_info",
                      "Build information of the kedastral scaler; the value is always 1",
                      KD_METRIC_GAUGE,
                      {"version"},
                      1,
                      NULL,
                      0},
    /* client_golang's process collector names and help strings. */
    [M_CPU] = {"process_cpu_seconds_total",
               "Total user and system CPU time spent in seconds.",
               KD_METRIC_COUNTER,
               {NULL},
               0,
               NULL,
               0},
    [M_RSS] = {"process_resident_memory_bytes",
               "Resident memory size in bytes.",
               KD_METRIC_GAUGE,
               {NULL},
               0,
               NULL,
               0},
    [M_VSIZE] = {"process_virtual_memory_bytes",
                 "Virtual memory size in bytes.",
                 KD_METRIC_GAUGE,
                 {NULL},
                 0,
                 NULL,
                 0},
    [M_OPEN_FDS] = {"process_open_fds",
                    "Number of open file descriptors.",
                    KD_METRIC_GAUGE,
                    {NULL},
                    0,
                    NULL,
                    0},
    [M_MAX_FDS] = {"process_max_fds",
                   "Maximum number of open file descriptors.",
                   KD_METRIC_GAUGE,
                   {NULL},
                   0,
                   NULL,
                   0},
    [M_START_TIME] = {"process_start_time_seconds",
                      "Start time of the process since unix epoch in seconds.",
                      KD_METRIC_GAUGE,
                      {NULL},
                      0,
                      NULL,
                      0},
};

struct kd_scaler_metrics {
    struct kd_metric *m[M_COUNT];
    struct kd_series *single[M_COUNT]; /* unlabelled metrics */
    struct kd_series *requests[N_METHODS][KD_SCALER_RESULT_COUNT];
    struct kd_series *duration[N_METHODS];
    struct kd_series *reload_ok, *reload_failed;
    struct kd_series *evictions[KD_CACHE_EVICT_REASON_COUNT];
};

enum { MEMO_DESIRED_ACTIVE, MEMO_DESIRED_SHADOW, MEMO_AGE };

/* The series of `metric` for these label values, from the memo's hint in `slot` while that
 * still names it; NULL when the metric is at its series cap (tried again next time). */
static struct kd_series *memo_series(struct kd_observer_memo *memo, int slot,
                                     struct kd_metric *metric, const char *const *values)
{
    struct kd_series *s;

    if (memo && (s = kd_metric_series_hinted(metric, memo->slot[slot], values)))
        return s;
    if (kd_metric_series(metric, values, &s) < 0)
        return NULL;
    if (memo)
        memo->slot[slot] = kd_series_hint(s);
    return s;
}

int kd_scaler_metrics_create(struct kd_metrics *registry, const char *version, double start_time_s,
                             struct kd_scaler_metrics **ret_metrics)
{
    struct kd_scaler_metrics *sm = calloc(1, sizeof(*sm));
    struct kd_series *build;
    int r;

    if (!sm)
        return -ENOMEM;
    for (size_t i = 0; i < M_COUNT; i++) {
        r = kd_metrics_add(registry, &descs[i], &sm->m[i]);
        if (r < 0)
            goto fail;
        if (!descs[i].labels[0] && (r = kd_metric_series(sm->m[i], NULL, &sm->single[i])) < 0)
            goto fail;
    }
    /* Resolved ahead so a call is a plain add; each appears from its first use, as upstream. */
    for (size_t m = 0; m < N_METHODS; m++) {
        for (size_t s = 0; s < KD_SCALER_RESULT_COUNT; s++) {
            r = kd_metric_series(sm->m[M_REQUESTS],
                                 (const char *[]){method_names[m], result_names[s]},
                                 &sm->requests[m][s]);
            if (r < 0)
                goto fail;
        }
        r = kd_metric_series(sm->m[M_DURATION], (const char *[]){method_names[m]},
                             &sm->duration[m]);
        if (r < 0)
            goto fail;
    }
    if ((r = kd_metric_series(sm->m[M_RELOADS], (const char *[]){"success"}, &sm->reload_ok)) < 0 ||
        (r = kd_metric_series(sm->m[M_RELOADS], (const char *[]){"failure"}, &sm->reload_failed)) <
            0 ||
        (r = kd_metric_series(sm->m[M_BUILD_INFO], (const char *[]){version}, &build)) < 0)
        goto fail;
    for (size_t e = 0; e < KD_CACHE_EVICT_REASON_COUNT; e++) {
        if ((r = kd_metric_series(sm->m[M_CACHE_EVICTIONS], &evict_names[e], &sm->evictions[e])) <
            0)
            goto fail;
        kd_series_add(sm->evictions[e], 0);
    }
    kd_series_add(sm->reload_ok, 0);
    kd_series_add(sm->reload_failed, 0);
    kd_series_set(build, 1);
    kd_series_set(sm->single[M_START_TIME], start_time_s);
    *ret_metrics = sm;
    return 0;

fail:
    /* The registry keeps what was added; it is destroyed with it. */
    free(sm);
    return r;
}

void kd_scaler_metrics_destroy(struct kd_scaler_metrics *metrics)
{
    free(metrics);
}

static void on_call(void *arg, enum kd_scaler_method method, enum kd_scaler_result result,
                    double duration_s)
{
    struct kd_scaler_metrics *sm = arg;

    if ((unsigned)method >= N_METHODS || (unsigned)result >= KD_SCALER_RESULT_COUNT)
        return;
    kd_series_add(sm->requests[method][result], 1);
    if (duration_s >= 0)
        kd_series_observe(sm->duration[method], duration_s);
}

static void on_answer(void *arg, const char *workload, enum kd_route_mode mode, double replicas,
                      double age_s, struct kd_observer_memo *memo)
{
    struct kd_scaler_metrics *sm = arg;
    struct kd_series *s;
    bool shadow = mode == KD_MODE_SHADOW;

    if (!isnan(replicas)) {
        /* upstream's gauge is what KEDA got: a shadow route's would-be value is not that */
        if (!shadow)
            kd_series_set(sm->single[M_DESIRED], replicas);
        s = memo_series(memo, shadow ? MEMO_DESIRED_SHADOW : MEMO_DESIRED_ACTIVE,
                        sm->m[M_WORKLOAD_DESIRED], (const char *[]){workload, mode_names[shadow]});
        if (s)
            kd_series_set(s, replicas);
    }
    kd_series_set(sm->single[M_AGE_SEEN], age_s);
    s = memo_series(memo, MEMO_AGE, sm->m[M_WORKLOAD_AGE], &workload);
    if (s)
        kd_series_set(s, age_s);
}

static void on_fetch(void *arg, const char *source, enum kd_cache_fetch_result result,
                     double duration_s)
{
    struct kd_scaler_metrics *sm = arg;
    struct kd_series *s;

    if ((unsigned)result >= sizeof(fetch_names) / sizeof(fetch_names[0]))
        return;
    kd_series_observe(sm->single[M_FETCH_DURATION], duration_s);
    if (result != KD_CACHE_FETCH_SUCCESS)
        kd_series_add(sm->single[M_FETCH_ERRORS], 1);
    if (kd_metric_series(sm->m[M_FETCHES], (const char *[]){source, fetch_names[result]}, &s) == 0)
        kd_series_add(s, 1);
}

static void on_evict(void *arg, const char *workload, enum kd_cache_evict_reason reason)
{
    struct kd_scaler_metrics *sm = arg;

    if ((unsigned)reason < KD_CACHE_EVICT_REASON_COUNT)
        kd_series_add(sm->evictions[reason], 1);
    for (size_t m = 0; m < sizeof(mode_names) / sizeof(mode_names[0]); m++)
        kd_metric_remove(sm->m[M_WORKLOAD_DESIRED], (const char *[]){workload, mode_names[m]});
    kd_metric_remove(sm->m[M_WORKLOAD_AGE], &workload);
}

void kd_scaler_metrics_observer(struct kd_scaler_metrics *metrics,
                                struct kd_scaler_observer *ret_observer)
{
    *ret_observer = (struct kd_scaler_observer){
        .on_call = on_call,
        .on_answer = on_answer,
        .cache = {.on_fetch = on_fetch, .on_evict = on_evict, .arg = metrics},
        .arg = metrics,
    };
}

void kd_scaler_metrics_pull(struct kd_scaler_metrics *metrics,
                            const struct kd_scaler_metrics_pull *pull)
{
    kd_series_set(metrics->single[M_CACHE_ENTRIES], (double)pull->cache_entries);
    kd_series_set(metrics->single[M_OPEN_STREAMS], (double)pull->open_streams);
    if (pull->has_connections)
        kd_series_set(metrics->single[M_OPEN_CONNECTIONS], (double)pull->open_connections);
    if (pull->has_process) {
        kd_series_set(metrics->single[M_CPU], pull->process.cpu_seconds);
        kd_series_set(metrics->single[M_RSS], pull->process.resident_bytes);
        kd_series_set(metrics->single[M_VSIZE], pull->process.virtual_bytes);
        kd_series_set(metrics->single[M_OPEN_FDS], pull->process.open_fds);
        kd_series_set(metrics->single[M_MAX_FDS], pull->process.max_fds);
    }
    for (size_t i = 0; i < pull->n_tls_failures && i < 8; i++) {
        struct kd_series *series;
        if (kd_metric_series(metrics->m[M_TLS_FAILURES], &pull->tls_failures[i].reason, &series) ==
            0)
            kd_series_set(series, (double)pull->tls_failures[i].count);
    }
}

void kd_scaler_metrics_reload(struct kd_scaler_metrics *metrics, bool ok)
{
    kd_series_add(ok ? metrics->reload_ok : metrics->reload_failed, 1);
    if (ok) {
        kd_metric_clear(metrics->m[M_WORKLOAD_DESIRED]);
        kd_metric_clear(metrics->m[M_WORKLOAD_AGE]);
    }
}
