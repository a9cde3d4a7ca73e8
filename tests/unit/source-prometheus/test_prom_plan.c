/* SPDX-License-Identifier: Apache-2.0 */
/* plugins/source-prometheus/prom_plan.c: which range queries a refresh sends. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prom_plan.h"

#define MIN 60000LL
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define WEEK (7 * DAY)

static const struct kd_prom_plan_params seasonal_default = {.model = KD_PROM_SEASONAL,
                                                            .step_ms = MIN,
                                                            .horizon_ms = HOUR,
                                                            .season_ms = WEEK,
                                                            .seasons = 3,
                                                            .window_ms = HOUR,
                                                            .max_points = 11000};

static void seasonal_one_range_per_season(void **state)
{
    struct kd_prom_plan *plan = NULL;
    const int64_t now = 1700000000123;

    (void)state;
    assert_int_equal(kd_prom_plan_build(&seasonal_default, now, &plan), 0);
    assert_int_equal(plan->n_rows, 3);
    assert_int_equal(plan->n_cols, 60);
    assert_int_equal(plan->n_horizon, 60);
    assert_int_equal(plan->n_ranges, 3);
    assert_int_equal(kd_prom_plan_count(&seasonal_default), 3);
    for (size_t k = 0; k < 3; k++) {
        const struct kd_prom_range *r = &plan->ranges[k];
        /* (now, now + horizon] shifted back k + 1 seasons */
        assert_int_equal(r->start_ms, now + MIN - (int64_t)(k + 1) * WEEK);
        assert_int_equal(r->end_ms, now + HOUR - (int64_t)(k + 1) * WEEK);
        assert_int_equal(r->n_points, 60);
        assert_int_equal(r->row, k);
        assert_int_equal(r->first, 0);
    }
    free(plan);
}

/* No range asks for more than max_points points; together they cover every column once. */
static void shards_never_exceed_max_points(void **state)
{
    static const struct {
        int64_t horizon_ms, step_ms, max_points;
        size_t shards;
    } rows[] = {
        {HOUR, MIN, 60, 1},      /* exactly one full shard */
        {HOUR, MIN, 59, 2},      /* one point too many */
        {HOUR, MIN, 25, 3},      /* 25 + 25 + 10 */
        {HOUR, MIN, 1, 60},      /* degenerate but legal */
        {WEEK, 30000, 11000, 2}, /* 20160 points: Prometheus' own limit */
        {DAY, 1000, 11000, 8},   /* 86400 points at 1 s */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct kd_prom_plan_params p = seasonal_default;
        struct kd_prom_plan *plan = NULL;
        p.horizon_ms = rows[i].horizon_ms;
        p.step_ms = rows[i].step_ms;
        p.max_points = rows[i].max_points;
        char err[128];
        assert_int_equal(kd_prom_plan_check(&p, err, sizeof(err)), 0);
        assert_int_equal(kd_prom_plan_build(&p, 0, &plan), 0);
        assert_int_equal(plan->n_ranges, 3 * rows[i].shards);
        assert_int_equal(kd_prom_plan_count(&p), 3 * rows[i].shards);
        size_t covered[3] = {0};
        for (size_t j = 0; j < plan->n_ranges; j++) {
            const struct kd_prom_range *r = &plan->ranges[j];
            assert_true(r->n_points >= 1 && r->n_points <= (size_t)p.max_points);
            /* What Prometheus counts: (end - start) / step + 1 points. */
            assert_int_equal((r->end_ms - r->start_ms) / p.step_ms + 1, (int64_t)r->n_points);
            assert_int_equal(r->first, covered[r->row]); /* contiguous, in order */
            assert_int_equal(r->start_ms, p.step_ms * (int64_t)(r->first + 1) -
                                              (int64_t)(r->row + 1) * p.season_ms);
            covered[r->row] += r->n_points;
        }
        for (size_t k = 0; k < 3; k++)
            assert_int_equal(covered[k], plan->n_cols);
        free(plan);
    }
}

static void linear_window_ends_at_now(void **state)
{
    struct kd_prom_plan_params p = seasonal_default;
    struct kd_prom_plan *plan = NULL;

    (void)state;
    p.model = KD_PROM_LINEAR;
    p.window_ms = HOUR;
    p.max_points = 50;
    assert_int_equal(kd_prom_plan_build(&p, 10 * HOUR, &plan), 0);
    assert_int_equal(plan->n_rows, 1);
    assert_int_equal(plan->n_cols, 61); /* both ends of the window */
    assert_int_equal(plan->n_horizon, 60);
    assert_int_equal(plan->n_ranges, 2);
    assert_int_equal(plan->ranges[0].start_ms, 9 * HOUR);
    assert_int_equal(plan->ranges[0].n_points, 50);
    assert_int_equal(plan->ranges[1].first, 50);
    assert_int_equal(plan->ranges[1].end_ms, 10 * HOUR);
    assert_int_equal(plan->ranges[1].n_points, 11);
    free(plan);
}

static void check_refuses_nonsense(void **state)
{
    static const struct {
        struct kd_prom_plan_params p;
        const char *words;
    } bad[] = {
        {{.model = 0,
          .step_ms = MIN,
          .horizon_ms = HOUR,
          .season_ms = WEEK,
          .seasons = 3,
          .max_points = 1},
         "model"},
        {{KD_PROM_SEASONAL, 0, HOUR, WEEK, 3, HOUR, 11000}, "step"},
        {{KD_PROM_SEASONAL, MIN, 30000, WEEK, 3, HOUR, 11000}, "horizon"},
        {{KD_PROM_SEASONAL, MIN, HOUR, WEEK, 0, HOUR, 11000}, "seasons"},
        {{KD_PROM_SEASONAL, MIN, HOUR, WEEK, 3, HOUR, 0}, "max_points"},
        {{KD_PROM_SEASONAL, MIN, 2 * DAY, DAY, 3, HOUR, 11000}, "shorter than horizon"},
        {{KD_PROM_SEASONAL, 1000, WEEK, WEEK, 3, HOUR, 11000}, "more than"},
        {{KD_PROM_SEASONAL, 1500, HOUR, WEEK, 3, HOUR, 11000}, "whole number of seconds"},
        {{KD_PROM_LINEAR, MIN, HOUR, WEEK, 3, 1000, 11000}, "window"},
    };
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(kd_prom_plan_check(&bad[i].p, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, bad[i].words));
    }
    assert_int_equal(kd_prom_plan_check(&seasonal_default, err, sizeof(err)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seasonal_one_range_per_season),
        cmocka_unit_test(shards_never_exceed_max_points),
        cmocka_unit_test(linear_window_ends_at_now),
        cmocka_unit_test(check_refuses_nonsense),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
