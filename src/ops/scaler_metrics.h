/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's metric set: upstream Kedastral's six scaler metrics with their exact names,
 * help strings, labels and buckets, plus per-workload, fetch, cache, stream, reload, build
 * and process_* metrics. Fed by the scaler's observer hooks and by a pull before each scrape.
 */
#ifndef KD_SCALER_METRICS_H
#define KD_SCALER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/process_stats.h"
#include "scaler/scaler.h"

struct kd_metrics;
struct kd_scaler_metrics;

/* Bound on workload series; past it new workloads get no per-workload series. */
#define KD_SCALER_METRICS_MAX_WORKLOADS 1000

/* Register everything on `registry` (borrowed; must outlive the result). */
int kd_scaler_metrics_create(struct kd_metrics *registry, const char *version, double start_time_s,
                             struct kd_scaler_metrics **ret_metrics);
void kd_scaler_metrics_destroy(struct kd_scaler_metrics *metrics);

/* Observer callbacks that record into `metrics`, for kd_scaler_set_observer(). */
void kd_scaler_metrics_observer(struct kd_scaler_metrics *metrics,
                                struct kd_scaler_observer *ret_observer);

/* Values read just before a scrape. */
struct kd_scaler_metrics_pull {
    size_t cache_entries;
    size_t open_streams;
    bool has_connections;
    size_t open_connections;
    bool has_process;
    struct kd_process_stats process;
    /* Failed TLS handshakes by reason label, when the gRPC port speaks TLS. */
    size_t n_tls_failures;
    struct {
        const char *reason;
        uint64_t count;
    } tls_failures[8];
};

void kd_scaler_metrics_pull(struct kd_scaler_metrics *metrics,
                            const struct kd_scaler_metrics_pull *pull);

/* Count a reload by result. A successful one drops the per-workload series: they come back
 * with the next answer, and workloads no longer routed do not linger. */
void kd_scaler_metrics_reload(struct kd_scaler_metrics *metrics, bool ok);

#endif /* KD_SCALER_METRICS_H */
