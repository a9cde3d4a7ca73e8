/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Workload routes: which source instance and policy instance answer for a workload name.
 * Checked in config order with fnmatch(3) globs; the first match wins.
 */
#ifndef KD_ROUTES_H
#define KD_ROUTES_H

#include <stddef.h>
#include <stdint.h>

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
    int64_t stale_after_ms;    /* resolved: never -1 */
    int64_t fallback_replicas; /* -1: none */
};

struct kd_routes {
    struct kd_route *routes;
    size_t n;
};

void kd_routes_init(struct kd_routes *routes);
void kd_routes_fini(struct kd_routes *routes);

/*
 * Append a route. `stale_after_ms` < 0 means 2 x the policy's lookahead (the upstream rule);
 * `fallback_replicas` < 0 means none. -EINVAL for an empty glob or a non-positive timing,
 * -ENOMEM.
 */
int kd_routes_add(struct kd_routes *routes, const char *match, struct kd_instance *source,
                  struct kd_instance *policy, const struct kd_source_timing *timing,
                  int64_t stale_after_ms, int64_t fallback_replicas);

/* First route whose glob matches `workload`, or NULL. */
const struct kd_route *kd_routes_match(const struct kd_routes *routes, const char *workload);

/* "a*, b" (the globs in order, for NOT_FOUND messages); truncated to fit, always terminated. */
void kd_routes_describe(const struct kd_routes *routes, char *buf, size_t len);

#endif /* KD_ROUTES_H */
