/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Workload routes: which source instance and policy instance answer for a workload name.
 * Checked in config order with fnmatch(3) globs; the first match wins.
 */
#ifndef KD_ROUTES_H
#define KD_ROUTES_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct kd_instance;

/* Per-source timings the cache applies (the source's host keys). */
struct kd_source_timing {
    int64_t refresh_ms;    /* background refresh period while the workload is asked about */
    int64_t timeout_ms;    /* a fetch is cancelled after this */
    int64_t idle_evict_ms; /* entries not asked about for this long are dropped */
};

struct kd_route {
    char *match;                /* owned copy of the glob */
    struct kd_instance *source; /* borrowed; outlive the routes */
    struct kd_instance *policy;
    struct kd_source_timing timing;
    int64_t stale_after_ms;    /* -1: 2 x max(lead time, the forecast's step) */
    int64_t fallback_replicas; /* -1: none */
    /* Predictive settings (config.h has their meaning); kd_routes_add() sets the defaults,
     * kd_routes_configure() the config file's. */
    enum kd_on_stale on_stale;
    enum kd_activation activation;
    int64_t activation_lead_ms; /* -1: the lead time */
    double activation_threshold;
    enum kd_route_mode mode;
    uint32_t overrides; /* allowed metadata keys, bit (1u << enum kd_override_key) */
    int64_t lead_time_max_ms;
    int64_t stale_after_max_ms;
    uint32_t written; /* bit (1u << enum kd_route_setting) per key written in the file */
};

struct kd_routes {
    struct kd_route *routes;
    size_t n;
    /* Every configured policy (borrowed), for the "policy" metadata override. */
    struct kd_instance *const *policies;
    size_t n_policies;
};

void kd_routes_init(struct kd_routes *routes);
void kd_routes_fini(struct kd_routes *routes);

/*
 * Append a route. `stale_after_ms` < 0 means 2 x max(lead time, step) per forecast;
 * `fallback_replicas` < 0 means none. -EINVAL for an empty glob or a non-positive timing,
 * -ENOMEM.
 */
int kd_routes_add(struct kd_routes *routes, const char *match, struct kd_instance *source,
                  struct kd_instance *policy, const struct kd_source_timing *timing,
                  int64_t stale_after_ms, int64_t fallback_replicas);

/* Copy the predictive keys of `w` (stale_after, fallback_replicas included) into `route`. */
void kd_routes_configure(struct kd_route *route, const struct kd_config_workload *w);

/* First route whose glob matches `workload`, or NULL. */
const struct kd_route *kd_routes_match(const struct kd_routes *routes, const char *workload);

/* "a*, b" (the globs in order, for NOT_FOUND messages); truncated to fit, always terminated. */
void kd_routes_describe(const struct kd_routes *routes, char *buf, size_t len);

#endif /* KD_ROUTES_H */
