/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scaler/forecast_pack (the cache's compact forecasts) and scaler/answer_store (its interned
 * answer settings): what goes in comes out bit for bit, in the bytes promised.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scaler/answer_store.h"
#include "scaler/forecast_pack.h"

static void assert_same_doubles(const double *a, const double *b, size_t n)
{
    assert_memory_equal(a, b, n * sizeof(double));
}

/* Pack and unpack `f`; assert every field and bit came back; return the packed size. */
static size_t round_trip(const struct kd_forecast *f)
{
    struct kd_packed_forecast *p;
    struct kd_forecast out;

    assert_int_equal(kd_forecast_pack(f, 7, &p), 0);
    assert_int_equal(kd_forecast_packed_gen(p), 7);
    double *buf = malloc(kd_forecast_unpacked_size(p) + 1);
    kd_forecast_unpack(p, buf, &out);
    assert_int_equal(out.size, sizeof(out));
    assert_string_equal(out.workload, f->workload ? f->workload : "");
    assert_string_equal(out.metric, f->metric ? f->metric : "");
    assert_int_equal(out.generated_at_ms, f->generated_at_ms);
    assert_int_equal(out.step_seconds, f->step_seconds);
    assert_int_equal(out.horizon_seconds, f->horizon_seconds);
    assert_int_equal(out.n_values, f->n_values);
    assert_same_doubles(out.values, f->values, f->n_values);
    assert_int_equal(out.n_desired_replicas, f->n_desired_replicas);
    if (f->n_desired_replicas)
        assert_memory_equal(out.desired_replicas, f->desired_replicas,
                            f->n_desired_replicas * sizeof(int64_t));
    assert_int_equal(out.n_quantiles, f->n_quantiles);
    if (f->n_quantiles) {
        assert_same_doubles(out.quantile_levels, f->quantile_levels, f->n_quantiles);
        assert_same_doubles(out.quantile_values, f->quantile_values, f->n_quantiles * f->n_values);
    }
    size_t size = kd_forecast_packed_size(p);
    free(buf);
    free(p);
    return size;
}

/* A forecaster's 60 steps of two-decimal values and small replica counts: ~1/3 of a plain
 * copy (104 + 60 x 16 bytes), which is what keeps 100,000 workloads under 96 MB. */
static void test_sixty_steps_compact(void **state)
{
    double values[60];
    int64_t replicas[60];

    (void)state;
    for (int i = 0; i < 60; i++) {
        values[i] = (double)(4467 + 731 * i) / 100.0; /* as strtod("44.67") gives them */
        replicas[i] = 2 + i / 7;
    }
    struct kd_forecast f = {KD_FORECAST_INIT, "checkout", "http_rps", 1760000000000, 60, 3600, 60,
                            values,           60,         replicas};
    size_t size = round_trip(&f);
    /* 48 bytes of header, 4 a value, 1 a replica count, the two names */
    assert_true(size <= 48 + 60 * 4 + 60 + sizeof("checkout") + sizeof("http_rps") + 8);

    /* strtod's own results, not only quotients: the same bits come back */
    const char *texts[] = {"44.67", "0.1", "455", "1e-3", "-12.5", "2147.483647", "0"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        values[i] = strtod(texts[i], NULL);
    f.n_values = sizeof(texts) / sizeof(texts[0]);
    f.n_desired_replicas = 3;
    assert_true(round_trip(&f) <= 48 + f.n_values * 4 + 3 + 18 + 8);
}

/* Values no int32 decimal holds stay doubles, bit for bit; replicas take the width they need. */
static void test_fallbacks(void **state)
{
    double values[] = {412.5, 455.0000000000001, 1.0 / 3.0};
    int64_t replicas[] = {0, 255, 256};
    struct kd_forecast f = {KD_FORECAST_INIT, NULL, NULL, -5, 0, 0, 3, values, 3, replicas};

    (void)state;
    size_t raw = round_trip(&f);
    assert_true(raw >= 48 + 3 * sizeof(double));
    double specials[] = {-0.0, NAN, INFINITY, 1e300, -1e-300, 5e9};
    f.values = specials;
    f.n_values = sizeof(specials) / sizeof(specials[0]);
    round_trip(&f);

    const int64_t wide[][3] = {{0, 65535, 65536},
                               {0, 1, 4294967295},
                               {0, 1, 4294967296},
                               {-1, 0, 1},
                               {INT64_MIN, INT64_MAX, 0}};
    for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
        memcpy(replicas, wide[i], sizeof(replicas));
        f.n_values = 0;
        round_trip(&f);
    }
}

