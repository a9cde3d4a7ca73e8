/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which range queries one refresh sends, and where their points land. A refresh fills a grid:
 *
 *   seasonal  rows k = 1..seasons, columns i = 0..N-1 (N = horizon / step): the value at
 *             now + (i + 1) * step - k * season
 *   linear    one row, columns j = 0..M-1 (M = window / step + 1): the value at
 *             now - window + j * step
 *
 * Each row is split into ranges of at most max_points points, so no query asks Prometheus for
 * more points per series than it allows (11,000). Pure.
 */
#ifndef KD_PROM_PLAN_H
#define KD_PROM_PLAN_H

#include <stddef.h>
#include <stdint.h>

enum kd_prom_model { KD_PROM_SEASONAL = 1, KD_PROM_LINEAR = 2 };

#define KD_PROM_PLAN_MAX_CELLS 1000000 /* rows x columns of one refresh */

struct kd_prom_plan_params {
    enum kd_prom_model model;
    int64_t step_ms;    /* > 0 */
    int64_t horizon_ms; /* >= step_ms */
    int64_t season_ms;  /* seasonal: > 0 */
    int64_t seasons;    /* seasonal: >= 1 */
    int64_t window_ms;  /* linear: >= step_ms */
    int64_t max_points; /* >= 1 */
};

struct kd_prom_range {
    int64_t start_ms; /* the first point's time */
    int64_t end_ms;   /* the last point's time: start + (n_points - 1) * step */
    size_t n_points;
    size_t row;   /* seasonal: k - 1; linear: 0 */
    size_t first; /* column of the first point */
};

struct kd_prom_plan {
    size_t n_rows, n_cols;
    size_t n_horizon; /* forecast points: horizon / step */
    size_t n_ranges;
    struct kd_prom_range ranges[]; /* row by row, in time order */
};

/*
 * Check `p` and say what is wrong in words: -EINVAL with one line in `err`. Also refuses
 * grids beyond KD_PROM_PLAN_MAX_CELLS, which would mean an absurd step for the horizon.
 */
int kd_prom_plan_check(const struct kd_prom_plan_params *p, char *err, size_t err_len);

/* The plan for a refresh at `now_ms`; `p` must have passed the check. Returns 0 and a
 * malloc'd plan (free()), or -ENOMEM. */
int kd_prom_plan_build(const struct kd_prom_plan_params *p, int64_t now_ms,
                       struct kd_prom_plan **ret_plan);

/* Queries one refresh sends, without building the plan (for the README and the log). */
size_t kd_prom_plan_count(const struct kd_prom_plan_params *p);

#endif /* KD_PROM_PLAN_H */
