/* SPDX-License-Identifier: Apache-2.0 */
/* Effective predictive settings: route + allowed metadata overrides (see effective_settings.h). */
#include "scaler/effective_settings.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/plugin_host.h"
#include "scaler/routes.h"
#include "util/duration.h"
#include "util/errbuf.h"
#include "window.h"

const char *const kd_effective_setting_names[KD_EFF_COUNT] = {
    [KD_EFF_LEAD_TIME] = "lead_time",
    [KD_EFF_POLICY] = "policy",
    [KD_EFF_STALE_AFTER] = "stale_after",
    [KD_EFF_FALLBACK_REPLICAS] = "fallback_replicas",
    [KD_EFF_ACTIVATION] = "activation",
    [KD_EFF_ACTIVATION_LEAD] = "activation_lead",
    [KD_EFF_MODE] = "mode",
    [KD_EFF_ON_STALE] = "on_stale",
    [KD_EFF_ACTIVATION_THRESHOLD] = "activation_threshold",
};

const char *kd_setting_origin_name(enum kd_setting_origin origin)
{
    switch (origin) {
    case KD_ORIGIN_CONFIG:
        return "config";
    case KD_ORIGIN_METADATA:
        return "metadata";
    case KD_ORIGIN_DEFAULT:
        break;
    }
    return "default";
}

int64_t kd_settings_policy_lead_ms(const struct kd_instance *policy)
{
    return kd_instance_lookahead_ms(policy);
}

static const char *policy_name(const struct kd_instance *policy)
{
    return kd_instance_name(policy);
}

int64_t kd_settings_stale_after_ms(const struct kd_settings *settings, int64_t step_seconds)
{
    if (settings->stale_after_ms >= 0)
        return settings->stale_after_ms;
    int64_t base = settings->lead_time_ms;
    if (step_seconds > 0) {
        int64_t step_ms = step_seconds > INT64_MAX / 1000 ? INT64_MAX : step_seconds * 1000;
        if (step_ms > base)
            base = step_ms;
    }
    return base > INT64_MAX / 2 ? INT64_MAX : 2 * base;
}

static int fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    kd_errbuf_vprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* A duration override within [min_ms, max_ms]. */
static int parse_duration(enum kd_override_key key, const char *text, int64_t min_ms,
                          int64_t max_ms, const char *bound_name, int64_t *ret_ms, char *err,
                          size_t err_len)
{
    char lo[32], hi[32];
    int64_t ms;

    if (kd_duration_parse(text, &ms) < 0)
        return fail(err, err_len,
                    "scalerMetadata \"%s\": \"%s\" is not a duration; write e.g. \"90s\", \"5m\", "
                    "\"1h\"",
                    kd_override_names[key], text);
    if (ms < min_ms || ms > max_ms) {
        kd_duration_format(min_ms, lo, sizeof(lo));
        kd_duration_format(max_ms, hi, sizeof(hi));
        return fail(err, err_len,
                    "scalerMetadata \"%s\": \"%s\" is out of range; allowed: %s to %s (%s)",
                    kd_override_names[key], text, lo, hi, bound_name);
    }
    *ret_ms = ms;
    return 0;
}

static int parse_choice(enum kd_override_key key, const char *text, const char *const *names,
                        int *ret_index, char *err, size_t err_len)
{
    for (int i = 0; names[i]; i++) {
        if (strcmp(names[i], text) == 0) {
            *ret_index = i;
            return 0;
        }
    }
    return fail(err, err_len, "scalerMetadata \"%s\": unknown value \"%s\"; allowed: %s, %s",
                kd_override_names[key], text, names[0], names[1]);
}

