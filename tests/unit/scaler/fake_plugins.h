/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-test fakes for the scaler tests: a scriptable source and a max-like policy, built-in
 * descriptors made into instances by the real plugin host (kd_plugin_host_open_builtin), so
 * these tests need no .so files and the scaler still goes through the host's one door.
 */
#ifndef KD_TEST_FAKE_PLUGINS_H
#define KD_TEST_FAKE_PLUGINS_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <kedastral/plugin.h>

#include "plugin/plugin_host.h"

enum fake_mode {
    FAKE_ASYNC,       /* keep the fetch pending; the test completes it */
    FAKE_SYNC_DONE,   /* complete with `forecast` from inside fetch() */
    FAKE_SYNC_FAIL,   /* fail with fail_error/fail_message from inside fetch() */
    FAKE_START_ERROR, /* fetch() returns -EIO */
};

struct fake_source {
    enum fake_mode mode;
    int fetches;
    int cancels;
    struct kd_fetch *pending;
    char last_workload[64];
    struct kd_forecast forecast;
    int64_t replicas[8];
    enum kd_fetch_error fail_error;
    const char *fail_message;
    const char *claim_workload; /* non-NULL: forecasts name this workload instead */
    /* when set, fetch() calls this instead (which may call fake_source_fetch_default) */
    int (*fetch_override)(void *state, struct kd_fetch *fetch, const char *workload);
};

/* create() hands out whatever fake_instance() was given (both kinds). */
static void *fake_next_state;

static inline int fake_create(const struct kd_host *host, const struct kd_instance *inst,
                              const void *config, void **ret_state)
{
    (void)host;
    (void)inst;
    (void)config;
    *ret_state = fake_next_state;
    return 0;
}

static inline void fake_destroy(void *state)
{
    (void)state;
}

static inline int fake_source_fetch_default(void *state, struct kd_fetch *fetch,
                                            const char *workload)
{
    struct fake_source *fs = state;

    fs->fetches++;
    snprintf(fs->last_workload, sizeof(fs->last_workload), "%s", workload);
    /* Like the forecaster, echo the workload (or claim another one when a test says so). */
    fs->forecast.workload = fs->claim_workload ? fs->claim_workload : fs->last_workload;
    switch (fs->mode) {
    case FAKE_SYNC_DONE:
        kd_plugin_host_services()->fetch_done(fetch, &fs->forecast);
        return 0;
    case FAKE_SYNC_FAIL:
        kd_plugin_host_services()->fetch_fail(fetch, fs->fail_error, "%s", fs->fail_message);
        return 0;
    case FAKE_START_ERROR:
        return -EIO;
    case FAKE_ASYNC:
        break;
    }
    fs->pending = fetch;
    return 0;
}

static inline int fake_source_fetch(void *state, struct kd_fetch *fetch, const char *workload)
{
    struct fake_source *fs = state;

    if (fs->fetch_override)
        return fs->fetch_override(state, fetch, workload);
    return fake_source_fetch_default(state, fetch, workload);
}

static inline void fake_source_cancel(void *state, struct kd_fetch *fetch)
{
    struct fake_source *fs = state;

    if (fs->pending == fetch)
        fs->pending = NULL;
    fs->cancels++;
}

/* Complete the pending fetch, as the host's fetch_done would. */
static inline void fake_source_complete(struct fake_source *fs)
{
    struct kd_fetch *fetch = fs->pending;

    fs->pending = NULL;
    kd_plugin_host_services()->fetch_done(fetch, &fs->forecast);
}

static inline void fake_source_fail(struct fake_source *fs, enum kd_fetch_error error,
                                    const char *message)
{
    struct kd_fetch *fetch = fs->pending;

    fs->pending = NULL;
    kd_plugin_host_services()->fetch_fail(fetch, error, "%s", message);
}

/* A forecast generated `age_ms` before `now_ms` with the given replicas. */
static inline void fake_source_set(struct fake_source *fs, int64_t generated_at_ms,
                                   int64_t step_seconds, const int64_t *replicas, size_t n)
{
    memcpy(fs->replicas, replicas, n * sizeof(*replicas));
    fs->forecast = (struct kd_forecast){
        KD_FORECAST_INIT,
        .workload = NULL, /* fake_source_fetch() names the workload asked for */
        .metric = "rps",
        .generated_at_ms = generated_at_ms,
        .step_seconds = step_seconds,
        .horizon_seconds = step_seconds * (int64_t)n,
        .n_desired_replicas = n,
        .desired_replicas = fs->replicas,
    };
}

static const struct kd_source_ops fake_source_ops = {
    .size = sizeof(struct kd_source_ops),
    .create = fake_create,
    .fetch = fake_source_fetch,
    .cancel = fake_source_cancel,
    .destroy = fake_destroy,
};

static const struct kd_plugin fake_source_plugin = {
    KD_PLUGIN_ABI,  .kind = KD_PLUGIN_SOURCE,     .name = "fake",
    .version = "0", .description = "test source", .source = &fake_source_ops,
};

/* Policy: max of all desired replicas, or a fixed override; step <= 0 is an error. */
struct fake_policy {
    int64_t lookahead_ms;
    bool use_fixed;
    double fixed;
};

static inline int fake_policy_decide(void *state, const struct kd_decide_args *args,
                                     struct kd_policy_result *ret_result)
{
    const struct fake_policy *fp = state;
    const struct kd_forecast *forecast = args->forecast;
    double best = 1;

    if (forecast->step_seconds <= 0) {
        snprintf(ret_result->reason, sizeof(ret_result->reason),
                 "stepSeconds must be > 0, got %lld", (long long)forecast->step_seconds);
        return -EINVAL;
    }
    if (fp->use_fixed) {
        ret_result->value = fp->fixed;
        return 0;
    }
    for (size_t i = 0; i < forecast->n_desired_replicas; i++) {
        if (i == 0 || (double)forecast->desired_replicas[i] > best)
            best = (double)forecast->desired_replicas[i];
    }
    ret_result->value = best;
    return 0;
}

static inline int64_t fake_policy_lookahead(const void *state)
{
    return ((const struct fake_policy *)state)->lookahead_ms;
}

static const struct kd_policy_ops fake_policy_ops = {
    .size = sizeof(struct kd_policy_ops),
    .create = fake_create,
    .decide = fake_policy_decide,
    .lookahead_ms = fake_policy_lookahead,
    .destroy = fake_destroy,
};

static const struct kd_plugin fake_policy_plugin = {
    KD_PLUGIN_ABI,  .kind = KD_PLUGIN_POLICY,     .name = "fakemax",
    .version = "0", .description = "test policy", .policy = &fake_policy_ops,
};

/* An instance of `plugin` named `name` whose state is `state`; kd_instance_destroy() it. */
static inline struct kd_instance *fake_instance(const char *name, const struct kd_plugin *plugin,
                                                void *state, struct event_base *base)
{
    struct kd_plugin_handle *handle = NULL;
    struct kd_instance *inst = NULL;
    char err[256];
    const struct kd_instance_args args = {.base = base};

    if (kd_plugin_host_open_builtin(plugin, "fake", &handle, err, sizeof(err)) != 0) {
        fprintf(stderr, "fake_instance: %s\n", err);
        return NULL;
    }
    fake_next_state = state;
    if (kd_instance_create(handle, name, &args, &inst, err, sizeof(err)) != 0)
        fprintf(stderr, "fake_instance: %s\n", err);
    kd_plugin_host_close(handle); /* the instance keeps its own reference */
    return inst;
}

#endif /* KD_TEST_FAKE_PLUGINS_H */
