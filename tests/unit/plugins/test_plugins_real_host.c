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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Parse "group = { ... };" from a real file and return the group (owned by cfg), so every
 * setting carries file:line as in the daemon. */
static char conf_path[] = "/tmp/kd-real-host-XXXXXX";

static const config_setting_t *group_of(config_t *cfg, const char *text)
{
    int fd = mkstemp(conf_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    config_init(cfg);
    int ok = config_read_file(cfg, conf_path);
    unlink(conf_path);
    memcpy(conf_path + strlen(conf_path) - 6, "XXXXXX", 6);
    if (ok != CONFIG_TRUE)
        fail_msg("libconfig: %s", config_error_text(cfg));
    return config_lookup(cfg, "group");
}

static void settings_lead(struct kd_plugin_setting s[2], const char *lead_time)
{
    s[0] = (struct kd_plugin_setting){"lead_time", "--lead-time / LEAD_TIME", lead_time};
    s[1] = (struct kd_plugin_setting){0};
}

static int create(struct kd_plugin_handle *h, const char *name, const config_setting_t *g,
                  const struct kd_plugin_setting *settings, struct event_base *base,
                  struct kd_instance **inst, char *err, size_t err_len)
{
    const struct kd_instance_args args = {.group = g, .settings = settings, .base = base};
    return kd_instance_create(h, name, &args, inst, err, err_len);
}

static void test_policy_max_options(void **state)
{
    struct kd_plugin_handle *h = open_plugin(KD_PLUGIN_POLICY, "max");
    struct kd_plugin_setting settings[2];
    struct kd_instance *inst;
    char err[512];
    config_t cfg;

    (void)state;
    /* built-in default */
    settings_lead(settings, NULL);
    assert_int_equal(create(h, "lookahead", NULL, settings, NULL, &inst, err, sizeof(err)), 0);
    assert_int_equal(kd_instance_lookahead_ms(inst), 5 * 60000);
    kd_instance_destroy(inst);

    /* --lead-time / LEAD_TIME */
    settings_lead(settings, "15m");
    assert_int_equal(create(h, "lookahead", NULL, settings, NULL, &inst, err, sizeof(err)), 0);
    assert_int_equal(kd_instance_lookahead_ms(inst), 15 * 60000);
    kd_instance_destroy(inst);

    /* the file's own value */
    const config_setting_t *g = group_of(&cfg, "group = { lead_time = \"90s\"; };");
    settings_lead(settings, NULL);
    assert_int_equal(create(h, "lookahead", g, settings, NULL, &inst, err, sizeof(err)), 0);
    assert_int_equal(kd_instance_lookahead_ms(inst), 90000);

    /* decide() through the host: the route's lead time, else the plugin's own */
    static const int64_t replicas[] = {2, 9, 4};
    struct kd_forecast f = {
        .workload = "w", .step_seconds = 60, .n_desired_replicas = 3, .desired_replicas = replicas};
    struct kd_policy_result r;
    assert_int_equal(kd_instance_decide(inst, &f, 0, -1, &r), 0);
    assert_true(r.value == 9.0); /* 90 s: indexes 0..1 */
    assert_int_equal(r.window_first, 0);
    assert_int_equal(r.window_last, 1);
    assert_int_equal(kd_instance_decide(inst, &f, 0, 0, &r), 0);
    assert_true(r.value == 2.0);
    assert_int_equal(r.window_last, 0);
    kd_instance_destroy(inst);
    config_destroy(&cfg);

    g = group_of(&cfg, "group = { lead = \"90s\"; };");
    assert_int_not_equal(create(h, "lookahead", g, settings, NULL, &inst, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "unknown option \"lead\"; allowed: lead_time"));
    config_destroy(&cfg);

    /* a setting the host's table does not have */
    struct kd_plugin_setting other[] = {{"forecaster_url", "--forecaster-url", NULL}, {0}};
    assert_int_equal(create(h, "lookahead", NULL, other, NULL, &inst, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "policy \"lookahead\" (max): option \"lead_time\" takes its default "
                             "from setting \"lead_time\", which this scaler does not have (it "
                             "has: forecaster_url); upgrade the scaler");
    kd_plugin_host_close(h);
}

static void test_source_file_options(void **state)
{
    struct kd_plugin_handle *h = open_plugin(KD_PLUGIN_SOURCE, "file");
    struct event_base *base = event_base_new();
    struct kd_instance *inst;
    char err[512], text[512];
    config_t cfg;

    (void)state;
    snprintf(text, sizeof(text), "group = { path = \"%s\"; poll = \"250ms\"; };", KD_DEMO_JSON);
    const config_setting_t *g = group_of(&cfg, text);
    if (create(h, "demo", g, NULL, base, &inst, err, sizeof(err)) != 0)
        fail_msg("create: %s", err);

    struct captured c = {.fetch = {.on_done = on_done, .on_fail = on_fail}};
    assert_int_equal(kd_instance_fetch(inst, &c.fetch, "demo-api"), 0);
    assert_int_equal(c.n_done, 1);
    assert_int_equal(c.n_desired_replicas, 30);
    assert_false(kd_instance_fetch_outstanding(&c.fetch));
    assert_int_equal(kd_instance_fetch(inst, &c.fetch, "nope"), 0);
    assert_int_equal(c.n_fail, 1);
    assert_non_null(strstr(c.message, "it has: checkout, demo-api"));
    kd_instance_destroy(inst);
    config_destroy(&cfg);
    /* the poll timer went with the instance */
    assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 1);

    g = group_of(&cfg, "group = { pth = \"x\"; };");
    assert_int_not_equal(create(h, "demo", g, NULL, base, &inst, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "unknown option \"pth\"; allowed: path, rebase, loop, poll"));
    config_destroy(&cfg);

    g = group_of(&cfg, "group = { rebase = false; };");
    assert_int_not_equal(create(h, "demo", g, NULL, base, &inst, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "missing required option \"path\""));
    config_destroy(&cfg);

    event_base_free(base);
    kd_plugin_host_close(h);
}

/* Issue 8: a create() failure names the plugin's group by file:line, then the plugin's words. */
static void expect_create_error(enum kd_plugin_kind kind, const char *plugin, const char *text,
                                const char *want_after_origin)
{
    struct kd_plugin_handle *h = open_plugin(kind, plugin);
    struct event_base *base = event_base_new();
    struct kd_instance *inst = NULL;
    char err[1024], want[1024];
    config_t cfg;

    const config_setting_t *g = group_of(&cfg, text);
    assert_int_not_equal(create(h, "demo", g, NULL, base, &inst, err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "%s:%d: %s", config_setting_source_file(g),
             config_setting_source_line(g), want_after_origin);
    assert_string_equal(err, want);
    assert_null(inst);
    /* nothing of the failed instance is left on the loop */
    assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 1);
    config_destroy(&cfg);
    event_base_free(base);
    kd_plugin_host_close(h);
}

static void test_create_errors_carry_file_line(void **state)
{
    (void)state;
    expect_create_error(KD_PLUGIN_SOURCE, "file",
                        "# a comment\n"
                        "group = {\n"
                        "  path = \"/dev/zero\";\n"
                        "};\n",
                        "source \"demo\" (file): /dev/zero: not a regular file");
    expect_create_error(KD_PLUGIN_SOURCE, "http",
                        "group = { url = \"http://127.0.0.1:9\";\n"
                        "          max_body = \"65MiB\"; };\n",
                        "source \"demo\" (http): max_body must be between 1 and 67108864 bytes "
                        "(got 68157440)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_max_options),
        cmocka_unit_test(test_source_file_options),
        cmocka_unit_test(test_create_errors_carry_file_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
