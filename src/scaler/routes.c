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
    routes->policies = NULL;
    routes->n_policies = 0;
}

void kd_routes_fini(struct kd_routes *routes)
{
    for (size_t i = 0; i < routes->n; i++)
        free(routes->routes[i].match);
    free(routes->routes);
    kd_routes_init(routes);
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
        .stale_after_ms = stale_after_ms < 0 ? -1 : stale_after_ms,
        .fallback_replicas = fallback_replicas < 0 ? -1 : fallback_replicas,
        .activation_lead_ms = -1,
        .lead_time_max_ms = KD_LEAD_TIME_MAX_DEFAULT_MS,
        .stale_after_max_ms = KD_STALE_AFTER_MAX_DEFAULT_MS,
    };
    return 0;
}

void kd_routes_configure(struct kd_route *route, const struct kd_config_workload *w)
{
    route->stale_after_ms = w->stale_after_ms < 0 ? -1 : w->stale_after_ms;
    route->fallback_replicas = w->fallback_replicas < 0 ? -1 : w->fallback_replicas;
    route->on_stale = w->on_stale;
    route->activation = w->activation;
    route->activation_lead_ms = w->activation_lead_ms < 0 ? -1 : w->activation_lead_ms;
    route->activation_threshold = w->activation_threshold;
    route->mode = w->mode;
    route->overrides = w->overrides;
    route->lead_time_max_ms = w->lead_time_max_ms;
    route->stale_after_max_ms = w->stale_after_max_ms;
    route->written = w->written;
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
