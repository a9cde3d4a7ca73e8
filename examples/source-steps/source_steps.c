/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source-steps: an example kedastral-scaler plugin, built out of tree against nothing but the
 * installed <kedastral/plugin.h> (see Makefile and docs/PLUGINS.md).
 *
 * It serves the same plan to every workload: desiredReplicas from the `plan` list, one per
 * `step`, generated "now". With `delay` above 0 it answers from a host timer, the way a
 * network source answers from the loop; with 0 it answers inside fetch().
 *
 *   sources = ( { name = "steps"; plugin = "steps"; plan = ["2", "3", "9", "4"]; } );
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kedastral/plugin.h>

struct steps_config { /* filled by the host from steps_options */
    const char *const *plan;
    int64_t step_ms;
    int64_t delay_ms;
    const char *metric;
};

struct pending; /* one fetch waiting for its timer */

struct steps_state {
    const struct kd_host *host;
    const struct kd_instance *inst;
    const struct steps_config *config; /* host-owned, alive until after destroy() */
    int64_t *replicas;
    size_t n;
    struct pending *pending;
};

struct pending {
    struct steps_state *st;
    struct kd_fetch *fetch;
    struct kd_timer *timer;
    struct pending *next;
};

static void answer(const struct steps_state *st, struct kd_fetch *fetch)
{
    const struct kd_forecast forecast = {
        KD_FORECAST_INIT, /* sets .size: the host reads only what this plugin knew of */
        .workload = "",   /* empty: "the workload asked for" */
        .metric = st->config->metric,
        .generated_at_ms = st->host->now_ms(st->inst),
        .step_seconds = st->config->step_ms / 1000,
        .horizon_seconds = (int64_t)st->n * (st->config->step_ms / 1000),
        .n_desired_replicas = st->n,
        .desired_replicas = st->replicas,
    };
    /* The host copies the forecast before returning: a stack struct is fine. After this the
     * fetch handle is dead, whatever the call returns. */
    st->host->fetch_done(fetch, &forecast);
}

static void pending_free(struct pending *p)
{
    struct pending **pp = &p->st->pending;

    while (*pp != p)
        pp = &(*pp)->next;
    *pp = p->next;
    p->st->host->timer_free(p->timer);
    free(p);
}

static void on_timer(void *arg)
{
    struct pending *p = arg;
    struct steps_state *st = p->st;
    struct kd_fetch *fetch = p->fetch;

    /* Take it off our list first: answering may re-enter us (rule 5 of plugin.h). */
    pending_free(p);
    answer(st, fetch);
}

static int steps_create(const struct kd_host *host, const struct kd_instance *inst,
                        const void *config, void **ret_state)
{
    const struct steps_config *cfg = config;
    size_t n = 0;

    while (cfg->plan[n]) /* a list option is never NULL: an empty list holds only NULL */
        n++;
    if (n == 0) {
        host->log(inst, KD_LOG_ERROR, "plan is empty; give one replica count per step");
        return -EINVAL;
    }
    if (cfg->step_ms < 1000 || cfg->step_ms % 1000 != 0) {
        host->log(inst, KD_LOG_ERROR, "step must be whole seconds, at least 1s");
        return -EINVAL;
    }
    struct steps_state *st = calloc(1, sizeof(*st));
    int64_t *replicas = calloc(n, sizeof(*replicas));
    if (!st || !replicas) {
        free(st);
        free(replicas);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        char *end;
        long long v = strtoll(cfg->plan[i], &end, 10);
        if (end == cfg->plan[i] || *end || v < 0) {
            /* One ERROR line: the host prefixes it with the file:line of our group. */
            host->log(inst, KD_LOG_ERROR, "plan[%zu] \"%s\" is not a replica count", i,
                      cfg->plan[i]);
            free(replicas);
            free(st);
            return -EINVAL;
        }
        replicas[i] = v;
    }
    st->host = host;
    st->inst = inst;
    st->config = cfg;
    st->replicas = replicas;
    st->n = n;
    host->log(inst, KD_LOG_INFO, "serving a plan of %zu step(s)", n);
    *ret_state = st;
    return 0;
}

static int steps_fetch(void *state, struct kd_fetch *fetch, const char *workload)
{
    struct steps_state *st = state;

    (void)workload;
    if (st->config->delay_ms == 0) {
        answer(st, fetch); /* completing inside fetch() is allowed; then return 0 */
        return 0;
    }
    struct pending *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM; /* not started: the host fails the fetch, we never complete it */
    int rc = st->host->timer_create(st->inst, on_timer, p, &p->timer);
    if (rc == 0)
        rc = st->host->timer_start(p->timer, st->config->delay_ms, 0);
    if (rc < 0) {
        st->host->timer_free(p->timer);
        free(p);
        return rc;
    }
    p->st = st;
    p->fetch = fetch;
    p->next = st->pending;
    st->pending = p;
    return 0;
}

/* The host gave up on `fetch`: forget it without completing it. */
static void steps_cancel(void *state, struct kd_fetch *fetch)
{
    struct steps_state *st = state;

    for (struct pending *p = st->pending; p; p = p->next) {
        if (p->fetch == fetch) {
            pending_free(p);
            return;
        }
    }
}

static void steps_destroy(void *state)
{
    struct steps_state *st = state;

    if (!st)
        return;
    while (st->pending) /* the host cancels fetches first; this is only belt and braces */
        pending_free(st->pending);
    free(st->replicas);
    free(st);
}

/* The option table: the host parses the group, checks types and fills struct steps_config. */
static const struct kd_option steps_options[] = {
    {"plan", KD_OPTION_LIST, NULL, offsetof(struct steps_config, plan),
     "desiredReplicas, one per step: [\"2\", \"3\", \"9\"].", NULL, KD_OPTION_REQUIRED},
    {"step", KD_OPTION_DURATION, "60s", offsetof(struct steps_config, step_ms),
     "Time between two entries of the plan (stepSeconds).", NULL, 0},
    {"delay", KD_OPTION_DURATION, "0s", offsetof(struct steps_config, delay_ms),
     "Answer after this long, from a host timer; 0 answers at once.", NULL, 0},
    {"metric", KD_OPTION_STRING, "replicas", offsetof(struct steps_config, metric),
     "The forecast's metric name.", NULL, 0},
    KD_OPTIONS_END,
};

static const struct kd_source_ops steps_ops = {
    .size = sizeof(struct kd_source_ops),
    .create = steps_create,
    .fetch = steps_fetch,
    .cancel = steps_cancel,
    .destroy = steps_destroy,
};

KD_PLUGIN_EXPORT const struct kd_plugin kd_plugin = {
    KD_PLUGIN_ABI, /* ABI version, sizeof(struct kd_plugin), sizeof(struct kd_option) */
    .kind = KD_PLUGIN_SOURCE,
    .name = "steps", /* the file is source-steps.so */
    .version = "1.0.0",
    .description = "Example: serves a fixed plan of replicas to every workload",
    .config_size = sizeof(struct steps_config),
    .options = steps_options,
    .source = &steps_ops,
};
