/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scaler/settings: trigger-metadata overrides against the route's allowances and bounds (each
 * refusal's exact message), where each setting came from, and when demand enters the
 * activation window.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fake_plugins.h"
#include "scaler/routes.h"
#include "scaler/effective_settings.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define ALL_OVERRIDES ((1u << KD_OVERRIDE_COUNT) - 1)

struct fixture {
    struct fake_source fs;
    struct fake_policy fp_a, fp_b;
    struct kd_instance *src, *pol_a, *pol_b;
    struct kd_instance *policies[2];
    struct kd_routes routes;
};

static const struct kd_source_timing timing = {10000, 2000, 600000};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    f->fp_a.lookahead_ms = 300000;
    f->fp_b.lookahead_ms = 900000;
    f->src = fake_instance("fake", &fake_source_plugin, &f->fs, NULL);
    f->pol_a = fake_instance("lookahead", &fake_policy_plugin, &f->fp_a, NULL);
    f->pol_b = fake_instance("p90", &fake_policy_plugin, &f->fp_b, NULL);
    if (!f->src || !f->pol_a || !f->pol_b) {
        kd_instance_destroy(f->src);
        kd_instance_destroy(f->pol_a);
        kd_instance_destroy(f->pol_b);
        free(f);
        return -1; /* out of memory (the allocation-failure build) */
    }
    f->policies[0] = f->pol_a;
    f->policies[1] = f->pol_b;
    kd_routes_init(&f->routes);
    f->routes.policies = f->policies;
    f->routes.n_policies = 2;
    assert_int_equal(kd_routes_add(&f->routes, "web-*", f->src, f->pol_a, &timing, -1, -1), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    kd_routes_fini(&f->routes);
    kd_instance_destroy(f->src);
    kd_instance_destroy(f->pol_a);
    kd_instance_destroy(f->pol_b);
    free(f);
    return 0;
}

static int resolve(struct fixture *f, enum kd_override_key key, const char *value,
                   struct kd_settings *s, char *err, size_t err_len)
{
    struct kd_overrides ov = {{0}};

    ov.value[key] = value;
    return kd_settings_resolve(&f->routes.routes[0], &f->routes, &ov, s, err, err_len);
}

static void test_defaults_and_origins(void **state)
{
    struct fixture *f = *state;
    struct kd_settings s;
    char err[256];

    assert_int_equal(
        kd_settings_resolve(&f->routes.routes[0], &f->routes, NULL, &s, err, sizeof(err)), 0);
    assert_ptr_equal(s.policy, f->pol_a);
    assert_int_equal(s.lead_time_ms, 300000);
    assert_int_equal(s.stale_after_ms, -1);
    assert_int_equal(s.fallback_replicas, -1);
    assert_int_equal(s.activation, KD_ACTIVATION_FRESH);
    assert_int_equal(s.activation_lead_ms, 300000); /* the lead time */
    assert_int_equal(s.mode, KD_MODE_ACTIVE);
    assert_int_equal(s.on_stale, KD_ON_STALE_ERROR);
    assert_int_equal(s.origin[KD_EFF_LEAD_TIME], KD_ORIGIN_CONFIG);
    assert_int_equal(s.origin[KD_EFF_STALE_AFTER], KD_ORIGIN_DEFAULT);
    assert_int_equal(s.origin[KD_EFF_MODE], KD_ORIGIN_DEFAULT);
    assert_string_equal(kd_setting_origin_name(s.origin[KD_EFF_MODE]), "default");

    /* written in the route: origin config */
    struct kd_config_workload w = {.stale_after_ms = 90000,
                                   .fallback_replicas = 2,
                                   .mode = KD_MODE_SHADOW,
                                   .activation_lead_ms = -1,
                                   .lead_time_max_ms = 3600000,
                                   .stale_after_max_ms = 86400000,
                                   .written = 1u << KD_ROUTE_STALE_AFTER |
                                              1u << KD_ROUTE_FALLBACK_REPLICAS |
                                              1u << KD_ROUTE_MODE};
    kd_routes_configure(&f->routes.routes[0], &w);
    assert_int_equal(
        kd_settings_resolve(&f->routes.routes[0], &f->routes, NULL, &s, err, sizeof(err)), 0);
    assert_int_equal(s.stale_after_ms, 90000);
    assert_int_equal(s.fallback_replicas, 2);
    assert_int_equal(s.mode, KD_MODE_SHADOW);
    assert_int_equal(s.origin[KD_EFF_STALE_AFTER], KD_ORIGIN_CONFIG);
    assert_int_equal(s.origin[KD_EFF_MODE], KD_ORIGIN_CONFIG);
    assert_int_equal(s.origin[KD_EFF_ON_STALE], KD_ORIGIN_DEFAULT);
}

