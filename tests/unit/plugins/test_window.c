/* SPDX-License-Identifier: Apache-2.0 */
/* plugins/common/window: the window anchored at now, and its max and quantile reductions. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "window.h"

#define S 1000LL
#define MIN (60 * S)
#define GEN 1760000000000LL
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* One row: a forecast generated at GEN with `step` and `n` elements, asked at GEN + age. */
struct row {
    int64_t age_ms, lead_ms, step;
    size_t n;
    int rc;
    size_t first, last;
};

static void check_rows(const struct row *rows, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        struct kd_window w = {99, 99};
        int rc =
            kd_window_at(GEN, rows[i].step, rows[i].n, GEN + rows[i].age_ms, rows[i].lead_ms, &w);
        if (rc != rows[i].rc)
            fail_msg("row %zu: rc %d, expected %d", i, rc, rows[i].rc);
        if (rc == 0 && (w.first != rows[i].first || w.last != rows[i].last))
            fail_msg("row %zu: window %zu..%zu, expected %zu..%zu", i, w.first, w.last,
                     rows[i].first, rows[i].last);
    }
}

/* At age 0 the window is upstream's [0 .. floor(lead/step)], clamped (upstream §2.3 values). */
static void test_age_zero_is_upstream(void **state)
{
    static const struct row rows[] = {
        {0, 5 * MIN, 60, 100, 0, 0, 5},  /* 5m / 60 s: 0..5, six elements */
        {0, 90 * S, 60, 100, 0, 0, 1},   /* 90 s / 60 s */
        {0, 59 * S, 60, 100, 0, 0, 0},   /* shorter than a step */
        {0, 5 * MIN, 7, 100, 0, 0, 42},  /* 300 / 7 truncates */
        {0, 0, 60, 100, 0, 0, 0},        /* lead 0: desiredReplicas[0] */
        {0, -5 * MIN, 60, 100, 0, 0, 0}, /* negative lead counts as 0 */
        {0, 30 * MIN, 60, 3, 0, 0, 2},   /* past the end: the whole array */
        {0, INT64_MAX, 1, 10, 0, 0, 9},
        {0, INT64_MAX, INT64_MAX, 10, 0, 0, 0}, /* step * 1000 would overflow */
        {-10 * MIN, 2 * MIN, 60, 10, 0, 0, 2},  /* generatedAt in the future: age 0 */
    };
    (void)state;
    check_rows(rows, N(rows));
}

/* Passed steps leave the window; the span stays floor(lead/step). */
static void test_aged(void **state)
{
    static const struct row rows[] = {
        {60 * S, 2 * MIN, 60, 10, 0, 1, 3},           /* one step old */
        {59999, 2 * MIN, 60, 10, 0, 0, 2},            /* 1 ms short of a step: nothing passed */
        {90 * S, 2 * MIN, 60, 10, 0, 1, 3},           /* mid-step */
        {4 * MIN + 30 * S, 0, 60, 10, 0, 4, 4},       /* lead 0 at 4.5 steps */
        {8 * MIN, 5 * MIN, 60, 10, 0, 8, 9},          /* end clamped to the array */
        {9 * MIN + 59 * S, 5 * MIN, 60, 10, 0, 9, 9}, /* the last element alone */
        {10 * MIN, 5 * MIN, 60, 10, -ERANGE, 0, 0},   /* every step passed: exhausted */
        {3600 * MIN, 0, 60, 10, -ERANGE, 0, 0},
        {2500, 1 * S, 1, 6, 0, 2, 3},            /* 1 s steps, 2.5 s old, 1 s lead */
        {INT64_MAX / 2, 0, 1, 6, -ERANGE, 0, 0}, /* absurd age */
    };
    (void)state;
    check_rows(rows, N(rows));
}

static void test_bad_input(void **state)
{
    struct kd_window w;

    (void)state;
    assert_int_equal(kd_window_at(GEN, 0, 5, GEN, MIN, &w), -EINVAL);
    assert_int_equal(kd_window_at(GEN, -60, 5, GEN, MIN, &w), -EINVAL);
    assert_int_equal(kd_window_at(GEN, 60, 0, GEN, MIN, &w), -ENODATA);
    assert_int_equal(kd_window_at(GEN, 0, 0, GEN, MIN, &w), -ENODATA); /* empty first */
    /* generatedAt far in the past (negative): the age saturates instead of wrapping */
    assert_int_equal(kd_window_at(INT64_MIN, 1, 5, INT64_MAX, 0, &w), -ERANGE);
    assert_int_equal(kd_window_steps(-1, 60), 0);
    assert_int_equal(kd_window_steps(INT64_MAX, 1), INT64_MAX / 1000);
}

