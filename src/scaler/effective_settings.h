/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The predictive settings that decide one answer: the route's (config file or default) with
 * the ScaledObject's allowed trigger-metadata overrides applied, each with where it came
 * from. Pure: resolved per request from the route and the request's metadata, kept per
 * workload for introspection (struct kd_workload_answer in workload_state.h).
 */
#ifndef KD_EFFECTIVE_SETTINGS_H
#define KD_EFFECTIVE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kedastral/plugin.h>

#include "config/config.h"

struct kd_route;
struct kd_routes;

/* Where an effective setting came from. */
enum kd_setting_origin {
    KD_ORIGIN_DEFAULT = 0,  /* built-in default (or derived: stale_after from the lead time) */
    KD_ORIGIN_CONFIG = 1,   /* the route in the config file, or the policy's own options */
    KD_ORIGIN_METADATA = 2, /* the ScaledObject's trigger metadata (an allowed override) */
};

/* The settings whose origin is tracked; the first KD_OVERRIDE_COUNT match enum
 * kd_override_key one to one. */
enum kd_effective_setting {
    KD_EFF_LEAD_TIME = KD_OVERRIDE_LEAD_TIME,
    KD_EFF_POLICY = KD_OVERRIDE_POLICY,
    KD_EFF_STALE_AFTER = KD_OVERRIDE_STALE_AFTER,
    KD_EFF_FALLBACK_REPLICAS = KD_OVERRIDE_FALLBACK_REPLICAS,
    KD_EFF_ACTIVATION = KD_OVERRIDE_ACTIVATION,
    KD_EFF_ACTIVATION_LEAD = KD_OVERRIDE_ACTIVATION_LEAD_TIME,
    KD_EFF_MODE = KD_OVERRIDE_MODE,
    KD_EFF_ON_STALE = KD_OVERRIDE_COUNT,
    KD_EFF_ACTIVATION_THRESHOLD,
    KD_EFF_COUNT,
};

/* "lead_time", "policy", ... (the config-file spelling), indexed by enum kd_effective_setting. */
extern const char *const kd_effective_setting_names[KD_EFF_COUNT];
const char *kd_setting_origin_name(enum kd_setting_origin origin); /* "default", ... */

struct kd_settings {
    const struct kd_instance *policy;
    int64_t lead_time_ms;
    int64_t stale_after_ms;    /* -1: 2 x max(lead_time, the forecast's step); see below */
    int64_t fallback_replicas; /* -1: none */
    enum kd_activation activation;
    int64_t activation_lead_ms; /* resolved: the lead time unless set */
    enum kd_route_mode mode;
    enum kd_on_stale on_stale;
    double activation_threshold;
    enum kd_setting_origin origin[KD_EFF_COUNT];
};

/* The recognised metadata values of one request, indexed by enum kd_override_key; NULL (or
 * "") when absent. Borrowed from the request. */
struct kd_overrides {
    const char *value[KD_OVERRIDE_COUNT];
};

/*
 * The effective settings for `route` with `overrides` applied. Returns 0, or -EINVAL with one
 * line in err naming the metadata key, the value and what is allowed:
 *   scalerMetadata "leadTime" is not allowed by route "web-*"; it allows: mode, staleAfter
 *   scalerMetadata "leadTime": "banana" is not a duration; write e.g. "90s", "5m", "1h"
 *   scalerMetadata "leadTime": "2h" is out of range; allowed: 0s to 1h (lead_time_max)
 *   scalerMetadata "policy": unknown policy "p99"; configured: lookahead, p90
 * `routes` may be NULL when `overrides` is. *ret_settings is filled even on error (with the
 * route's values), so that GetMetricSpec and introspection still have something to show.
 */
int kd_settings_resolve(const struct kd_route *route, const struct kd_routes *routes,
                        const struct kd_overrides *overrides, struct kd_settings *ret_settings,
                        char *err, size_t err_len);

/* The lead time a policy instance is configured with (its lookahead_ms; 0 if it has none). */
int64_t kd_settings_policy_lead_ms(const struct kd_instance *policy);

/*
 * stale_after for a forecast with `step_seconds`: the setting, or by default
 * 2 x max(lead_time, step) (upstream's 2 x lead time, which made lead_time = "0s" stale at
 * once). Saturates instead of overflowing.
 */
int64_t kd_settings_stale_after_ms(const struct kd_settings *settings, int64_t step_seconds);

/*
 * Activation ahead of demand: the wall time (Unix ms) after now_ms at which an element above
 * `threshold` first enters the activation window (the anchored window of plugins/common/
 * window.h with `lead_ms`), or -1 when none will: the next instant the window can change
 * from "nothing above threshold" to "something above it". The policy decides at that
 * instant whether its value exceeds the threshold. Elements already in the window at now_ms
 * are not looked at. -1 also for a forecast the window cannot use (step <= 0, empty).
 */
int64_t kd_activation_next_ms(const struct kd_forecast *forecast, int64_t lead_ms, double threshold,
                              int64_t now_ms);

#endif /* KD_EFFECTIVE_SETTINGS_H */