static void test_allowed_overrides(void **state)
{
    struct fixture *f = *state;
    struct kd_settings s;
    struct kd_overrides ov = {{0}};
    char err[256];

    f->routes.routes[0].overrides = ALL_OVERRIDES;
    ov.value[KD_OVERRIDE_LEAD_TIME] = "90s";
    ov.value[KD_OVERRIDE_STALE_AFTER] = "2m";
    ov.value[KD_OVERRIDE_FALLBACK_REPLICAS] = "3";
    ov.value[KD_OVERRIDE_ACTIVATION] = "demand";
    ov.value[KD_OVERRIDE_ACTIVATION_LEAD_TIME] = "30s";
    ov.value[KD_OVERRIDE_MODE] = "shadow";
    assert_int_equal(
        kd_settings_resolve(&f->routes.routes[0], &f->routes, &ov, &s, err, sizeof(err)), 0);
    assert_int_equal(s.lead_time_ms, 90000);
    assert_int_equal(s.stale_after_ms, 120000);
    assert_int_equal(s.fallback_replicas, 3);
    assert_int_equal(s.activation, KD_ACTIVATION_DEMAND);
    assert_int_equal(s.activation_lead_ms, 30000);
    assert_int_equal(s.mode, KD_MODE_SHADOW);
    for (int k = 0; k < KD_OVERRIDE_COUNT; k++) {
        if (k != KD_OVERRIDE_POLICY)
            assert_int_equal(s.origin[k], KD_ORIGIN_METADATA);
    }
    assert_int_equal(s.origin[KD_EFF_POLICY], KD_ORIGIN_CONFIG);

    /* policy: another configured one, whose lead time then applies; activation lead follows */
    assert_int_equal(resolve(f, KD_OVERRIDE_POLICY, "p90", &s, err, sizeof(err)), 0);
    assert_ptr_equal(s.policy, f->pol_b);
    assert_int_equal(s.lead_time_ms, 900000);
    assert_int_equal(s.activation_lead_ms, 900000);
    assert_int_equal(s.origin[KD_EFF_POLICY], KD_ORIGIN_METADATA);

    /* bounds are inclusive; an empty value is absent, as in upstream's map reads */
    assert_int_equal(resolve(f, KD_OVERRIDE_LEAD_TIME, "1h", &s, err, sizeof(err)), 0);
    assert_int_equal(s.lead_time_ms, 3600000);
    assert_int_equal(resolve(f, KD_OVERRIDE_LEAD_TIME, "0s", &s, err, sizeof(err)), 0);
    assert_int_equal(s.lead_time_ms, 0);
    assert_int_equal(resolve(f, KD_OVERRIDE_LEAD_TIME, "", &s, err, sizeof(err)), 0);
    assert_int_equal(s.lead_time_ms, 300000);
    assert_int_equal(resolve(f, KD_OVERRIDE_FALLBACK_REPLICAS, "2147483647", &s, err, sizeof(err)),
                     0);
}

