/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy-quantile: the nearest-rank quantile of desiredReplicas between now and now + lead
 * time (the same window as policy-max; plugins/common/window.h). For spiky forecasts where
 * the maximum over-provisions: quantile 0.9 of ten steps ignores one outlier.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <kedastral/plugin.h>

#include "window.h"

struct quantile_config { /* filled by the host from quantile_options */
    int64_t lead_time_ms;
    double quantile;
};

struct quantile_state {
    const struct quantile_config *config; /* host-owned, outlives us */
};

static int quantile_create(const struct kd_host *host, const struct kd_instance *inst,
                           const void *config, void **ret_state)
{
    const struct quantile_config *cfg = config;

    if (cfg->lead_time_ms < 0) {
        host->log(inst, KD_LOG_ERROR, "lead_time must not be negative (%" PRId64 " ms)",
                  cfg->lead_time_ms);
        return -EINVAL;
    }
    if (!(cfg->quantile >= 0.0 && cfg->quantile <= 1.0)) {
        host->log(inst, KD_LOG_ERROR,
                  "quantile must be from 0 to 1 (0.9: the 90th percentile), got %g", cfg->quantile);
        return -EINVAL;
    }
    struct quantile_state *st = calloc(1, sizeof(*st));
    if (!st) {
        host->log(inst, KD_LOG_ERROR, "out of memory");
        return -ENOMEM;
    }
    st->config = cfg;
    *ret_state = st;
    return 0;
}

static int quantile_decide(void *state, const struct kd_decide_args *args,
                           struct kd_policy_result *ret_result)
{
    const struct quantile_state *st = state;
    const struct kd_forecast *forecast = args->forecast;
    struct kd_window w;

    int rc = kd_window_of(forecast, args->now_ms, args->lead_time_ms, &w, ret_result->reason,
                          sizeof(ret_result->reason));
    if (rc == -ENODATA) {
        ret_result->value = 1; /* as policy-max and upstream: an empty series answers 1 */
        return 0;
    }
    if (rc < 0)
        return -EINVAL;
    int64_t *scratch = malloc((w.last - w.first + 1) * sizeof(*scratch));
    if (!scratch) {
        snprintf(ret_result->reason, sizeof(ret_result->reason), "out of memory");
        return -ENOMEM;
    }
    int64_t q = kd_window_quantile(forecast->desired_replicas, &w, st->config->quantile, scratch);
    free(scratch);
    ret_result->value = q < 0 ? 0.0 : (double)q;
    ret_result->window_first = (int64_t)w.first;
    ret_result->window_last = (int64_t)w.last;
    return 0;
}

static int64_t quantile_lookahead_ms(const void *state)
{
    const struct quantile_state *st = state;

    return st->config->lead_time_ms;
}

static void quantile_destroy(void *state)
{
    free(state);
}

static const struct kd_option quantile_options[] = {
    {"lead_time", KD_OPTION_DURATION, "5m", offsetof(struct quantile_config, lead_time_ms),
     "How far ahead of now to look: the window of desiredReplicas the quantile is taken over.",
     "lead_time", 0},
    {"quantile", KD_OPTION_DOUBLE, "0.9", offsetof(struct quantile_config, quantile),
     "From 0 to 1: the nearest-rank quantile of the window (the ceil(q x n)-th smallest); 1 is "
     "the maximum, as policy-max.",
     NULL, 0},
    KD_OPTIONS_END,
};

static const struct kd_policy_ops quantile_ops = {
    .size = sizeof(struct kd_policy_ops),
    .create = quantile_create,
    .decide = quantile_decide,
    .lookahead_ms = quantile_lookahead_ms,
    .destroy = quantile_destroy,
};

KD_PLUGIN_EXPORT const struct kd_plugin kd_plugin = {
    KD_PLUGIN_ABI,
    .kind = KD_PLUGIN_POLICY,
    .name = "quantile",
    .version = "0.1.0",
    .description = "Nearest-rank quantile of planned replicas between now and now + lead time",
    .config_size = sizeof(struct quantile_config),
    .options = quantile_options,
    .policy = &quantile_ops,
};
