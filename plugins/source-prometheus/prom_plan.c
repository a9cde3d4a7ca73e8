/* SPDX-License-Identifier: Apache-2.0 */
/* Range queries of one refresh: see prom_plan.h. */
#include "prom_plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static size_t n_cols(const struct kd_prom_plan_params *p)
{
    if (p->model == KD_PROM_LINEAR)
        return (size_t)(p->window_ms / p->step_ms) + 1;
    return (size_t)(p->horizon_ms / p->step_ms);
}

static size_t n_rows(const struct kd_prom_plan_params *p)
{
    return p->model == KD_PROM_LINEAR ? 1 : (size_t)p->seasons;
}

static size_t shards(const struct kd_prom_plan_params *p)
{
    size_t cols = n_cols(p), max = (size_t)p->max_points;
    return (cols + max - 1) / max;
}

int kd_prom_plan_check(const struct kd_prom_plan_params *p, char *err, size_t err_len)
{
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, err_len, __VA_ARGS__);                                                       \
        return -EINVAL;                                                                            \
    } while (0)

    if (err_len)
        err[0] = '\0';
    if (p->model != KD_PROM_SEASONAL && p->model != KD_PROM_LINEAR)
        FAIL("model must be \"seasonal\" or \"linear\"");
    if (p->step_ms <= 0 || p->step_ms % 1000 != 0)
        FAIL("step must be a positive whole number of seconds (the forecast's stepSeconds)");
    if (p->horizon_ms < p->step_ms)
        FAIL("horizon (%lld ms) must be at least one step (%lld ms)", (long long)p->horizon_ms,
             (long long)p->step_ms);
    if (p->max_points < 1)
        FAIL("max_points must be at least 1");
    if (p->model == KD_PROM_SEASONAL) {
        if (p->seasons < 1 || p->seasons > 1000)
            FAIL("seasons must be between 1 and 1000 (got %lld)", (long long)p->seasons);
        if (p->season_ms <= 0)
            FAIL("season must be positive");
        if (p->season_ms < p->horizon_ms)
            FAIL("season (%lld ms) is shorter than horizon (%lld ms): the forecast would "
                 "reach past now into the future of a past season",
                 (long long)p->season_ms, (long long)p->horizon_ms);
    } else if (p->window_ms < p->step_ms) {
        FAIL("window (%lld ms) must be at least one step (%lld ms)", (long long)p->window_ms,
             (long long)p->step_ms);
    }
    if (p->horizon_ms / p->step_ms > KD_PROM_PLAN_MAX_CELLS ||
        (p->model == KD_PROM_LINEAR && p->window_ms / p->step_ms >= KD_PROM_PLAN_MAX_CELLS) ||
        n_cols(p) * n_rows(p) > KD_PROM_PLAN_MAX_CELLS)
        FAIL("more than %d points per refresh: use a larger step or a shorter horizon",
             KD_PROM_PLAN_MAX_CELLS);
    return 0;
#undef FAIL
}

size_t kd_prom_plan_count(const struct kd_prom_plan_params *p)
{
    return n_rows(p) * shards(p);
}

int kd_prom_plan_build(const struct kd_prom_plan_params *p, int64_t now_ms,
                       struct kd_prom_plan **ret_plan)
{
    size_t rows = n_rows(p), cols = n_cols(p), per_row = shards(p);
    size_t max = (size_t)p->max_points;

    struct kd_prom_plan *plan =
        malloc(sizeof(*plan) + rows * per_row * sizeof(struct kd_prom_range));
    if (!plan)
        return -ENOMEM;
    plan->n_rows = rows;
    plan->n_cols = cols;
    plan->n_horizon = (size_t)(p->horizon_ms / p->step_ms);
    plan->n_ranges = rows * per_row;

    struct kd_prom_range *r = plan->ranges;
    for (size_t row = 0; row < rows; row++) {
        /* Time of column 0 of this row. */
        int64_t t0 = p->model == KD_PROM_LINEAR
                         ? now_ms - (int64_t)(cols - 1) * p->step_ms
                         : now_ms + p->step_ms - (int64_t)(row + 1) * p->season_ms;
        for (size_t first = 0; first < cols; first += max, r++) {
            size_t n = cols - first < max ? cols - first : max;
            r->start_ms = t0 + (int64_t)first * p->step_ms;
            r->end_ms = r->start_ms + (int64_t)(n - 1) * p->step_ms;
            r->n_points = n;
            r->row = row;
            r->first = first;
        }
    }
    *ret_plan = plan;
    return 0;
}
