/* SPDX-License-Identifier: Apache-2.0 */
/* Upstream's lead-time rule: its own test vectors, its documented edge cases, our guards. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "window_max.h"

#define MIN_MS (60 * 1000)
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* TestScaler_SelectReplicasAtLeadTime in upstream's cmd/scaler/scaler_test.go. */
static void test_upstream_vectors(void **state)
{
    static const int64_t a[] = {2, 2, 3, 3, 4, 5, 5, 5};
    static const int64_t b[] = {2, 3, 4, 5};
    static const int64_t c[] = {2, 3, 4};
    int64_t max = 0;

    (void)state;
    assert_int_equal(kd_window_max_compute(a, N(a), 5 * MIN_MS, 60, &max), 0);
    assert_int_equal(max, 5);
    assert_int_equal(kd_window_max_compute(b, N(b), 0, 60, &max), 0);
    assert_int_equal(max, 2);
    assert_int_equal(kd_window_max_compute(c, N(c), 30 * MIN_MS, 60, &max), 0);
    assert_int_equal(max, 4);
    assert_int_equal(kd_window_max_compute(NULL, 0, 5 * MIN_MS, 60, &max), 0);
    assert_int_equal(max, 1);
    /* TestScaler_GetMetrics_Success */
    static const int64_t d[] = {2, 2, 3, 3, 4, 5};
    assert_int_equal(kd_window_max_compute(d, N(d), 5 * MIN_MS, 60, &max), 0);
    assert_int_equal(max, 5);
}

/* The checked values of upstream §2.3: floor division, inclusive window. */
static void test_last_index(void **state)
{
    static const struct {
        int64_t lead_ms, step;
        size_t n, last;
    } rows[] = {
        {5 * MIN_MS, 60, 100, 5}, /* 5m / 60 s: indexes 0..5, six elements */
        {90 * 1000, 60, 100, 1},  /* 90 s / 60 s */
        {59 * 1000, 60, 100, 0},  /* shorter than one step */
        {5 * MIN_MS, 7, 100, 42}, /* 300 / 7 truncates */
        {0, 60, 100, 0},
        {-5 * MIN_MS, 60, 100, 0},     /* negative lead clamps to 0 */
        {30 * MIN_MS, 60, 3, 2},       /* past the end: whole array */
        {59999, 60, 100, 0},           /* one ms short of a step */
        {60000, 60, 100, 1},           /* exactly one step */
        {INT64_MAX, 1, 10, 9},         /* huge lead */
        {INT64_MAX, INT64_MAX, 10, 0}, /* step * 1000 would overflow: no wrap */
        {INT64_MAX, INT64_MAX / 1000, 10, 1},
        {INT64_MAX, INT64_MAX / 1000 + 1, 10, 0},
    };
    (void)state;
    for (size_t i = 0; i < N(rows); i++) {
        size_t last = 99;
        assert_int_equal(kd_window_max_last_index(rows[i].lead_ms, rows[i].step, rows[i].n, &last),
                         0);
        assert_int_equal(last, rows[i].last);
    }
}

static void test_window_contents(void **state)
{
    static const int64_t peak_late[] = {1, 1, 9, 1};
    static const int64_t falling[] = {7, 3, 2, 1};
    int64_t max = 0;

    (void)state;
    /* 90 s / 60 s -> window 0..1 does not see the 9 at index 2 */
    assert_int_equal(kd_window_max_compute(peak_late, N(peak_late), 90 * 1000, 60, &max), 0);
    assert_int_equal(max, 1);
    assert_int_equal(kd_window_max_compute(peak_late, N(peak_late), 2 * MIN_MS, 60, &max), 0);
    assert_int_equal(max, 9);
    /* 59 s -> index 0 only */
    assert_int_equal(kd_window_max_compute(peak_late, N(peak_late), 59 * 1000, 60, &max), 0);
    assert_int_equal(max, 1);
    /* never below the first point: down-scaling is the forecaster's job */
    assert_int_equal(kd_window_max_compute(falling, N(falling), 30 * MIN_MS, 60, &max), 0);
    assert_int_equal(max, 7);
}

/* Upstream divides by zero (and crashes) here; we refuse. */
static void test_bad_step(void **state)
{
    static const int64_t r[] = {2, 3};
    int64_t max = 42;
    size_t last = 42;

    (void)state;
    assert_int_equal(kd_window_max_compute(r, N(r), 5 * MIN_MS, 0, &max), -EINVAL);
    assert_int_equal(kd_window_max_compute(r, N(r), 5 * MIN_MS, -60, &max), -EINVAL);
    assert_int_equal(kd_window_max_compute(r, N(r), 5 * MIN_MS, INT64_MIN, &max), -EINVAL);
    assert_int_equal(max, 42);
    assert_int_equal(kd_window_max_last_index(5 * MIN_MS, 0, 2, &last), -EINVAL);
    assert_int_equal(kd_window_max_last_index(5 * MIN_MS, 60, 0, &last), -EINVAL);
    assert_int_equal(last, 42);
    /* empty series answers 1 before the step is looked at, as upstream */
    assert_int_equal(kd_window_max_compute(NULL, 0, 5 * MIN_MS, 0, &max), 0);
    assert_int_equal(max, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_vectors),
        cmocka_unit_test(test_last_index),
        cmocka_unit_test(test_window_contents),
        cmocka_unit_test(test_bad_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
