/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The first plugins through the real plugin host: its loader accepts them, its option parser
 * fills their config structs from libconfig text (defaults, --lead-time, errors), and a fetch
 * reaches the host's kd_fetch callbacks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <libconfig.h>

#include "plugin/plugin_host.h"
#include "plugin/plugin_options.h"

struct captured {
    struct kd_fetch fetch; /* first: the host calls back with this pointer */
    int n_done, n_fail;
    int64_t generated_at_ms;
    size_t n_desired_replicas;
    char message[512];
};

static void on_done(struct kd_fetch *fetch, const struct kd_forecast *forecast)
{
    struct captured *c = (struct captured *)fetch;

    c->n_done++;
    c->generated_at_ms = forecast->generated_at_ms;
    c->n_desired_replicas = forecast->n_desired_replicas;
}

static void on_fail(struct kd_fetch *fetch, enum kd_fetch_error error, const char *message)
{
    struct captured *c = (struct captured *)fetch;

    (void)error;
    c->n_fail++;
    snprintf(c->message, sizeof(c->message), "%s", message);
}

static struct kd_plugin_handle *open_plugin(enum kd_plugin_kind kind, const char *name)
{
    struct kd_plugin_handle *h = NULL;
    char err[512];

    if (kd_plugin_host_open(KD_PLUGIN_DIR, kind, name, &h, err, sizeof(err)) != 0)
        fail_msg("open %s: %s", name, err);
    const struct kd_plugin *p = kd_plugin_host_descriptor(h);
    assert_int_equal(kd_plugin_options_validate(p->options, p->config_size, err, sizeof(err)), 0);
    return h;
}

/* Parse "group = { ... };" and return the group (owned by cfg). */
static const config_setting_t *group_of(config_t *cfg, const char *text)
{
    config_init(cfg);
    if (config_read_string(cfg, text) != CONFIG_TRUE)
        fail_msg("libconfig: %s", config_error_text(cfg));
    return config_lookup(cfg, "group");
}

static void test_policy_max_options(void **state)
{
    struct kd_plugin_handle *h = open_plugin(KD_PLUGIN_POLICY, "max");
    const struct kd_plugin *p = kd_plugin_host_descriptor(h);
    struct kd_instance *inst;
    struct kd_host_defaults defaults = {0};
    char err[512];
    config_t cfg;

    (void)state;
    /* built-in default */
    assert_int_equal(kd_plugin_host_instance_create(h, "lookahead", NULL, NULL, &defaults, NULL,
                                                    &inst, err, sizeof(err)),
                     0);
    assert_int_equal(p->policy->lookahead_ms(inst->state), 5 * 60000);
    kd_plugin_host_instance_destroy(inst);

    /* --lead-time / LEAD_TIME */
    defaults.lead_time = "15m";
    assert_int_equal(kd_plugin_host_instance_create(h, "lookahead", NULL, NULL, &defaults, NULL,
                                                    &inst, err, sizeof(err)),
                     0);
    assert_int_equal(p->policy->lookahead_ms(inst->state), 15 * 60000);
    kd_plugin_host_instance_destroy(inst);

    /* the file's own value */
    const config_setting_t *g = group_of(&cfg, "group = { lead_time = \"90s\"; };");
    defaults.lead_time = NULL;
    assert_int_equal(kd_plugin_host_instance_create(h, "lookahead", g, NULL, &defaults, NULL,
                                                    &inst, err, sizeof(err)),
                     0);
    assert_int_equal(p->policy->lookahead_ms(inst->state), 90000);
    kd_plugin_host_instance_destroy(inst);
    config_destroy(&cfg);

    g = group_of(&cfg, "group = { lead = \"90s\"; };");
    assert_int_not_equal(kd_plugin_host_instance_create(h, "lookahead", g, NULL, &defaults, NULL,
                                                        &inst, err, sizeof(err)),
                         0);
    assert_non_null(strstr(err, "unknown option \"lead\"; allowed: lead_time"));
    config_destroy(&cfg);
    kd_plugin_host_close(h);
}

static void test_source_file_options(void **state)
{
    struct kd_plugin_handle *h = open_plugin(KD_PLUGIN_SOURCE, "file");
    const struct kd_plugin *p = kd_plugin_host_descriptor(h);
    struct event_base *base = event_base_new();
    struct kd_host_defaults defaults = {0};
    struct kd_instance *inst;
    char err[512], text[512];
    config_t cfg;

    (void)state;
    snprintf(text, sizeof(text), "group = { path = \"%s\"; poll = \"250ms\"; };", KD_DEMO_JSON);
    const config_setting_t *g = group_of(&cfg, text);
    if (kd_plugin_host_instance_create(h, "demo", g, NULL, &defaults, base, &inst, err,
                                       sizeof(err)) != 0)
        fail_msg("create: %s", err);

    struct captured c = {.fetch = {.on_done = on_done, .on_fail = on_fail}};
    assert_int_equal(p->source->fetch(inst->state, &c.fetch, "demo-api"), 0);
    assert_int_equal(c.n_done, 1);
    assert_int_equal(c.n_desired_replicas, 30);
    assert_int_equal(p->source->fetch(inst->state, &c.fetch, "nope"), 0);
    assert_int_equal(c.n_fail, 1);
    assert_non_null(strstr(c.message, "it has: checkout, demo-api"));
    kd_plugin_host_instance_destroy(inst);
    config_destroy(&cfg);

    g = group_of(&cfg, "group = { pth = \"x\"; };");
    assert_int_not_equal(kd_plugin_host_instance_create(h, "demo", g, NULL, &defaults, base,
                                                        &inst, err, sizeof(err)),
                         0);
    assert_non_null(strstr(err, "unknown option \"pth\"; allowed: path, rebase, loop, poll"));
    config_destroy(&cfg);

    g = group_of(&cfg, "group = { rebase = false; };");
    assert_int_not_equal(kd_plugin_host_instance_create(h, "demo", g, NULL, &defaults, base,
                                                        &inst, err, sizeof(err)),
                         0);
    assert_non_null(strstr(err, "missing required option \"path\""));
    config_destroy(&cfg);

    event_base_free(base);
    kd_plugin_host_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_max_options),
        cmocka_unit_test(test_source_file_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
