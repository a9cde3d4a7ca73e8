/* SPDX-License-Identifier: Apache-2.0 */
/* policy-max.so as the host sees it: dlopen()ed from the build dir, driven by the fake host. */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <kedastral/plugin.h>

#include "fakes/fake_host.h"
#include "fakes/policy_fixture.h"

#define MIN_MS (60 * 1000)

static void test_descriptor(void **state)
{
    struct kd_policy_fixture *fx = *state;
    const struct kd_plugin *p = fx->plugin;

    assert_int_equal(p->abi_major, KD_PLUGIN_ABI_MAJOR);
    assert_true(p->abi_minor <= KD_PLUGIN_ABI_MINOR);
    assert_int_equal(p->kind, KD_PLUGIN_POLICY);
    assert_string_equal(p->name, "max");
    assert_non_null(p->version);
    assert_non_null(p->description);
    assert_null(p->source);
    assert_non_null(p->policy->create);
    assert_non_null(p->policy->decide);
    assert_non_null(p->policy->lookahead_ms);
    assert_non_null(p->policy->destroy);

    /* one option: lead_time, a duration, 5m unless --lead-time / LEAD_TIME say otherwise */
    const struct kd_option *o = &p->options[0];
    assert_string_equal(o->name, "lead_time");
    assert_int_equal(o->type, KD_OPTION_DURATION);
    assert_string_equal(o->default_value, "5m");
    assert_string_equal(o->host_default, "lead_time");
    assert_non_null(o->description);
    assert_true(o->offset + sizeof(int64_t) <= p->config_size);
    assert_null(p->options[1].name);
}

/* Upstream's vectors through the whole plugin. */
static void test_decide_upstream_vectors(void **state)
{
    struct kd_policy_fixture *fx = *state;
    static const int64_t a[] = {2, 2, 3, 3, 4, 5, 5, 5};
    struct kd_policy_result r;

    kd_policy_fixture_create(fx, 5 * MIN_MS);
    assert_int_equal(fx->plugin->policy->lookahead_ms(fx->state), 5 * MIN_MS);
    assert_int_equal(kd_policy_fixture_decide(fx, a, 8, 60, &r), 0);
    assert_true(r.value == 5.0);
    assert_int_equal(r.window_first, 0);
    assert_int_equal(r.window_last, 5); /* 5 min / 60 s: indexes 0..5 */
    assert_int_equal(kd_policy_fixture_decide(fx, a, 2, 60, &r), 0);
    assert_true(r.value == 2.0);
    assert_int_equal(r.window_last, 1); /* clamped to the series */
    assert_int_equal(kd_policy_fixture_decide(fx, NULL, 0, 60, &r), 0);
    assert_true(r.value == 1.0);
    assert_int_equal(r.window_first, -1); /* nothing looked at */
    assert_int_equal(r.window_last, -1);
    assert_int_equal(kd_policy_fixture_decide(fx, NULL, 0, 0, &r),
                     0); /* empty wins over a bad step, as upstream */
    assert_true(r.value == 1.0);
    assert_int_equal(fx->fake.n_logs, 0);
}

static void test_decide_lead_zero(void **state)
{
    struct kd_policy_fixture *fx = *state;
    static const int64_t b[] = {2, 3, 4, 5};
    struct kd_policy_result r;

    kd_policy_fixture_create(fx, 0);
    assert_int_equal(fx->plugin->policy->lookahead_ms(fx->state), 0);
    assert_int_equal(kd_policy_fixture_decide(fx, b, 4, 60, &r), 0);
    assert_true(r.value == 2.0);
}

/* The host's lead time wins over the configured one (a route's override). */
static void test_decide_uses_args_lead_time(void **state)
{
    struct kd_policy_fixture *fx = *state;
    static const int64_t a[] = {2, 2, 3, 3, 4, 5, 5, 5};
    struct kd_policy_result r;

    kd_policy_fixture_create(fx, 5 * MIN_MS);
    fx->lead_time_ms = 2 * MIN_MS;
    assert_int_equal(kd_policy_fixture_decide(fx, a, 8, 60, &r), 0);
    assert_true(r.value == 3.0);
    assert_int_equal(r.window_first, 0);
    assert_int_equal(r.window_last, 2);
    assert_int_equal(fx->plugin->policy->lookahead_ms(fx->state), 5 * MIN_MS);
}

