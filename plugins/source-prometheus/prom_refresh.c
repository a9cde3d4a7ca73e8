/* SPDX-License-Identifier: Apache-2.0 */
/* One refresh of one workload: see prom_refresh.h. */
#include "prom_refresh.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom_response.h"

#define QUERY_QUOTED_MAX 160 /* bytes of the query quoted in a message */

struct kd_prom_refresh {
    struct kd_prom_refresh_params p;
    int64_t now_ms;
    char *workload;
    char *query;
    struct kd_prom_plan *plan;
    double *grid;         /* n_rows x n_cols, NAN = no sample */
    int64_t *times;       /* linear: the time of each column */
    size_t n_with_series; /* ranges that returned a series */
    double *values;       /* n_horizon */
    int64_t *replicas;    /* n_horizon */
};

int kd_prom_refresh_create(const struct kd_prom_refresh_params *p, const char *workload,
                           const char *query, int64_t now_ms, struct kd_prom_refresh **ret)
{
    struct kd_prom_refresh *r = calloc(1, sizeof(*r));

    if (!r)
        return -ENOMEM;
    r->p = *p;
    r->now_ms = now_ms;
    r->workload = strdup(workload);
    r->query = strdup(query);
    if (!r->workload || !r->query || kd_prom_plan_build(&p->plan, now_ms, &r->plan) < 0)
        goto fail;
    size_t cells = r->plan->n_rows * r->plan->n_cols, n = r->plan->n_horizon;
    r->grid = malloc(cells * sizeof(*r->grid));
    r->times = malloc(r->plan->n_cols * sizeof(*r->times));
    r->values = malloc(n * sizeof(*r->values));
    r->replicas = malloc(n * sizeof(*r->replicas));
    if (!r->grid || !r->times || !r->values || !r->replicas)
        goto fail;
    for (size_t i = 0; i < cells; i++)
        r->grid[i] = NAN;
    const struct kd_prom_range *first = &r->plan->ranges[0];
    for (size_t j = 0; j < r->plan->n_cols; j++)
        r->times[j] = first->start_ms + (int64_t)j * p->plan.step_ms;
    *ret = r;
    return 0;
fail:
    kd_prom_refresh_free(r);
    return -ENOMEM;
}

const struct kd_prom_plan *kd_prom_refresh_plan(const struct kd_prom_refresh *r)
{
    return r->plan;
}

/* The query as messages quote it: `...`, cut with "..." when long. */
static void quote_query(const char *query, char *out, size_t out_len)
{
    size_t len = strlen(query);

    if (len <= QUERY_QUOTED_MAX)
        snprintf(out, out_len, "`%s`", query);
    else
        snprintf(out, out_len, "`%.*s...`", QUERY_QUOTED_MAX, query);
}

void kd_prom_refresh_describe(const struct kd_prom_refresh *r, size_t index, char *out,
                              size_t out_len)
{
    const struct kd_prom_range *range = &r->plan->ranges[index];
    char q[QUERY_QUOTED_MAX + 8], start[40], end[40];

    quote_query(r->query, q, sizeof(q));
    kd_prom_response_format_time(range->start_ms, start, sizeof(start));
    kd_prom_response_format_time(range->end_ms, end, sizeof(end));
    snprintf(out, out_len, "query_range %s from %s to %s step %llds", q, start, end,
             (long long)(r->p.plan.step_ms / 1000));
}

int kd_prom_refresh_stream(struct kd_prom_refresh *r, size_t index, struct kd_prom_response **ret)
{
    const struct kd_prom_range *range = &r->plan->ranges[index];
    double *row = r->grid + range->row * r->plan->n_cols + range->first;

    return kd_prom_response_new(range, r->p.plan.step_ms, row, ret);
}

int kd_prom_refresh_add_parsed(struct kd_prom_refresh *r, size_t index, long status,
                               struct kd_prom_response *parsed, char *err, size_t err_len)
{
    char what[QUERY_QUOTED_MAX + 128], why[512];
    size_t n_series = 0;

