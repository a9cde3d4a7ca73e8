/* SPDX-License-Identifier: Apache-2.0 */
/* policy-max: the largest desiredReplicas within the lead time, counted from now (upstream's
 * rule at age 0; see plugins/common/window.h). */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <kedastral/plugin.h>

#include "window.h"

struct max_config { /* filled by the host from max_options */
    int64_t lead_time_ms;
};

struct max_state {
    const struct kd_host *host;
    const struct kd_instance *inst;
    const struct max_config *config; /* host-owned, outlives us */
};

static int max_create(const struct kd_host *host, const struct kd_instance *inst,
                      const void *config, void **ret_state)
{
    const struct max_config *cfg = config;

    /* Upstream takes a negative lead time and then never reports a workload active. */
    if (cfg->lead_time_ms < 0) {
        host->log(inst, KD_LOG_ERROR, "lead_time must not be negative (%" PRId64 " ms)",
                  cfg->lead_time_ms);
        return -EINVAL;
    }
    struct max_state *st = calloc(1, sizeof(*st));
    if (!st) {
        host->log(inst, KD_LOG_ERROR, "out of memory");
        return -ENOMEM;
    }
    st->host = host;
    st->inst = inst;
    st->config = cfg;
    *ret_state = st;
    return 0;
}

/* The lead time is the host's choice (args->lead_time_ms: a route's override, or ours). */
static int max_decide(void *state, const struct kd_decide_args *args,
                      struct kd_policy_result *ret_result)
{
    const struct kd_forecast *forecast = args->forecast;
    struct kd_window w;

    (void)state;
    int rc = kd_window_of(forecast, args->now_ms, args->lead_time_ms, &w, ret_result->reason,
                          sizeof(ret_result->reason));
    if (rc == -ENODATA) {
        ret_result->value = 1; /* upstream: an empty series answers 1 */
        return 0;
    }
    if (rc < 0)
        return -EINVAL;
    int64_t max = kd_window_max(forecast->desired_replicas, &w);
    ret_result->value = max < 0 ? 0.0 : (double)max;
    ret_result->window_first = (int64_t)w.first;
    ret_result->window_last = (int64_t)w.last;
    return 0;
}

static int64_t max_lookahead_ms(const void *state)
{
    const struct max_state *st = state;

    return st->config->lead_time_ms;
}

static void max_destroy(void *state)
{
    free(state);
}

static const struct kd_option max_options[] = {
    {"lead_time", KD_OPTION_DURATION, "5m", offsetof(struct max_config, lead_time_ms),
     "How far ahead of now to look: the answer is the largest desiredReplicas within it.",
     "lead_time", 0},
    KD_OPTIONS_END,
};

static const struct kd_policy_ops max_ops = {
    .size = sizeof(struct kd_policy_ops),
    .create = max_create,
    .decide = max_decide,
    .lookahead_ms = max_lookahead_ms,
    .destroy = max_destroy,
};

KD_PLUGIN_EXPORT const struct kd_plugin kd_plugin = {
    KD_PLUGIN_ABI,
    .kind = KD_PLUGIN_POLICY,
    .name = "max",
    .version = "0.1.0",
    .description =
        "Largest planned replica count between now and now + lead time (upstream Kedastral)",
    .config_size = sizeof(struct max_config),
    .options = max_options,
    .policy = &max_ops,
};
