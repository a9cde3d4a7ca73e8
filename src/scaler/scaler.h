/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KEDA side: sources, policies and routes built from the configuration, the per-workload
 * forecast cache, and the externalscaler.ExternalScaler service.
 */
#ifndef KD_SCALER_H
#define KD_SCALER_H

#include <stddef.h>

#include "scaler/external_scaler.h"
#include "scaler/forecast_cache.h"

struct event_base;
struct kd_config;
struct kd_grpc_method;
struct kd_grpc_server;
struct kd_scaler;
struct kd_instance;
struct kd_routes;
struct kd_status_tracker;

/* Load the plugins the config names, create their instances, build the routes. On error one
 * line in err (file:line when the config has it), negative errno, nothing left behind. */
int kd_scaler_create(const struct kd_config *config, struct event_base *base,
                     struct kd_scaler **ret_scaler, char *err, size_t err_len);

/* Register externalscaler.ExternalScaler on `server`. The method table lives in the scaler:
 * destroy the server before the scaler. */
int kd_scaler_register(struct kd_scaler *scaler, struct kd_grpc_server *server);

/* The method table kd_scaler_register() registers (reload.c swaps it in with
 * kd_grpc_server_replace()). */
const struct kd_grpc_method *kd_scaler_methods(const struct kd_scaler *scaler, size_t *ret_n);

/* Shutdown: end every StreamIsActive stream with status OK, cancel pending fetches. */
void kd_scaler_drain(struct kd_scaler *scaler);

void kd_scaler_destroy(struct kd_scaler *scaler);

/* A call's outcome in upstream's metric vocabulary (status label of grpc_requests_total). */
enum kd_scaler_result {
    KD_SCALER_RESULT_SUCCESS,        /* GetMetricSpec, GetMetrics */
    KD_SCALER_RESULT_ERROR,          /* GetMetrics, GetMetricSpec, StreamIsActive refused */
    KD_SCALER_RESULT_ACTIVE,         /* IsActive */
    KD_SCALER_RESULT_INACTIVE_ERROR, /* IsActive: no forecast (fetch failed, no route) */
    KD_SCALER_RESULT_INACTIVE_STALE, /* IsActive: forecast older than stale_after */
    KD_SCALER_RESULT_STARTED,        /* StreamIsActive accepted */
    KD_SCALER_RESULT_INACTIVE,       /* IsActive: false from a fresh forecast (demand, shadow) */
    KD_SCALER_RESULT_COUNT,
};

/* Optional hooks for metrics, on the loop thread; they must not call into the scaler. */
struct kd_scaler_observer {
    /* One call's outcome; duration_s < 0 when not timed (StreamIsActive). */
    void (*on_call)(void *arg, enum kd_scaler_method method, enum kd_scaler_result result,
                    double duration_s);
    /* A forecast was used for `workload`: GetMetrics answered `replicas` (in shadow mode what
     * the policy would have answered; NAN for an active IsActive), from a forecast `age_s`
     * old. `memo`: the workload's (struct kd_observer_memo), NULL when there is no entry. */
    void (*on_answer)(void *arg, const char *workload, enum kd_route_mode mode, double replicas,
                      double age_s, struct kd_observer_memo *memo);
    struct kd_cache_observer cache; /* fetch outcomes and evictions */
    void *arg;
};

/* Copy `observer` (NULL: none). */
void kd_scaler_set_observer(struct kd_scaler *scaler, const struct kd_scaler_observer *observer);

struct kd_scaler_stats {
    size_t cache_entries;
    size_t open_streams; /* StreamIsActive */
    size_t open_calls;   /* every call dispatched to this scaler and not closed yet */
};

void kd_scaler_stats(const struct kd_scaler *scaler, struct kd_scaler_stats *ret_stats);

/*
 * Reload: the scaler was unregistered and a new one serves. Its StreamIsActive streams end
 * now with status 0 (KEDA reconnects to the new configuration); unary calls already
 * dispatched here (cold waits) finish on it. Once the last one closes the scaler frees itself,
 * from the loop, and then calls `on_released`. kd_scaler_drain still applies.
 */
void kd_scaler_retire(struct kd_scaler *scaler, void (*on_released)(void *arg, struct kd_scaler *s),
                      void *arg);

/*
 * Reload, before `scaler` serves: carry over `old`'s cached forecasts (with their fetch times
 * and error states) for every workload whose route in `scaler` uses a source that `old` has
 * too, under the same name with the same definition (plugin, options, host keys; see
 * source_identity.h). Other workloads fetch anew from their first call. Best effort: an entry
 * that cannot be copied (out of memory) is fetched anew too. Returns how many were carried.
 */
size_t kd_scaler_adopt(struct kd_scaler *scaler, const struct kd_scaler *old);

/* What a status snapshot reads (scaler_status.c); all borrowed from the scaler. */
struct kd_scaler_parts {
    const struct kd_forecast_cache *cache;
    const struct kd_routes *routes;
    struct kd_instance *const *sources;
    size_t n_sources;
    const struct kd_status_tracker *tracker;
};

void kd_scaler_parts(const struct kd_scaler *scaler, struct kd_scaler_parts *ret_parts);

#endif /* KD_SCALER_H */