static int parse_replicas(const char *text, int64_t *ret, char *err, size_t err_len)
{
    const char *key = kd_override_names[KD_OVERRIDE_FALLBACK_REPLICAS];
    char *end;
    long long v;

    errno = 0;
    v = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || (text[0] < '0' || text[0] > '9'))
        return fail(err, err_len,
                    "scalerMetadata \"%s\": \"%s\" is not an integer; allowed: 0 to %lld", key,
                    text, KD_REPLICAS_MAX);
    if (errno == ERANGE || v > KD_REPLICAS_MAX)
        return fail(err, err_len,
                    "scalerMetadata \"%s\": \"%s\" is out of range; allowed: 0 to %lld", key, text,
                    KD_REPLICAS_MAX);
    *ret = v;
    return 0;
}

static void list_allowed(uint32_t bits, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int k = 0; k < KD_OVERRIDE_COUNT && used < len; k++) {
        if (bits & (1u << k))
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
                                     kd_override_names[k]);
    }
    if (!bits)
        snprintf(buf, len, "none (the operator lists keys in the route's overrides = [...])");
}

static void list_policies(const struct kd_routes *routes, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < routes->n_policies && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
                                 policy_name(routes->policies[i]));
}

/* The route's own values, before any metadata. */
static void from_route(const struct kd_route *route, struct kd_settings *s)
{
    const uint32_t w = route->written;

    *s = (struct kd_settings){
        .policy = route->policy,
        .lead_time_ms = kd_settings_policy_lead_ms(route->policy),
        .stale_after_ms = route->stale_after_ms,
        .fallback_replicas = route->fallback_replicas,
        .activation = route->activation,
        .activation_lead_ms = route->activation_lead_ms,
        .mode = route->mode,
        .on_stale = route->on_stale,
        .activation_threshold = route->activation_threshold,
    };
    s->origin[KD_EFF_LEAD_TIME] = KD_ORIGIN_CONFIG;
    s->origin[KD_EFF_POLICY] = KD_ORIGIN_CONFIG;
    static const struct {
        enum kd_effective_setting setting;
        enum kd_route_setting key;
    } map[] = {
        {KD_EFF_STALE_AFTER, KD_ROUTE_STALE_AFTER},
        {KD_EFF_FALLBACK_REPLICAS, KD_ROUTE_FALLBACK_REPLICAS},
        {KD_EFF_ACTIVATION, KD_ROUTE_ACTIVATION},
        {KD_EFF_ACTIVATION_LEAD, KD_ROUTE_ACTIVATION_LEAD},
        {KD_EFF_MODE, KD_ROUTE_MODE},
        {KD_EFF_ON_STALE, KD_ROUTE_ON_STALE},
        {KD_EFF_ACTIVATION_THRESHOLD, KD_ROUTE_ACTIVATION_THRESHOLD},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        s->origin[map[i].setting] = (w & (1u << map[i].key)) ? KD_ORIGIN_CONFIG : KD_ORIGIN_DEFAULT;
}

static int apply(const struct kd_route *route, const struct kd_routes *routes,
                 enum kd_override_key key, const char *text, struct kd_settings *s, char *err,
                 size_t err_len)
{
    static const char *const activation_names[] = {"fresh", "demand", NULL};
    static const char *const mode_names[] = {"active", "shadow", NULL};
    char list[512];
    int choice, r = 0;

    if (!(route->overrides & (1u << key))) {
        list_allowed(route->overrides, list, sizeof(list));
        return fail(err, err_len,
                    "scalerMetadata \"%s\" is not allowed by route \"%s\"; it allows: %s",
                    kd_override_names[key], route->match, list);
    }
    switch (key) {
    case KD_OVERRIDE_LEAD_TIME:
        r = parse_duration(key, text, 0, route->lead_time_max_ms, "lead_time_max", &s->lead_time_ms,
                           err, err_len);
        break;
    case KD_OVERRIDE_ACTIVATION_LEAD_TIME:
        r = parse_duration(key, text, 0, route->lead_time_max_ms, "lead_time_max",
                           &s->activation_lead_ms, err, err_len);
        break;
    case KD_OVERRIDE_STALE_AFTER:
        r = parse_duration(key, text, 1, route->stale_after_max_ms, "stale_after_max",
                           &s->stale_after_ms, err, err_len);
        break;
    case KD_OVERRIDE_FALLBACK_REPLICAS:
        r = parse_replicas(text, &s->fallback_replicas, err, err_len);
        break;
    case KD_OVERRIDE_ACTIVATION:
        if ((r = parse_choice(key, text, activation_names, &choice, err, err_len)) == 0)
            s->activation = (enum kd_activation)choice;
        break;
    case KD_OVERRIDE_MODE:
        if ((r = parse_choice(key, text, mode_names, &choice, err, err_len)) == 0)
            s->mode = (enum kd_route_mode)choice;
        break;
    case KD_OVERRIDE_POLICY:
        r = -EINVAL;
        for (size_t i = 0; i < routes->n_policies && r < 0; i++) {
            if (strcmp(policy_name(routes->policies[i]), text) == 0) {
                s->policy = routes->policies[i];
                r = 0;
            }
        }
        if (r < 0) {
            list_policies(routes, list, sizeof(list));
            return fail(err, err_len,
                        "scalerMetadata \"%s\": unknown policy \"%s\"; configured: %s",
                        kd_override_names[key], text, list);
        }
        break;
    case KD_OVERRIDE_COUNT:
        break;
    }
    if (r == 0)
        s->origin[key] = KD_ORIGIN_METADATA;
    return r;
}

int kd_settings_resolve(const struct kd_route *route, const struct kd_routes *routes,
                        const struct kd_overrides *overrides, struct kd_settings *ret_settings,
                        char *err, size_t err_len)
{
    struct kd_settings s;
    int r = 0;

    from_route(route, &s);
    /* The policy first: its lead time is the default the other keys build on. */
    const char *text = overrides ? overrides->value[KD_OVERRIDE_POLICY] : NULL;
    if (text && *text) {
        r = apply(route, routes, KD_OVERRIDE_POLICY, text, &s, err, err_len);
        if (r == 0)
            s.lead_time_ms = kd_settings_policy_lead_ms(s.policy);
    }
    for (int k = 0; k < KD_OVERRIDE_COUNT && r == 0 && overrides; k++) {
        text = overrides->value[k];
        if (k != KD_OVERRIDE_POLICY && text && *text)
            r = apply(route, routes, (enum kd_override_key)k, text, &s, err, err_len);
    }
    if (r < 0)
        from_route(route, &s);
    if (s.activation_lead_ms < 0) {
        s.activation_lead_ms = s.lead_time_ms;
        s.origin[KD_EFF_ACTIVATION_LEAD] = KD_ORIGIN_DEFAULT;
    }
    *ret_settings = s;
    return r;
}

int64_t kd_activation_next_ms(const struct kd_forecast *forecast, int64_t lead_ms, double threshold,
                              int64_t now_ms)
{
    const size_t n = forecast->desired_replicas ? forecast->n_desired_replicas : 0;
    struct kd_window w;
    int64_t step = forecast->step_seconds;

    if (kd_window_at(forecast->generated_at_ms, step, n, now_ms, lead_ms, &w) < 0)
        return -1;
    /* Element i enters when the window's first index reaches i - span, at
     * generatedAt + (i - span) * step; the window's last index is first + span. */
    size_t span = (size_t)kd_window_steps(lead_ms, step);
    if (w.last + 1 >= n || step > INT64_MAX / 1000)
        return -1;
    for (size_t i = w.last + 1; i < n; i++) {
        if ((double)forecast->desired_replicas[i] > threshold) {
            size_t first = i - span;
            int64_t step_ms = step * 1000;
            if (first > (size_t)(INT64_MAX / step_ms) ||
                forecast->generated_at_ms > INT64_MAX - (int64_t)first * step_ms)
                return -1;
            return forecast->generated_at_ms + (int64_t)first * step_ms;
        }
    }
    return -1;
}
