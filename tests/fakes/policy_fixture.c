/* SPDX-License-Identifier: Apache-2.0 */
/* See policy_fixture.h. */
#include "fakes/policy_fixture.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include <cmocka.h>

int kd_policy_fixture_setup(void **state)
{
    struct kd_policy_fixture *fx = calloc(1, sizeof(*fx));

    fx->dl = dlopen(KD_PLUGIN_PATH, /* the test target's DEFINES */ RTLD_NOW | RTLD_LOCAL);
    if (!fx->dl)
        fail_msg("dlopen: %s", dlerror());
    fx->plugin = dlsym(fx->dl, KD_PLUGIN_SYMBOL);
    assert_non_null(fx->plugin);
    fx->config = calloc(1, fx->plugin->config_size);
    kd_fake_host_init(&fx->fake, NULL, 1760636100000);
    *state = fx;
    return 0;
}

int kd_policy_fixture_teardown(void **state)
{
    struct kd_policy_fixture *fx = *state;

    if (fx->state)
        fx->plugin->policy->destroy(fx->state);
    free(fx->config);
    dlclose(fx->dl);
    free(fx);
    return 0;
}

void kd_policy_fixture_create(struct kd_policy_fixture *fx, int64_t lead_time_ms)
{
    assert_int_equal(kd_fake_host_set_i64(fx->plugin, fx->config, "lead_time", lead_time_ms), 0);
    fx->lead_time_ms = lead_time_ms; /* what the host passes when nothing overrides it */
    assert_int_equal(fx->plugin->policy->create(&fx->fake.host, kd_fake_host_instance(&fx->fake),
                                                fx->config, &fx->state),
                     0);
}

int kd_policy_fixture_decide(struct kd_policy_fixture *fx, const int64_t *replicas, size_t n,
                             int64_t step, struct kd_policy_result *ret_result)
{
    struct kd_forecast f = {
        KD_FORECAST_INIT,        .workload = "my-api",
        .metric = "http_rps",    .generated_at_ms = fx->fake.now_ms - fx->age_ms,
        .step_seconds = step,    .horizon_seconds = 1800,
        .n_desired_replicas = n, .desired_replicas = replicas,
    };
    struct kd_decide_args args = {
        .size = sizeof(args),
        .forecast = &f,
        .now_ms = fx->fake.now_ms,
        .lead_time_ms = fx->lead_time_ms,
    };
    *ret_result = (struct kd_policy_result){
        .size = sizeof(*ret_result), .window_first = -1, .window_last = -1};
    return fx->plugin->policy->decide(fx->state, &args, ret_result);
}
