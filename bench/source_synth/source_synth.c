/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source-synth, for bench/workloads.sh only: every workload gets its own 60-step forecast
 * (values with two decimals and desiredReplicas, the shape of etc/forecasts/demo.json),
 * derived from a hash of its name and generated "now", answered inside fetch(). The source
 * holds nothing per workload, so the daemon's memory is the cache's.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kedastral/plugin.h>

#define SYNTH_STEPS 60

struct synth_config { /* filled by the host from synth_options */
    int64_t steps;
};

struct synth_state {
    const struct kd_host *host;
    const struct kd_instance *inst;
    size_t steps;
};

static int synth_create(const struct kd_host *host, const struct kd_instance *inst,
                        const void *config, void **ret_state)
{
    const struct synth_config *cfg = config;
    struct synth_state *st;

    if (cfg->steps < 1 || cfg->steps > 1000)
        return -EINVAL;
    st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->host = host;
    st->inst = inst;
    st->steps = (size_t)cfg->steps;
    *ret_state = st;
    return 0;
}

static int synth_fetch(void *state, struct kd_fetch *fetch, const char *workload)
{
    const struct synth_state *st = state;
    double values[1000];
    int64_t replicas[1000];
    uint64_t h = 0xcbf29ce484222325ull;

    for (const char *p = workload; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    for (size_t i = 0; i < st->steps; i++) {
        h ^= h << 13;
        h ^= h >> 7;
        h ^= h << 17;
        long cents = 1000 + (long)(h % 50000); /* 10.00 to 509.99 */
        values[i] = (double)cents / 100.0;
        replicas[i] = 1 + cents / 5000;
    }
    const struct kd_forecast forecast = {
        KD_FORECAST_INIT,
        .workload = "",
        .metric = "http_rps",
        .generated_at_ms = st->host->now_ms(st->inst),
        .step_seconds = 60,
        .horizon_seconds = (int64_t)st->steps * 60,
        .n_values = st->steps,
        .values = values,
        .n_desired_replicas = st->steps,
        .desired_replicas = replicas,
    };
    st->host->fetch_done(fetch, &forecast);
    return 0;
}

static void synth_cancel(void *state, struct kd_fetch *fetch)
{
    (void)state;
    (void)fetch; /* never outstanding: every fetch completes inside fetch() */
}

static void synth_destroy(void *state)
{
    free(state);
}

static const struct kd_option synth_options[] = {
    {"steps", KD_OPTION_INT, "60", offsetof(struct synth_config, steps),
     "Steps per forecast (60s each).", NULL, 0},
    KD_OPTIONS_END,
};

static const struct kd_source_ops synth_ops = {
    .size = sizeof(struct kd_source_ops),
    .create = synth_create,
    .fetch = synth_fetch,
    .cancel = synth_cancel,
    .destroy = synth_destroy,
};

KD_PLUGIN_EXPORT const struct kd_plugin kd_plugin = {
    KD_PLUGIN_ABI,
    .kind = KD_PLUGIN_SOURCE,
    .name = "synth",
    .version = "1.0.0",
    .description = "bench: a distinct 60-step forecast for every workload, no I/O",
    .config_size = sizeof(struct synth_config),
    .options = synth_options,
    .source = &synth_ops,
};