/* Upstream crashes the process here (integer divide by zero); we answer with a reason. */
static void test_decide_bad_step(void **state)
{
    struct kd_policy_fixture *fx = *state;
    static const int64_t b[] = {2, 3};
    struct kd_policy_result r;

    kd_policy_fixture_create(fx, 5 * MIN_MS);
    assert_int_equal(kd_policy_fixture_decide(fx, b, 2, 0, &r), -EINVAL);
    assert_string_equal(r.reason, "forecast for \"my-api\" has stepSeconds 0; it must be positive");
    assert_int_equal(kd_policy_fixture_decide(fx, b, 2, -60, &r), -EINVAL);
    assert_non_null(strstr(r.reason, "stepSeconds -60"));
    assert_int_equal(kd_policy_fixture_decide(fx, b, 2, INT64_MAX, &r),
                     0); /* huge step: window of one point */
    assert_true(r.value == 2.0);
}

/* The window is anchored at now: steps that have passed leave it. */
static void test_decide_aged_forecast(void **state)
{
    struct kd_policy_fixture *fx = *state;
    static const int64_t v[] = {9, 1, 2, 3, 1};
    struct kd_policy_result r;

    kd_policy_fixture_create(fx, MIN_MS); /* two steps: the current one and the next */
    fx->age_ms = 30 * 1000;
    assert_int_equal(kd_policy_fixture_decide(fx, v, 5, 60, &r), 0);
    assert_true(r.value == 9.0);
    fx->age_ms = 60 * 1000; /* the 9 is the plan for the first minute, which has passed */
    assert_int_equal(kd_policy_fixture_decide(fx, v, 5, 60, &r), 0);
    assert_true(r.value == 2.0);
    assert_int_equal(r.window_first, 1);
    assert_int_equal(r.window_last, 2);
    fx->age_ms = 150 * 1000;
    assert_int_equal(kd_policy_fixture_decide(fx, v, 5, 60, &r), 0);
    assert_true(r.value == 3.0);
    assert_int_equal(r.window_first, 2);
    fx->age_ms = 270 * 1000; /* the last step alone */
    assert_int_equal(kd_policy_fixture_decide(fx, v, 5, 60, &r), 0);
    assert_int_equal(r.window_first, 4);
    assert_int_equal(r.window_last, 4);
    fx->age_ms = 300 * 1000; /* exhausted: an error with a reason, never the last element */
    assert_int_equal(kd_policy_fixture_decide(fx, v, 5, 60, &r), -EINVAL);
    assert_string_equal(r.reason, "every step has passed: generated 300 s ago, 5 steps of 60 s");
    fx->age_ms = -60 * 1000; /* generated ahead of our clock: counted from its first step */
    assert_int_equal(kd_policy_fixture_decide(fx, v, 5, 60, &r), 0);
    assert_true(r.value == 9.0);
}

static void test_create_rejects_negative_lead(void **state)
{
    struct kd_policy_fixture *fx = *state;
    void *st = (void *)fx;

    assert_int_equal(kd_fake_host_set_i64(fx->plugin, fx->config, "lead_time", -5 * MIN_MS), 0);
    assert_int_equal(fx->plugin->policy->create(&fx->fake.host, kd_fake_host_instance(&fx->fake),
                                                fx->config, &st),
                     -EINVAL);
    assert_ptr_equal(st, fx);
    assert_non_null(kd_fake_host_find_log(&fx->fake, KD_LOG_ERROR,
                                          "lead_time must not be negative (-300000 ms)"));
    fx->plugin->policy->destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_descriptor, kd_policy_fixture_setup,
                                        kd_policy_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_decide_upstream_vectors, kd_policy_fixture_setup,
                                        kd_policy_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_decide_aged_forecast, kd_policy_fixture_setup,
                                        kd_policy_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_decide_lead_zero, kd_policy_fixture_setup,
                                        kd_policy_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_decide_uses_args_lead_time, kd_policy_fixture_setup,
                                        kd_policy_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_decide_bad_step, kd_policy_fixture_setup,
                                        kd_policy_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_create_rejects_negative_lead, kd_policy_fixture_setup,
                                        kd_policy_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
