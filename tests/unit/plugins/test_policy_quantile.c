/* SPDX-License-Identifier: Apache-2.0 */
/* policy-quantile.so as the host sees it: dlopen()ed from the build dir, driven by the fake
 * host. The window is policy-max's; what differs is the nearest-rank quantile over it. */
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

static void create_q(struct kd_policy_fixture *fx, int64_t lead_time_ms, double quantile)
{
    assert_int_equal(kd_fake_host_set_double(fx->plugin, fx->config, "quantile", quantile), 0);
    kd_policy_fixture_create(fx, lead_time_ms);
}

static void test_descriptor(void **state)
{
    struct kd_policy_fixture *fx = *state;
    const struct kd_plugin *p = fx->plugin;

    assert_int_equal(p->abi_major, KD_PLUGIN_ABI_MAJOR);
    assert_int_equal(p->kind, KD_PLUGIN_POLICY);
    assert_string_equal(p->name, "quantile");
    assert_non_null(p->policy->decide);
    assert_non_null(p->policy->lookahead_ms);
    assert_string_equal(p->options[0].name, "lead_time");
    assert_int_equal(p->options[0].type, KD_OPTION_DURATION);
    assert_string_equal(p->options[0].default_value, "5m");
    assert_string_equal(p->options[1].name, "quantile");
    assert_int_equal(p->options[1].type, KD_OPTION_DOUBLE);
    assert_string_equal(p->options[1].default_value, "0.9");
    assert_true(p->options[1].offset + sizeof(double) <= p->config_size);
    assert_null(p->options[2].name);
}

/* A spike: max answers 40, the 0.9 quantile of ten steps ignores the one outlier. */
static void test_quantile_over_the_window(void **state)
{
    struct kd_policy_fixture *fx = *state;
    static const int64_t v[] = {3, 4, 3, 40, 4, 5, 4, 3, 4, 5, 9};
    struct kd_policy_result r;

    create_q(fx, 9 * MIN_MS, 0.9); /* indexes 0..9: ten values */
    assert_int_equal(fx->plugin->policy->lookahead_ms(fx->state), 9 * MIN_MS);
    assert_int_equal(kd_policy_fixture_decide(fx, v, 11, 60, &r), 0);
    assert_true(r.value == 5.0);
    assert_int_equal(r.window_first, 0);
    assert_int_equal(r.window_last, 9);
    fx->lead_time_ms = 0; /* the host's lead time: a window of one */
    assert_int_equal(kd_policy_fixture_decide(fx, v, 11, 60, &r), 0);
    assert_true(r.value == 3.0);
    fx->lead_time_ms = 9 * MIN_MS;
    fx->age_ms = 4 * MIN_MS; /* 4..10: the spike has passed */
    assert_int_equal(kd_policy_fixture_decide(fx, v, 11, 60, &r), 0);
    assert_true(r.value == 9.0); /* ceil(0.9 x 7) = 7th of 7 */
    assert_int_equal(r.window_first, 4);
    assert_int_equal(r.window_last, 10);
}

static void test_quantile_ranks(void **state)
{
    struct kd_policy_fixture *fx = *state;
    static const int64_t v[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    static const struct {
        double q, value;
    } rows[] = {{0.0, 1}, {0.1, 1}, {0.5, 5}, {0.7, 7}, {0.9, 9}, {0.95, 10}, {1.0, 10}};
    struct kd_policy_result r;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (fx->state)
            fx->plugin->policy->destroy(fx->state);
        fx->state = NULL;
        create_q(fx, 9 * MIN_MS, rows[i].q);
        assert_int_equal(kd_policy_fixture_decide(fx, v, 10, 60, &r), 0);
        if (r.value != rows[i].value)
            fail_msg("q %g: %g, expected %g", rows[i].q, r.value, rows[i].value);
    }
}

static void test_edges(void **state)
{
    struct kd_policy_fixture *fx = *state;
    static const int64_t v[] = {2, 3};
    struct kd_policy_result r;

    create_q(fx, MIN_MS, 0.9);
    assert_int_equal(kd_policy_fixture_decide(fx, NULL, 0, 60, &r),
                     0); /* empty: 1, as max and upstream */
    assert_true(r.value == 1.0);
    assert_int_equal(kd_policy_fixture_decide(fx, v, 2, 0, &r), -EINVAL);
    assert_string_equal(r.reason, "forecast for \"my-api\" has stepSeconds 0; it must be positive");
    fx->age_ms = 120 * 1000;
    assert_int_equal(kd_policy_fixture_decide(fx, v, 2, 60, &r), -EINVAL);
    assert_string_equal(r.reason, "every step has passed: generated 120 s ago, 2 steps of 60 s");
}

static void test_create_rejects_bad_options(void **state)
{
    struct kd_policy_fixture *fx = *state;
    void *st = (void *)fx;

    assert_int_equal(kd_fake_host_set_i64(fx->plugin, fx->config, "lead_time", MIN_MS), 0);
    assert_int_equal(kd_fake_host_set_double(fx->plugin, fx->config, "quantile", 1.5), 0);
    assert_int_equal(fx->plugin->policy->create(&fx->fake.host, kd_fake_host_instance(&fx->fake),
                                                fx->config, &st),
                     -EINVAL);
    assert_ptr_equal(st, fx);
    assert_non_null(
        kd_fake_host_find_log(&fx->fake, KD_LOG_ERROR,
                              "quantile must be from 0 to 1 (0.9: the 90th percentile), got 1.5"));
    assert_int_equal(kd_fake_host_set_double(fx->plugin, fx->config, "quantile", 0.5), 0);
    assert_int_equal(kd_fake_host_set_i64(fx->plugin, fx->config, "lead_time", -1), 0);
    assert_int_equal(fx->plugin->policy->create(&fx->fake.host, kd_fake_host_instance(&fx->fake),
                                                fx->config, &st),
                     -EINVAL);
    fx->plugin->policy->destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_descriptor, kd_policy_fixture_setup,
                                        kd_policy_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_quantile_over_the_window, kd_policy_fixture_setup,
                                        kd_policy_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_quantile_ranks, kd_policy_fixture_setup,
                                        kd_policy_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_edges, kd_policy_fixture_setup,
                                        kd_policy_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_create_rejects_bad_options, kd_policy_fixture_setup,
                                        kd_policy_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
