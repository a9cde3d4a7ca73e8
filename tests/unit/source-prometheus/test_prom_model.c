/* SPDX-License-Identifier: Apache-2.0 */
/* plugins/source-prometheus/prom_model.c: seasonal combine, linear fit, replica arithmetic. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "prom_model.h"

/* Three seasons x four steps; NAN is a season without a sample there. */
static const double grid[3 * 4] = {
    10, 1, NAN, 7,   /* k = 1 */
    20, 5, NAN, NAN, /* k = 2 */
    40, 3, 8,   NAN, /* k = 3 */
};

static void seasonal_median_max_mean_skip_missing(void **state)
{
    static const struct {
        enum kd_prom_combine combine;
        double want[4];
    } rows[] = {
        /* col 0: all three; col 1: all three; col 2: only k=3; col 3: only k=1 */
        {KD_PROM_MEDIAN, {20, 3, 8, 7}},
        {KD_PROM_MAX, {40, 5, 8, 7}},
        {KD_PROM_MEAN, {70.0 / 3, 3, 8, 7}},
    };
    double out[4];
    size_t col = 99;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(kd_prom_model_seasonal(grid, 3, 4, rows[i].combine, out, &col), 0);
        for (size_t j = 0; j < 4; j++)
            assert_float_equal(out[j], rows[i].want[j], 1e-12);
    }
}

static void seasonal_median_of_even_count_is_mid_mean(void **state)
{
    const double g[4] = {1, 9, 4, NAN}; /* 4 seasons x 1 step: 1, 9, 4 -> 4; with 2 -> 3 */
    const double h[2] = {2, 6};
    double out[1];
    size_t col;

    (void)state;
    assert_int_equal(kd_prom_model_seasonal(g, 4, 1, KD_PROM_MEDIAN, out, &col), 0);
    assert_float_equal(out[0], 4, 0);
    assert_int_equal(kd_prom_model_seasonal(h, 2, 1, KD_PROM_MEDIAN, out, &col), 0);
    assert_float_equal(out[0], 4, 0);
}

static void seasonal_column_without_any_season_fails(void **state)
{
    const double g[2 * 3] = {1, NAN, 3, 4, NAN, 6};
    double out[3];
    size_t col = 99;

    (void)state;
    assert_int_equal(kd_prom_model_seasonal(g, 2, 3, KD_PROM_MAX, out, &col), -ENODATA);
    assert_int_equal(col, 1);
}

static void linear_fits_and_extrapolates(void **state)
{
    /* v = 100 + 2 * (t - now) / 1 s, sampled every 60 s over the last 5 minutes, one gap. */
    const int64_t now = 1700000000000;
    int64_t t[6];
    double v[6], out[3];

    (void)state;
    for (int j = 0; j < 6; j++) {
        t[j] = now - (5 - j) * 60000;
        v[j] = 100 + 2.0 * (double)(t[j] - now) / 1000.0;
    }
    v[2] = NAN;
    assert_int_equal(kd_prom_model_linear(t, v, 6, now, 60000, 3, out), 0);
    assert_float_equal(out[0], 220, 1e-9);
    assert_float_equal(out[2], 460, 1e-9);

    /* Noisy: the least-squares answer of x = 0,1,2,3 / y = 1,3,2,4 is y = 1.3 + 0.8 x. */
    const int64_t tx[4] = {now - 3000, now - 2000, now - 1000, now};
    const double y[4] = {1, 3, 2, 4};
    assert_int_equal(kd_prom_model_linear(tx, y, 4, now, 1000, 2, out), 0);
    assert_float_equal(out[0], 1.3 + 0.8 * 4, 1e-9);
    assert_float_equal(out[1], 1.3 + 0.8 * 5, 1e-9);

    /* Falling lines go negative; the replica rule clamps, the model does not. */
    const double down[2] = {10, 0};
    assert_int_equal(kd_prom_model_linear(tx + 2, down, 2, now, 1000, 1, out), 0);
    assert_float_equal(out[0], -10, 1e-9);
}

static void linear_needs_two_points(void **state)
{
    const int64_t t[3] = {0, 1000, 2000};
    const double one[3] = {NAN, 5, NAN}, none[3] = {NAN, NAN, NAN};
    const int64_t same[2] = {1000, 1000};
    const double two[2] = {1, 2};
    double out[1];

    (void)state;
    assert_int_equal(kd_prom_model_linear(t, one, 3, 2000, 1000, 1, out), -ENODATA);
    assert_int_equal(kd_prom_model_linear(t, none, 3, 2000, 1000, 1, out), -ENODATA);
    assert_int_equal(kd_prom_model_linear(same, two, 2, 2000, 1000, 1, out), -ENODATA);
}

static void replicas_ceil_never_below_zero(void **state)
{
    static const struct {
        double value, per_replica;
        int64_t want;
    } rows[] = {
        {0, 100, 0},   {-50, 100, 0},   {NAN, 100, 0},         {1, 100, 1},
        {100, 100, 1}, {100.5, 100, 2}, {250, 100, 3},         {1.1, 0.1, 11},
        {0.7, 0.1, 7}, {0.3, 0.1, 3},   {1e300, 1, INT32_MAX}, {INFINITY, 1, INT32_MAX},
        {1e-12, 1, 0}, {5, 0, 0},       {300.001, 100, 4},     {300.0000000001, 100, 3},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        assert_int_equal(kd_prom_model_replicas(rows[i].value, rows[i].per_replica), rows[i].want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seasonal_median_max_mean_skip_missing),
        cmocka_unit_test(seasonal_median_of_even_count_is_mid_mean),
        cmocka_unit_test(seasonal_column_without_any_season_fails),
        cmocka_unit_test(linear_fits_and_extrapolates),
        cmocka_unit_test(linear_needs_two_points),
        cmocka_unit_test(replicas_ceil_never_below_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