static void test_quantiles_and_empty(void **state)
{
    double values[] = {1.25, 2.5};
    double levels[] = {0.5, 0.9};
    double qvalues[] = {1.0, 2.0, 1.0 / 7.0, 3.5};
    int64_t replicas[] = {1, 2};
    struct kd_forecast f = {KD_FORECAST_INIT, "w", "m",      1, 60,     120,    2,
                            values,           2,   replicas, 2, levels, qvalues};

    (void)state;
    round_trip(&f);
    struct kd_forecast empty = {KD_FORECAST_INIT};
    round_trip(&empty);
    struct kd_packed_forecast *p;
    f.n_values = (size_t)UINT32_MAX;
    assert_int_equal(kd_forecast_pack(&f, 1, &p), -EOVERFLOW);
}

static struct kd_workload_answer answer(int64_t lead_ms, int64_t at_ms)
{
    struct kd_workload_answer a = {
        .at_ms = at_ms,
        .status = KD_GRPC_OK,
        .settings = {.lead_time_ms = lead_ms,
                     .stale_after_ms = -1,
                     .fallback_replicas = 3,
                     .mode = KD_MODE_SHADOW,
                     .activation_threshold = 0.5},
        .policy_value = 4.5,
        .window_first = 1,
        .window_last = 5,
        .age_ms = 100,
        .stale_after_ms = 600000,
        .stale = true,
        .active = true,
        .next_activation_ms = -1,
    };
    a.settings.origin[KD_EFF_LEAD_TIME] = KD_ORIGIN_METADATA;
    return a;
}

static void assert_same_answer(const struct kd_workload_answer *x,
                               const struct kd_workload_answer *y)
{
    assert_int_equal(x->at_ms, y->at_ms);
    assert_int_equal(x->status, y->status);
    assert_int_equal(x->settings.lead_time_ms, y->settings.lead_time_ms);
    assert_int_equal(x->settings.fallback_replicas, y->settings.fallback_replicas);
    assert_int_equal(x->settings.mode, y->settings.mode);
    assert_memory_equal(x->settings.origin, y->settings.origin, sizeof(x->settings.origin));
    assert_true(x->settings.activation_threshold == y->settings.activation_threshold);
    assert_true(x->policy_value == y->policy_value);
    assert_int_equal(x->window_first, y->window_first);
    assert_int_equal(x->window_last, y->window_last);
    assert_int_equal(x->age_ms, y->age_ms);
    assert_int_equal(x->stale_after_ms, y->stale_after_ms);
    assert_int_equal(x->stale, y->stale);
    assert_int_equal(x->exhausted, y->exhausted);
    assert_int_equal(x->active, y->active);
    assert_int_equal(x->next_activation_ms, y->next_activation_ms);
}

/* Many workloads answered with the same settings share one copy of them. */
static void test_answer_store_interns(void **state)
{
    struct kd_answer_store store;
    struct kd_stored_answer slots[100] = {0};
    struct kd_workload_answer empty = {.window_first = -1}, got;

    (void)state;
    assert_int_equal(sizeof(struct kd_stored_answer), 72);
    kd_answer_store_init(&store);
    kd_answer_store_get(&slots[0], &empty, &got);
    assert_int_equal(got.window_first, -1);
    for (int i = 0; i < 100; i++) {
        struct kd_workload_answer a = answer(300000, 1000 + i);
        assert_int_equal(kd_answer_store_put(&store, &slots[i], &a), 0);
        kd_answer_store_get(&slots[i], &empty, &got);
        assert_same_answer(&got, &a);
    }
    assert_int_equal(store.n, 1);
    for (int i = 0; i < 50; i++) { /* 50 change their lead time, to 5 distinct values */
        struct kd_workload_answer a = answer(60000 * (i % 5), 5000);
        assert_int_equal(kd_answer_store_put(&store, &slots[i], &a), 0);
        kd_answer_store_get(&slots[i], &empty, &got);
        assert_same_answer(&got, &a);
    }
    assert_int_equal(store.n, 6);
    for (int i = 0; i < 100; i++)
        kd_answer_store_release(&store, &slots[i]);
    assert_int_equal(store.n, 0);
    kd_answer_store_fini(&store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sixty_steps_compact),
        cmocka_unit_test(test_fallbacks),
        cmocka_unit_test(test_quantiles_and_empty),
        cmocka_unit_test(test_answer_store_interns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