/* Each refusal names the key, the value and what is allowed. */
static void test_refusals(void **state)
{
    struct fixture *f = *state;
    static const struct {
        uint32_t allowed;
        enum kd_override_key key;
        const char *value, *message;
    } rows[] = {
        {0, KD_OVERRIDE_LEAD_TIME, "90s",
         "scalerMetadata \"leadTime\" is not allowed by route \"web-*\"; it allows: none (the "
         "operator lists keys in the route's overrides = [...])"},
        {1u << KD_OVERRIDE_MODE | 1u << KD_OVERRIDE_STALE_AFTER, KD_OVERRIDE_LEAD_TIME, "90s",
         "scalerMetadata \"leadTime\" is not allowed by route \"web-*\"; it allows: staleAfter, "
         "mode"},
        {ALL_OVERRIDES, KD_OVERRIDE_LEAD_TIME, "banana",
         "scalerMetadata \"leadTime\": \"banana\" is not a duration; write e.g. \"90s\", \"5m\", "
         "\"1h\""},
        {ALL_OVERRIDES, KD_OVERRIDE_LEAD_TIME, "-5m",
         "scalerMetadata \"leadTime\": \"-5m\" is out of range; allowed: 0s to 1h (lead_time_max)"},
        {ALL_OVERRIDES, KD_OVERRIDE_LEAD_TIME, "61m",
         "scalerMetadata \"leadTime\": \"61m\" is out of range; allowed: 0s to 1h (lead_time_max)"},
        {ALL_OVERRIDES, KD_OVERRIDE_LEAD_TIME, "5", /* a bare number is not a duration */
         "scalerMetadata \"leadTime\": \"5\" is not a duration; write e.g. \"90s\", \"5m\", "
         "\"1h\""},
        {ALL_OVERRIDES, KD_OVERRIDE_ACTIVATION_LEAD_TIME, "2h",
         "scalerMetadata \"activationLeadTime\": \"2h\" is out of range; allowed: 0s to 1h "
         "(lead_time_max)"},
        {ALL_OVERRIDES, KD_OVERRIDE_STALE_AFTER, "0s",
         "scalerMetadata \"staleAfter\": \"0s\" is out of range; allowed: 1ms to 1d "
         "(stale_after_max)"},
        {ALL_OVERRIDES, KD_OVERRIDE_STALE_AFTER, "2d",
         "scalerMetadata \"staleAfter\": \"2d\" is out of range; allowed: 1ms to 1d "
         "(stale_after_max)"},
        {ALL_OVERRIDES, KD_OVERRIDE_FALLBACK_REPLICAS, "-1",
         "scalerMetadata \"fallbackReplicas\": \"-1\" is not an integer; allowed: 0 to "
         "2147483647"},
        {ALL_OVERRIDES, KD_OVERRIDE_FALLBACK_REPLICAS, "3 ",
         "scalerMetadata \"fallbackReplicas\": \"3 \" is not an integer; allowed: 0 to "
         "2147483647"},
        {ALL_OVERRIDES, KD_OVERRIDE_FALLBACK_REPLICAS, "99999999999",
         "scalerMetadata \"fallbackReplicas\": \"99999999999\" is out of range; allowed: 0 to "
         "2147483647"},
        {ALL_OVERRIDES, KD_OVERRIDE_ACTIVATION, "sometimes",
         "scalerMetadata \"activation\": unknown value \"sometimes\"; allowed: fresh, demand"},
        {ALL_OVERRIDES, KD_OVERRIDE_MODE, "Shadow",
         "scalerMetadata \"mode\": unknown value \"Shadow\"; allowed: active, shadow"},
        {ALL_OVERRIDES, KD_OVERRIDE_POLICY, "p99",
         "scalerMetadata \"policy\": unknown policy \"p99\"; configured: lookahead, p90"},
    };
    for (size_t i = 0; i < N(rows); i++) {
        struct kd_settings s;
        char err[256] = "";
        f->routes.routes[0].overrides = rows[i].allowed;
        int r = resolve(f, rows[i].key, rows[i].value, &s, err, sizeof(err));
        if (r != -EINVAL)
            fail_msg("row %zu: rc %d", i, r);
        if (strcmp(err, rows[i].message) != 0)
            fail_msg("row %zu:\n got: %s\nwant: %s", i, err, rows[i].message);
        /* the route's own settings are still filled in */
        assert_ptr_equal(s.policy, f->pol_a);
        assert_int_equal(s.lead_time_ms, 300000);
    }
}

