/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source-prometheus: forecasts built from the history a Prometheus server already holds. Each
 * refresh of a workload sends the range queries prom_plan.c lays out (seasons x shards, or the
 * linear window's shards) at once over the shared HTTP driver on the host's loop, feeds each
 * body to prom_refresh.c, and completes the fetch when the last one arrived or at the first
 * error. Caching, single flight and retries belong to the host.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kedastral/plugin.h>

#include "prom_http.h"
#include "prom_plan.h"
#include "prom_refresh.h"
#include "promql.h"

#define PROM_VERSION KD_PROJECT_VERSION
#define PROM_MAX_POINTS 11000 /* Prometheus refuses more points per series (web/api/v1) */

struct prom_config { /* filled by the host from prom_options */
    const char *url;
    const char *query;
    double per_replica;
    const char *model;
    int64_t season_ms;
    int64_t seasons;
    const char *combine;
    int64_t step_ms;
    int64_t horizon_ms;
    int64_t window_ms;
    int64_t max_points;
    int64_t timeout_ms;
    int64_t connect_timeout_ms;
    int64_t max_body;
    int64_t max_connections;
    const char *tls_ca;
    const char *tls_cert;
    const char *tls_key;
    const char *bearer_token_file;
    const char *const *headers; /* the `header` list */
};

struct prom_job;

struct prom_state {
    const struct kd_host *host;
    const struct kd_instance *inst;
    const struct prom_config *config;
    struct kd_prom_refresh_params params;
    struct prom_http *http;
    struct prom_job *jobs; /* outstanding fetches */
};

/* One range query of a job. */
struct prom_get {
    struct prom_job *job;
    size_t index;                    /* into the refresh's plan */
    struct prom_http_get *req;       /* NULL once answered */
    struct kd_prom_response *parsed; /* the body, parsed as it arrives */
};

/* One outstanding fetch: a refresh and its range queries in flight. */
struct prom_job {
    struct prom_state *st;
    struct kd_fetch *fetch;
    struct kd_prom_refresh *refresh;
    size_t n_gets, n_pending;
    struct prom_get *gets;
    struct prom_job *prev, *next;
};

/* ---- Jobs ------------------------------------------------------------------------------- */

static void job_unlink(struct prom_job *job)
{
    struct prom_state *st = job->st;

    if (job->prev)
        job->prev->next = job->next;
    else if (st->jobs == job)
        st->jobs = job->next;
    if (job->next)
        job->next->prev = job->prev;
    job->prev = job->next = NULL;
}

/* Cancels what is still in flight, unlinks and frees: the fetch itself is not touched. */
static void job_free(struct prom_job *job)
{
    for (size_t i = 0; i < job->n_gets; i++) {
        if (job->gets[i].req)
            prom_http_cancel(job->gets[i].req);
        kd_prom_response_free(job->gets[i].parsed);
    }
    job_unlink(job);
    kd_prom_refresh_free(job->refresh);
    free(job->gets);
    free(job);
}

/* Completions re-enter the host, which may call fetch() or cancel() on us (ABI rule 5): the
 * job is out of every list and every request is gone before it is called. */
static void job_fail(struct prom_job *job, const char *message)
{
    const struct kd_host *host = job->st->host;
    struct kd_fetch *fetch = job->fetch;

    job_free(job);
    host->fetch_fail(fetch, KD_FETCH_FAILED, "%s", message);
}

static void job_finish(struct prom_job *job)
{
    const struct kd_host *host = job->st->host;
    struct kd_fetch *fetch = job->fetch;
    struct kd_forecast forecast;
    char err[1024];

    if (kd_prom_refresh_finish(job->refresh, &forecast, err, sizeof(err)) < 0) {
        job_fail(job, err);
        return;
    }
    /* The host copies the forecast before returning; the refresh owns its arrays. */
    struct kd_prom_refresh *refresh = job->refresh;
    job->refresh = NULL;
    job_free(job);
    host->fetch_done(fetch, &forecast);
    kd_prom_refresh_free(refresh);
}

static int on_get_data(void *arg, long status, const char *data, size_t len)
{
    struct prom_get *get = arg;
    char why[256];

    (void)status; /* judged with the body at the end, as a whole body was */
    return kd_prom_response_feed(get->parsed, data, len, why, sizeof(why));
}

static void on_get_done(void *arg, long status, const char *body, size_t len, const char *error)
{
    struct prom_get *get = arg;
    struct prom_job *job = get->job;
    char err[1024], what[512];

    get->req = NULL; /* the driver frees its request after this returns */
    job->n_pending--;
    if (error) {
        kd_prom_refresh_describe(job->refresh, get->index, what, sizeof(what));
        snprintf(err, sizeof(err), "%s: %s", what, error);
        job_fail(job, err);
        return;
    }
    (void)body, (void)len; /* on_get_data had them */
    if (kd_prom_refresh_add_parsed(job->refresh, get->index, status, get->parsed, err,
                                   sizeof(err)) < 0) {
        job_fail(job, err);
        return;
    }
    if (job->n_pending == 0)
        job_finish(job);
}

/* ---- Options ---------------------------------------------------------------------------- */

static const char *opt(const char *value)
{
    return value && value[0] ? value : NULL;
}

static int check_config(const struct kd_host *host, const struct kd_instance *inst,
                        const struct prom_config *cfg, struct kd_prom_refresh_params *ret)
{
    struct kd_prom_refresh_params p = {0};
    char err[256];

    if (!opt(cfg->url) ||
        (strncasecmp(cfg->url, "http://", 7) != 0 && strncasecmp(cfg->url, "https://", 8) != 0)) {
        host->log(inst, KD_LOG_ERROR,
                  "url \"%s\": name the Prometheus server, e.g. \"http://prometheus:9090\"",
                  cfg->url ? cfg->url : "");
        return -EINVAL;
    }
    if (kd_promql_check(cfg->query, err, sizeof(err)) < 0) {
        host->log(inst, KD_LOG_ERROR, "query: %s", err);
        return -EINVAL;
    }
    if (!(cfg->per_replica > 0) || cfg->per_replica > 1e300) {
        host->log(inst, KD_LOG_ERROR,
                  "per_replica must be a positive number: what one replica handles, in the "
                  "query's unit (got %g)",
                  cfg->per_replica);
        return -EINVAL;
    }
    if (strcmp(cfg->model, "seasonal") == 0) {
        p.plan.model = KD_PROM_SEASONAL;
    } else if (strcmp(cfg->model, "linear") == 0) {
        p.plan.model = KD_PROM_LINEAR;
    } else {
        host->log(inst, KD_LOG_ERROR, "model \"%s\": allowed: \"seasonal\", \"linear\"",
                  cfg->model);
        return -EINVAL;
    }
    if (strcmp(cfg->combine, "median") == 0) {
        p.combine = KD_PROM_MEDIAN;
    } else if (strcmp(cfg->combine, "max") == 0) {
        p.combine = KD_PROM_MAX;
    } else if (strcmp(cfg->combine, "mean") == 0) {
        p.combine = KD_PROM_MEAN;
    } else {
        host->log(inst, KD_LOG_ERROR, "combine \"%s\": allowed: \"median\", \"max\", \"mean\"",
                  cfg->combine);
        return -EINVAL;
    }
    if (cfg->max_points > PROM_MAX_POINTS) {
        host->log(inst, KD_LOG_ERROR,
                  "max_points %lld: Prometheus refuses more than %d points per series",
                  (long long)cfg->max_points, PROM_MAX_POINTS);
        return -EINVAL;
    }
    p.plan.step_ms = cfg->step_ms;
    p.plan.horizon_ms = cfg->horizon_ms;
    p.plan.season_ms = cfg->season_ms;
    p.plan.seasons = cfg->seasons;
    p.plan.window_ms = cfg->window_ms;
    p.plan.max_points = cfg->max_points;
    p.per_replica = cfg->per_replica;
    if (kd_prom_plan_check(&p.plan, err, sizeof(err)) < 0) {
        host->log(inst, KD_LOG_ERROR, "%s", err);
        return -EINVAL;
    }
    *ret = p;
    return 0;
}

/* ---- Operations ------------------------------------------------------------------------- */

static int prom_create(const struct kd_host *host, const struct kd_instance *inst,
                       const void *config, void **ret_state)
{
    const struct prom_config *cfg = config;
    struct kd_prom_refresh_params params;

    int rc = check_config(host, inst, cfg, &params);
    if (rc < 0)
        return rc;
    struct prom_state *st = calloc(1, sizeof(*st));
    if (!st) {
        host->log(inst, KD_LOG_ERROR, "out of memory");
        return -ENOMEM;
    }
    st->host = host;
    st->inst = inst;
    st->config = cfg;
    st->params = params;
    const struct prom_http_options http = {
        .timeout_ms = cfg->timeout_ms,
        .connect_timeout_ms = cfg->connect_timeout_ms,
        .max_body = cfg->max_body,
        .max_connections = cfg->max_connections,
        .tls_ca = opt(cfg->tls_ca),
        .tls_cert = opt(cfg->tls_cert),
        .tls_key = opt(cfg->tls_key),
        .bearer_token_file = opt(cfg->bearer_token_file),
        .headers = cfg->headers,
    };
    rc = prom_http_create(host, inst, &http, &st->http);
    if (rc < 0) {
        free(st);
        return rc;
    }
    if (params.plan.model == KD_PROM_SEASONAL)
        host->log(inst, KD_LOG_INFO,
                  "Prometheus %s: seasonal %s of %lld seasons of %lld s, %lld steps of %lld s; "
                  "%zu queries per refresh",
                  cfg->url, cfg->combine, (long long)cfg->seasons,
                  (long long)(cfg->season_ms / 1000), (long long)(cfg->horizon_ms / cfg->step_ms),
                  (long long)(cfg->step_ms / 1000), kd_prom_plan_count(&params.plan));
    else
        host->log(inst, KD_LOG_INFO,
                  "Prometheus %s: linear over the last %lld s, %lld steps of %lld s; %zu "
                  "queries per refresh",
                  cfg->url, (long long)(cfg->window_ms / 1000),
                  (long long)(cfg->horizon_ms / cfg->step_ms), (long long)(cfg->step_ms / 1000),
                  kd_prom_plan_count(&params.plan));
    *ret_state = st;
    return 0;
}

static int prom_fetch(void *state, struct kd_fetch *fetch, const char *workload)
{
    struct prom_state *st = state;
    char *query = NULL, *url = NULL;
    int rc;

    struct prom_job *job = calloc(1, sizeof(*job));
    if (!job)
        return -ENOMEM;
    job->st = st;
    job->fetch = fetch;
    rc = kd_promql_expand(st->config->query, workload, &query);
    if (rc < 0)
        goto fail_job;
    rc = kd_prom_refresh_create(&st->params, workload, query, st->host->now_ms(st->inst),
                                &job->refresh);
    if (rc < 0)
        goto fail_job;
    const struct kd_prom_plan *plan = kd_prom_refresh_plan(job->refresh);
    job->gets = calloc(plan->n_ranges, sizeof(*job->gets));
    if (!job->gets) {
        rc = -ENOMEM;
        goto fail_job;
    }
    job->n_gets = plan->n_ranges;
    job->next = st->jobs;
    if (st->jobs)
        st->jobs->prev = job;
    st->jobs = job;
    for (size_t i = 0; i < plan->n_ranges; i++) {
        const struct kd_prom_range *r = &plan->ranges[i];
        rc = kd_promql_range_url(st->config->url, query, r->start_ms, r->end_ms,
                                 st->params.plan.step_ms, &url);
        if (rc < 0)
            goto fail_job;
        job->gets[i].job = job;
        job->gets[i].index = i;
        rc = kd_prom_refresh_stream(job->refresh, i, &job->gets[i].parsed);
        if (rc == 0)
            rc = prom_http_get(st->http, url, on_get_data, on_get_done, &job->gets[i],
                               &job->gets[i].req);
        free(url);
        if (rc < 0)
            goto fail_job;
        job->n_pending++;
    }
    free(query);
    return 0;

fail_job:
    free(query);
    job_free(job);
    return rc;
}

static void prom_cancel(void *state, struct kd_fetch *fetch)
{
    struct prom_state *st = state;

    for (struct prom_job *job = st->jobs; job; job = job->next) {
        if (job->fetch == fetch) {
            job_free(job);
            return;
        }
    }
}

static void prom_destroy(void *state)
{
    struct prom_state *st = state;

    if (!st)
        return;
    while (st->jobs)
        job_free(st->jobs);
    prom_http_destroy(st->http);
    free(st);
}

static const struct kd_option prom_options[] = {
    {"url", KD_OPTION_STRING, NULL, offsetof(struct prom_config, url),
     "Base URL of the Prometheus server (or a compatible API: Thanos, Mimir's /prometheus).", NULL,
     KD_OPTION_REQUIRED},
    {"query", KD_OPTION_STRING, "sum(rate(http_requests_total{job=\"$workload\"}[5m]))",
     offsetof(struct prom_config, query),
     "PromQL giving one series per workload; $workload, inside a string literal, is replaced by "
     "the workload name, escaped.",
     NULL, 0},
    {"per_replica", KD_OPTION_DOUBLE, "1", offsetof(struct prom_config, per_replica),
     "What one replica handles, in the query's unit: desiredReplicas = ceil(value / "
     "per_replica).",
     NULL, 0},
    {"model", KD_OPTION_STRING, "seasonal", offsetof(struct prom_config, model),
     "\"seasonal\" (past seasons combined) or \"linear\" (least squares over the window).", NULL,
     0},
    {"season", KD_OPTION_DURATION, "1w", offsetof(struct prom_config, season_ms),
     "Length of one season: the forecast for t reads t - k * season.", NULL, 0},
    {"seasons", KD_OPTION_INT, "3", offsetof(struct prom_config, seasons),
     "How many past seasons are combined (k = 1..seasons).", NULL, 0},
    {"combine", KD_OPTION_STRING, "median", offsetof(struct prom_config, combine),
     "How seasons are combined: \"median\", \"max\" or \"mean\"; missing seasons are skipped.",
     NULL, 0},
    {"step", KD_OPTION_DURATION, "1m", offsetof(struct prom_config, step_ms),
     "Forecast step (whole seconds), also the query_range step.", NULL, 0},
    {"horizon", KD_OPTION_DURATION, "1h", offsetof(struct prom_config, horizon_ms),
     "How far ahead the forecast reaches: horizon / step points.", NULL, 0},
    {"window", KD_OPTION_DURATION, "1h", offsetof(struct prom_config, window_ms),
     "linear: the history the line is fitted to.", NULL, 0},
    {"max_points", KD_OPTION_INT, "11000", offsetof(struct prom_config, max_points),
     "Points per series one query may ask for; longer ranges are split (Prometheus allows "
     "11000).",
     NULL, 0},
    {"timeout", KD_OPTION_DURATION, "2s", offsetof(struct prom_config, timeout_ms),
     "Limit on each query; also the host's deadline for the whole refresh.", NULL, 0},
    {"connect_timeout", KD_OPTION_DURATION, "1s", offsetof(struct prom_config, connect_timeout_ms),
     "Limit on establishing a connection (TCP and TLS).", NULL, 0},
    {"max_body", KD_OPTION_SIZE, "4MiB", offsetof(struct prom_config, max_body),
     "Largest response body accepted; a larger one fails the refresh.", NULL, 0},
    {"tls_ca", KD_OPTION_STRING, NULL, offsetof(struct prom_config, tls_ca),
     "PEM file of the CA that signed Prometheus' certificate (https only).", NULL, 0},
    {"tls_cert", KD_OPTION_STRING, NULL, offsetof(struct prom_config, tls_cert),
     "PEM client certificate for mTLS; needs tls_key.", NULL, 0},
    {"tls_key", KD_OPTION_STRING, NULL, offsetof(struct prom_config, tls_key),
     "PEM private key of tls_cert.", NULL, 0},
    {"bearer_token_file", KD_OPTION_STRING, NULL, offsetof(struct prom_config, bearer_token_file),
     "File holding a token sent as \"Authorization: Bearer\"; re-read when it changes.", NULL, 0},
    {"header", KD_OPTION_LIST, NULL, offsetof(struct prom_config, headers),
     "Extra request headers, \"Name: value\" each (e.g. X-Scope-OrgID for Mimir).", NULL, 0},
    {"max_connections", KD_OPTION_INT, "16", offsetof(struct prom_config, max_connections),
     "Connections to Prometheus open at once; queries beyond wait in a queue. 0: no cap.", NULL, 0},
    KD_OPTIONS_END,
};

static const struct kd_source_ops prom_ops = {
    .size = sizeof(struct kd_source_ops),
    .create = prom_create,
    .fetch = prom_fetch,
    .cancel = prom_cancel,
    .destroy = prom_destroy,
};

KD_PLUGIN_EXPORT const struct kd_plugin kd_plugin = {
    KD_PLUGIN_ABI,
    .kind = KD_PLUGIN_SOURCE,
    .name = "prometheus",
    .version = PROM_VERSION,
    .description = "Builds forecasts from Prometheus history (seasonal or linear)",
    .config_size = sizeof(struct prom_config),
    .options = prom_options,
    .source = &prom_ops,
};
