/* SPDX-License-Identifier: Apache-2.0 */
/* A policy plugin .so as the host sees it, for the policy unit tests: dlopen()ed from
 * KD_PLUGIN_PATH (the test's compile definition), driven by the fake host, decide() called with
 * a forecast `age_ms` old and the host's effective `lead_time_ms`. */
#ifndef KD_POLICY_FIXTURE_H
#define KD_POLICY_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <kedastral/plugin.h>

#include "fakes/fake_host.h"

struct kd_policy_fixture {
    void *dl;
    const struct kd_plugin *plugin;
    void *config;
    struct kd_fake_host fake;
    void *state;
    int64_t lead_time_ms; /* args->lead_time_ms of decide() */
    int64_t age_ms;       /* decide(): the forecast was generated this long before now */
};

/* cmocka setup/teardown: *state becomes a struct kd_policy_fixture. */
int kd_policy_fixture_setup(void **state);
int kd_policy_fixture_teardown(void **state);

/* create() with option lead_time set; lead_time_ms follows it (nothing overrides it). */
void kd_policy_fixture_create(struct kd_policy_fixture *fx, int64_t lead_time_ms);

/* decide() over desiredReplicas `replicas[0..n)` with `step` seconds. */
int kd_policy_fixture_decide(struct kd_policy_fixture *fx, const int64_t *replicas, size_t n,
                             int64_t step, struct kd_policy_result *ret_result);

#endif /* KD_POLICY_FIXTURE_H */