    int rc = kd_prom_response_finish(parsed, &n_series, why, sizeof(why));
    if (rc == 0 && status != 200) {
        snprintf(why, sizeof(why), "HTTP %ld with a success body", status);
        rc = -EIO;
    } else if (rc < 0 && rc != -EPROTO && status != 200) {
        /* A proxy's or a crashed server's page: the status says more than the parser. */
        snprintf(why, sizeof(why), "HTTP %ld, not a Prometheus API response", status);
        rc = -EIO;
    }
    if (rc < 0) {
        kd_prom_refresh_describe(r, index, what, sizeof(what));
        if (rc == -EPROTO)
            snprintf(err, err_len, "%s: Prometheus says (HTTP %ld) %s", what, status, why);
        else
            snprintf(err, err_len, "%s: %s", what, why);
        return rc;
    }
    if (n_series)
        r->n_with_series++;
    return 0;
}

static int finish_seasonal(struct kd_prom_refresh *r, char *err, size_t err_len)
{
    char q[QUERY_QUOTED_MAX + 8], when[40];
    size_t col = 0;

    quote_query(r->query, q, sizeof(q));
    if (r->n_with_series == 0) {
        snprintf(err, err_len,
                 "%s found no series in any of the %zu past seasons; does it select the "
                 "workload \"%s\"?",
                 q, r->plan->n_rows, r->workload);
        return -ENODATA;
    }
    int rc = kd_prom_model_seasonal(r->grid, r->plan->n_rows, r->plan->n_cols, r->p.combine,
                                    r->values, &col);
    if (rc == -ENODATA) {
        int64_t t = r->now_ms + (int64_t)(col + 1) * r->p.plan.step_ms;
        kd_prom_response_format_time(t, when, sizeof(when));
        size_t n = (size_t)snprintf(err, err_len,
                                    "no past season has a sample for %s (now + %zu steps): %s "
                                    "found nothing at",
                                    when, col + 1, q);
        for (size_t k = 0; k < r->plan->n_rows && n < err_len; k++) {
            if (k == 3) {
                snprintf(err + n, err_len - n, " ...");
                break;
            }
            kd_prom_response_format_time(t - (int64_t)(k + 1) * r->p.plan.season_ms, when,
                                         sizeof(when));
            n += (size_t)snprintf(err + n, err_len - n, "%s %s", k ? "," : "", when);
        }
    }
    return rc;
}

static int finish_linear(struct kd_prom_refresh *r, char *err, size_t err_len)
{
    char q[QUERY_QUOTED_MAX + 8], start[40], end[40];

    int rc = kd_prom_model_linear(r->times, r->grid, r->plan->n_cols, r->now_ms, r->p.plan.step_ms,
                                  r->plan->n_horizon, r->values);
    if (rc == -ENODATA) {
        quote_query(r->query, q, sizeof(q));
        kd_prom_response_format_time(r->times[0], start, sizeof(start));
        kd_prom_response_format_time(r->times[r->plan->n_cols - 1], end, sizeof(end));
        snprintf(err, err_len,
                 "%s found fewer than two samples from %s to %s (window): no line to fit", q, start,
                 end);
    }
    return rc;
}

int kd_prom_refresh_finish(struct kd_prom_refresh *r, struct kd_forecast *ret_forecast, char *err,
                           size_t err_len)
{
    int rc = r->p.plan.model == KD_PROM_LINEAR ? finish_linear(r, err, err_len)
                                               : finish_seasonal(r, err, err_len);
    if (rc < 0)
        return rc;
    size_t n = r->plan->n_horizon;
    for (size_t i = 0; i < n; i++)
        r->replicas[i] = kd_prom_model_replicas(r->values[i], r->p.per_replica);
    *ret_forecast = (struct kd_forecast){KD_FORECAST_INIT};
    ret_forecast->workload = r->workload;
    ret_forecast->metric = r->query;
    ret_forecast->generated_at_ms = r->now_ms;
    ret_forecast->step_seconds = r->p.plan.step_ms / 1000;
    ret_forecast->horizon_seconds = (int64_t)n * (r->p.plan.step_ms / 1000);
    ret_forecast->n_values = n;
    ret_forecast->values = r->values;
    ret_forecast->n_desired_replicas = n;
    ret_forecast->desired_replicas = r->replicas;
    return 0;
}

void kd_prom_refresh_free(struct kd_prom_refresh *r)
{
    if (!r)
        return;
    free(r->replicas);
    free(r->values);
    free(r->times);
    free(r->grid);
    free(r->plan);
    free(r->query);
    free(r->workload);
    free(r);
}