/* The upstream vectors (TestScaler_SelectReplicasAtLeadTime) through window + max at age 0. */
static void test_max_upstream_vectors(void **state)
{
    static const int64_t a[] = {2, 2, 3, 3, 4, 5, 5, 5};
    static const int64_t b[] = {2, 3, 4, 5};
    static const int64_t c[] = {2, 3, 4};
    static const int64_t d[] = {2, 2, 3, 3, 4, 5};
    struct kd_window w;

    (void)state;
    assert_int_equal(kd_window_at(GEN, 60, N(a), GEN, 5 * MIN, &w), 0);
    assert_int_equal(kd_window_max(a, &w), 5);
    assert_int_equal(kd_window_at(GEN, 60, N(b), GEN, 0, &w), 0);
    assert_int_equal(kd_window_max(b, &w), 2);
    assert_int_equal(kd_window_at(GEN, 60, N(c), GEN, 30 * MIN, &w), 0);
    assert_int_equal(kd_window_max(c, &w), 4);
    assert_int_equal(kd_window_at(GEN, 60, N(d), GEN, 5 * MIN, &w), 0);
    assert_int_equal(kd_window_max(d, &w), 5);
}

/* An aged forecast no longer sees the peak that has passed. */
static void test_max_skips_passed_steps(void **state)
{
    static const int64_t v[] = {9, 1, 2, 3, 1};
    struct kd_window w;

    (void)state;
    assert_int_equal(kd_window_at(GEN, 60, N(v), GEN + 30 * S, MIN, &w), 0);
    assert_int_equal(kd_window_max(v, &w), 9);
    assert_int_equal(kd_window_at(GEN, 60, N(v), GEN + 60 * S, MIN, &w), 0);
    assert_int_equal(kd_window_max(v, &w), 2);
    assert_int_equal(kd_window_at(GEN, 60, N(v), GEN + 150 * S, MIN, &w), 0);
    assert_int_equal(kd_window_max(v, &w), 3);
}

static void test_quantile_rank(void **state)
{
    static const struct {
        double q;
        size_t k, rank;
    } rows[] = {
        {0.9, 10, 9}, {0.9, 1, 1},  {0.9, 20, 18},      {0.9, 11, 10}, /* ceil(9.9) */
        {0.5, 4, 2},  {0.5, 5, 3},  {0.0, 7, 1},        {1.0, 7, 7},
        {0.7, 10, 7}, /* 0.7 * 10 = 7.000000000000001 in doubles: still the 7th */
        {0.1, 3, 1},  {0.34, 3, 2}, {0.999, 1000, 999}, {NAN, 4, 4}, /* NaN counts as 1 */
    };
    (void)state;
    for (size_t i = 0; i < N(rows); i++) {
        size_t rank = kd_window_quantile_rank(rows[i].q, rows[i].k);
        if (rank != rows[i].rank)
            fail_msg("row %zu: q %g k %zu: rank %zu, expected %zu", i, rows[i].q, rows[i].k, rank,
                     rows[i].rank);
    }
}

static void test_quantile_values(void **state)
{
    /* A spike: max over-provisions, the 0.9 quantile of ten steps ignores one outlier. */
    static const int64_t v[] = {3, 4, 3, 40, 4, 5, 4, 3, 4, 5, 9};
    int64_t scratch[N(v)];
    struct kd_window w;

    (void)state;
    assert_int_equal(kd_window_at(GEN, 60, N(v), GEN, 9 * MIN, &w), 0); /* 0..9 */
    assert_int_equal(kd_window_max(v, &w), 40);
    assert_int_equal(kd_window_quantile(v, &w, 0.9, scratch), 5);
    assert_int_equal(kd_window_quantile(v, &w, 1.0, scratch), 40);
    assert_int_equal(kd_window_quantile(v, &w, 0.0, scratch), 3);
    assert_int_equal(kd_window_quantile(v, &w, 0.5, scratch), 4);
    /* the window moves with the forecast's age: at 4 steps the spike has passed */
    assert_int_equal(kd_window_at(GEN, 60, N(v), GEN + 4 * MIN, 6 * MIN, &w), 0); /* 4..10 */
    assert_int_equal(kd_window_quantile(v, &w, 1.0, scratch), 9);
    assert_int_equal(kd_window_quantile(v, &w, 0.5, scratch), 4);
    /* the input is not reordered */
    assert_int_equal(v[3], 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_age_zero_is_upstream),
        cmocka_unit_test(test_aged),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_max_upstream_vectors),
        cmocka_unit_test(test_max_skips_passed_steps),
        cmocka_unit_test(test_quantile_rank),
        cmocka_unit_test(test_quantile_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
