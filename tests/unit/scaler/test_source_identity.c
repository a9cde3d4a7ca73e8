/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scaler/source_identity: equal definitions render alike whatever the key order; any change
 * that decides what a source fetches (option, host key, plugin, plugin_dir, defaults) differs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "scaler/source_identity.h"

/* Render source "demo" whose group is `group_text`, under `config`'s daemon-wide settings. */
static char *render(const struct kd_config *config, const char *group_text)
{
    config_t cfg;
    char text[1024];
    char *out = NULL;

    snprintf(text, sizeof(text), "s = %s;", group_text);
    config_init(&cfg);
    if (!config_read_string(&cfg, text))
        fail_msg("%s: %s", group_text, config_error_text(&cfg));
    struct kd_config_source src = {
        .name = "demo",
        .plugin = "http",
        .group = config_lookup(&cfg, "s"),
        .refresh_ms = 10000,
        .timeout_ms = 2000,
        .idle_evict_ms = 600000,
    };
    assert_int_equal(kd_source_identity_render(config, &src, &out), 0);
    config_destroy(&cfg);
    assert_non_null(out);
    return out;
}

static bool same(const struct kd_config *config, const char *a, const char *b)
{
    char *x = render(config, a);
    char *y = render(config, b);
    bool eq = strcmp(x, y) == 0;
    free(x);
    free(y);
    return eq;
}

static const char base[] = "{ name = \"demo\"; plugin = \"http\"; url = \"http://f:8081\"; "
                           "headers = { b = \"2\"; a = \"1\"; }; codes = [200, 204]; "
                           "tls = true; ratio = 0.5; }";

static void test_equal_definitions(void **state)
{
    struct kd_config config = {.plugin_dir = "/p", .base_dir = "/etc"};

    (void)state;
    assert_true(same(&config, base, base));
    /* Key order, inside nested groups too, does not matter. */
    assert_true(same(&config, base,
                     "{ ratio = 0.5; tls = true; codes = [200, 204]; "
                     "headers = { a = \"1\"; b = \"2\"; }; url = \"http://f:8081\"; "
                     "plugin = \"http\"; name = \"demo\"; }"));
    /* 64-bit and plain integers of one value are one value. */
    assert_true(same(&config, "{ n = 5; }", "{ n = 5L; }"));
}

static void test_changes_differ(void **state)
{
    struct kd_config config = {.plugin_dir = "/p", .base_dir = "/etc"};
    struct kd_config other = config;
    char *x, *y;

    (void)state;
    assert_false(same(&config, base,
                      "{ name = \"demo\"; plugin = \"http\"; url = \"http://g:8081\"; "
                      "headers = { b = \"2\"; a = \"1\"; }; codes = [200, 204]; "
                      "tls = true; ratio = 0.5; }"));
    assert_false(same(&config, "{ codes = [200, 204]; }", "{ codes = [204, 200]; }"));
    assert_false(same(&config, "{ n = 1; }", "{ n = \"1\"; }"));
    assert_false(same(&config, "{ n = 1; }", "{ n = 1.0; }"));
    assert_false(same(&config, "{ l = (1, \"a\"); }", "{ l = [1]; }"));
    assert_false(same(&config, "{ a = \"x\\\";b\"; }", "{ a = \"x\"; b = \"\"; }"));
    assert_false(same(&config, "{ refresh = \"10s\"; }", "{ refresh = \"20s\"; }"));
    assert_false(same(&config, "{ }", "{ headers = { }; }"));

    /* Daemon-wide inputs of the instance count too. */
    x = render(&config, base);
    other.plugin_dir = "/q";
    y = render(&other, base);
    assert_string_not_equal(x, y);
    free(y);
    other = config;
    char elsewhere[] = "http://elsewhere:8081";
    other.text[kd_setting_index(kd_setting_find("forecaster_url"))] = elsewhere;
    y = render(&other, base);
    assert_string_not_equal(x, y);
    free(y);
    other = config;
    other.base_dir = "/srv";
    y = render(&other, base);
    assert_string_not_equal(x, y);
    free(y);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_definitions),
        cmocka_unit_test(test_changes_differ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
