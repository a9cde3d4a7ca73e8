/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops/scaler_metrics: the per-workload gauges an answer sets, through the workload's memo of
 * series hints. A memo keeps working across answers, and a hint taken before its series were
 * cleared (a reload) or removed (an eviction) is never trusted: the freed series slot may
 * belong to another workload by then.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ops/metrics.h"
#include "ops/scaler_metrics.h"
#include "scaler/scaler.h"

struct fixture {
    struct kd_metrics *registry;
    struct kd_scaler_metrics *sm;
    struct kd_scaler_observer obs;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    assert_int_equal(kd_metrics_create(&fx->registry), 0);
    assert_int_equal(kd_scaler_metrics_create(fx->registry, "test", 0, &fx->sm), 0);
    kd_scaler_metrics_observer(fx->sm, &fx->obs);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    kd_scaler_metrics_destroy(fx->sm);
    kd_metrics_destroy(fx->registry);
    free(fx);
    return 0;
}

/* The exposition text (caller frees). */
static char *exposition(const struct fixture *fx)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(kd_metrics_write(fx->registry, f), 0);
    fclose(f);
    return text;
}

static void expect_line(const struct fixture *fx, const char *line, bool present)
{
    char *text = exposition(fx);
    char want[256];
    snprintf(want, sizeof(want), "\n%s\n", line);
    if ((strstr(text, want) != NULL) != present)
        fail_msg("%s %s in:\n%s", present ? "missing" : "unexpected", line, text);
    free(text);
}

static void answer(const struct fixture *fx, const char *workload, enum kd_route_mode mode,
                   double replicas, double age_s, struct kd_observer_memo *memo)
{
    fx->obs.on_answer(fx->obs.arg, workload, mode, replicas, age_s, memo);
}

static void test_memo_is_used_and_kept(void **state)
{
    struct fixture *fx = *state;
    struct kd_observer_memo memo = {0};

    answer(fx, "a", KD_MODE_ACTIVE, 3, 10, &memo);
    assert_int_not_equal(memo.slot[0], 0);
    struct kd_observer_memo filled = memo;
    answer(fx, "a", KD_MODE_ACTIVE, 4, 11, &memo);
    assert_memory_equal(&memo, &filled, sizeof(memo));
    answer(fx, "a", KD_MODE_SHADOW, 5, 12, &memo);
    expect_line(fx, "kedastral_scaler_workload_desired_replicas{workload=\"a\",mode=\"active\"} 4",
                true);
    expect_line(fx, "kedastral_scaler_workload_desired_replicas{workload=\"a\",mode=\"shadow\"} 5",
                true);
    expect_line(fx, "kedastral_scaler_workload_forecast_age_seconds{workload=\"a\"} 12", true);
    /* no memo (no cache entry): the same series */
    answer(fx, "a", KD_MODE_ACTIVE, 6, 13, NULL);
    expect_line(fx, "kedastral_scaler_workload_desired_replicas{workload=\"a\",mode=\"active\"} 6",
                true);
}

/* After a reload cleared the series, "d" takes the slot "c" had; c's old memo must not write
 * into it. */
static void test_memo_not_trusted_after_clear(void **state)
{
    struct fixture *fx = *state;
    struct kd_observer_memo memo_c = {0};

    answer(fx, "c", KD_MODE_ACTIVE, 2, 20, &memo_c);
    kd_scaler_metrics_reload(fx->sm, true);
    answer(fx, "d", KD_MODE_ACTIVE, 7, 70, NULL);
    answer(fx, "c", KD_MODE_ACTIVE, 3, 30, &memo_c);
    expect_line(fx, "kedastral_scaler_workload_desired_replicas{workload=\"d\",mode=\"active\"} 7",
                true);
    expect_line(fx, "kedastral_scaler_workload_forecast_age_seconds{workload=\"d\"} 70", true);
    expect_line(fx, "kedastral_scaler_workload_desired_replicas{workload=\"c\",mode=\"active\"} 3",
                true);
    expect_line(fx, "kedastral_scaler_workload_forecast_age_seconds{workload=\"c\"} 30", true);
}

/* The same after an eviction of "e" whose slot "f" then takes, answered through a memo "g"
 * filled before the eviction. */
static void test_memo_not_trusted_after_evict(void **state)
{
    struct fixture *fx = *state;
    struct kd_observer_memo memo_e = {0};

    answer(fx, "e", KD_MODE_ACTIVE, 1, 1, &memo_e);
    fx->obs.cache.on_evict(fx->obs.cache.arg, "e", KD_CACHE_EVICT_IDLE);
    expect_line(fx, "kedastral_scaler_workload_forecast_age_seconds{workload=\"e\"} 1", false);
    answer(fx, "f", KD_MODE_ACTIVE, 8, 80, NULL);
    answer(fx, "e", KD_MODE_ACTIVE, 9, 90, &memo_e);
    expect_line(fx, "kedastral_scaler_workload_desired_replicas{workload=\"f\",mode=\"active\"} 8",
                true);
    expect_line(fx, "kedastral_scaler_workload_desired_replicas{workload=\"e\",mode=\"active\"} 9",
                true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_memo_is_used_and_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memo_not_trusted_after_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memo_not_trusted_after_evict, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
