/* SPDX-License-Identifier: Apache-2.0 */
/* Route table: glob matching of workload names to (source, policy) pairs. */
#include "scaler/routes.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/plugin_host.h"

void kd_routes_init(struct kd_routes *routes)
{
    routes->routes = NULL;
    routes->n = 0;
}

void kd_routes_fini(struct kd_routes *routes)
{
    for (size_t i = 0; i < routes->n; i++)
        free(routes->routes[i].match);
    free(routes->routes);
    kd_routes_init(routes);
}

static int64_t default_stale_after(const struct kd_instance *policy)
{
    const struct kd_policy_ops *ops = policy->plugin->policy;
    int64_t lookahead = ops->lookahead_ms ? ops->lookahead_ms(policy->state) : 0;

    /* Upstream: stale when age > 2 x lead time; a negative lead time makes everything stale. */
    if (lookahead <= 0)
        return 0;
    if (lookahead > INT64_MAX / 2)
        return INT64_MAX;
    return 2 * lookahead;
}

int kd_routes_add(struct kd_routes *routes, const char *match, struct kd_instance *source,
                  struct kd_instance *policy, const struct kd_source_timing *timing,
                  int64_t stale_after_ms, int64_t fallback_replicas)
{
    if (!match || !*match || !source || !policy || timing->refresh_ms <= 0 ||
        timing->timeout_ms <= 0 || timing->idle_evict_ms <= 0)
        return -EINVAL;

    char *copy = strdup(match);
    if (!copy)
        return -ENOMEM;
    struct kd_route *grown = realloc(routes->routes, (routes->n + 1) * sizeof(*grown));
    if (!grown) {
        free(copy);
        return -ENOMEM;
    }
    routes->routes = grown;
    routes->routes[routes->n++] = (struct kd_route){
        .match = copy,
        .source = source,
        .policy = policy,
        .timing = *timing,
        .stale_after_ms = stale_after_ms < 0 ? default_stale_after(policy) : stale_after_ms,
        .fallback_replicas = fallback_replicas < 0 ? -1 : fallback_replicas,
    };
    return 0;
}

const struct kd_route *kd_routes_match(const struct kd_routes *routes, const char *workload)
{
    for (size_t i = 0; i < routes->n; i++) {
        if (fnmatch(routes->routes[i].match, workload, 0) == 0)
            return &routes->routes[i];
    }
    return NULL;
}

void kd_routes_describe(const struct kd_routes *routes, char *buf, size_t len)
{
    size_t used = 0;

    if (len == 0)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < routes->n && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", routes->routes[i].match);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (routes->n == 0)
        snprintf(buf, len, "(none)");
}