static void test_lead_time_max_bound(void **state)
{
    struct fixture *f = *state;
    struct kd_settings s;
    char err[256];

    f->routes.routes[0].overrides = ALL_OVERRIDES;
    f->routes.routes[0].lead_time_max_ms = 600000;
    assert_int_equal(resolve(f, KD_OVERRIDE_LEAD_TIME, "10m", &s, err, sizeof(err)), 0);
    assert_int_equal(resolve(f, KD_OVERRIDE_LEAD_TIME, "10m1s", &s, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "scalerMetadata \"leadTime\": \"10m1s\" is out of range; allowed: 0s "
                             "to 10m (lead_time_max)");
}

/* When an element above the threshold enters the activation window. */
static void test_activation_next(void **state)
{
    static const int64_t zero_then_demand[] = {0, 0, 0, 3, 5, 0};
    static const int64_t none[] = {0, 0, 0, 0};
    const int64_t gen = 1760000000000LL;
    struct kd_forecast fc = {.generated_at_ms = gen,
                             .step_seconds = 1,
                             .n_desired_replicas = N(zero_then_demand),
                             .desired_replicas = zero_then_demand};
    static const struct {
        int64_t now_off_ms, lead_ms;
        double threshold;
        int64_t expect_off_ms; /* from gen; -1: never */
    } rows[] = {
        {0, 0, 0, 3000},    /* lead 0: index 3 is looked at once first reaches 3 */
        {0, 1000, 0, 2000}, /* window of 2: index 3 enters at first = 2 */
        {0, 2000, 0, 1000}, /* window of 3 */
        {0, 3000, 0, 1000}, /* index 3 is in already; the next above is 4, at first = 1 */
        {0, 4000, 0, -1},   /* everything above 0 is in the window already */
        {500, 1000, 0, 2000},
        {2000, 1000, 0, 3000},  /* first = 2, last = 3: index 4 enters at first = 3 */
        {3000, 1000, 0, -1},    /* 3..4: the last element above 0 is in */
        {0, 0, 3, 4000},        /* threshold 3: only the 5 at index 4 exceeds it */
        {0, 0, 5, -1},          /* nothing exceeds 5 */
        {6000, 0, 0, -1},       /* exhausted */
        {-5000, 1000, 0, 2000}, /* generatedAt ahead of now (skew): as at age 0 */
    };
    (void)state;
    for (size_t i = 0; i < N(rows); i++) {
        int64_t at = kd_activation_next_ms(&fc, rows[i].lead_ms, rows[i].threshold,
                                           gen + rows[i].now_off_ms);
        int64_t want = rows[i].expect_off_ms < 0 ? -1 : gen + rows[i].expect_off_ms;
        if (at != want)
            fail_msg("row %zu: %lld, want %lld", i, (long long)(at < 0 ? at : at - gen),
                     (long long)rows[i].expect_off_ms);
    }
    fc.desired_replicas = none;
    fc.n_desired_replicas = N(none);
    assert_int_equal(kd_activation_next_ms(&fc, 0, 0, gen), -1);
    fc.step_seconds = 0;
    assert_int_equal(kd_activation_next_ms(&fc, 0, 0, gen), -1);
    fc.step_seconds = 60; /* minute steps: times scale */
    fc.desired_replicas = zero_then_demand;
    fc.n_desired_replicas = N(zero_then_demand);
    assert_int_equal(kd_activation_next_ms(&fc, 60000, 0, gen + 1), gen + 120000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_and_origins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allowed_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lead_time_max_bound, setup, teardown),
        cmocka_unit_test(test_activation_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
