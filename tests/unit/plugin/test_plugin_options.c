/* SPDX-License-Identifier: Apache-2.0 */
/* plugin/plugin_options.c: table validation, defaults, libconfig values -> config struct,
 * and the error line for each bad input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugin/plugin_options.h"

/* kd_plugin_options_apply, its error written out as the instance host writes it (no group
 * origin to add here: each case's expected line says where it points). */
static int options_apply(const struct kd_option *table, const config_setting_t *group,
                         const char *const *host_keys, const struct kd_plugin_setting *settings,
                         const char *label, void *config, char *err, size_t err_len)
{
    struct kd_error why;
    int r = kd_plugin_options_apply(table, group, host_keys, settings, label, config, &why);
    if (r < 0)
        kd_error_format(&why, err, err_len);
    return r;
}

struct demo_config {
    const char *path;
    int64_t retries;
    double ratio;
    bool loop;
    int64_t lead_time_ms;
    int64_t buffer_bytes;
    const char *url;
};

static const struct kd_option demo_options[] = {
    {"path", KD_OPTION_STRING, "demo.json", offsetof(struct demo_config, path), "File to read.",
     NULL, 0},
    {"retries", KD_OPTION_INT, "3", offsetof(struct demo_config, retries), "Retries.", NULL, 0},
    {"ratio", KD_OPTION_DOUBLE, "0.5", offsetof(struct demo_config, ratio), "Ratio.", NULL, 0},
    {"loop", KD_OPTION_BOOL, "true", offsetof(struct demo_config, loop), "Loop.", NULL, 0},
    {"lead_time", KD_OPTION_DURATION, "5m", offsetof(struct demo_config, lead_time_ms),
     "How far ahead to look.", "lead_time", 0},
    {"buffer", KD_OPTION_SIZE, "64KiB", offsetof(struct demo_config, buffer_bytes), "Buffer.", NULL,
     0},
    {"url", KD_OPTION_STRING, "http://localhost:8081", offsetof(struct demo_config, url),
     "Forecaster.", "forecaster_url", 0},
    KD_OPTIONS_END,
};

static const char *const host_keys[] = {"name", "plugin", NULL};

struct fixture {
    config_t cfg;
    struct demo_config conf;
    char err[512];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    config_init(&f->cfg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    kd_plugin_options_release(demo_options, &f->conf);
    config_destroy(&f->cfg);
    free(f);
    return 0;
}

/* Parses `text` ("g = { ... };") as file "test.conf" and applies the table to group g. */
/* The host's table of daemon-wide settings, with these values (NULL: not set). */
static const struct kd_plugin_setting *settings(const char *lead_time, const char *url)
{
    static struct kd_plugin_setting table[3];

    table[0] = (struct kd_plugin_setting){"lead_time", "--lead-time / LEAD_TIME", lead_time};
    table[1] =
        (struct kd_plugin_setting){"forecaster_url", "--forecaster-url / FORECASTER_URL", url};
    table[2] = (struct kd_plugin_setting){0};
    return table;
}

static int apply(struct fixture *f, const char *text, const struct kd_plugin_setting *defaults)
{
    if (!config_read_string(&f->cfg, text))
        fail_msg("libconfig: %d: %s", config_error_line(&f->cfg), config_error_text(&f->cfg));
    const config_setting_t *g = config_lookup(&f->cfg, "g");
    /* config_read_string records no file name; give every setting one so file:line shows */
    config_setting_t *root = config_root_setting(&f->cfg);
    (void)root;
    return options_apply(demo_options, g, host_keys, defaults, "source \"demo\" (file)", &f->conf,
                         f->err, sizeof(f->err));
}

static void test_validate_good_table(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(
        kd_plugin_options_validate(demo_options, sizeof(struct demo_config), err, sizeof(err)), 0);
    assert_int_equal(kd_plugin_options_validate(NULL, 0, err, sizeof(err)), 0);
}

static void test_validate_bad_tables(void **state)
{
    (void)state;
    static const struct kd_option dup[] = {
        {"a", KD_OPTION_INT, NULL, 0, "", NULL, 0},
        {"a", KD_OPTION_INT, NULL, 8, "", NULL, 0},
        KD_OPTIONS_END,
    };
    static const struct kd_option overrun[] = {
        {"window", KD_OPTION_DURATION, NULL, 8, "", NULL, 0},
        KD_OPTIONS_END,
    };
    static const struct kd_option bad_type[] = {
        {"a", (enum kd_option_type)42, NULL, 0, "", NULL, 0},
        KD_OPTIONS_END,
    };
    static const struct kd_option bad_default[] = {
        {"window", KD_OPTION_DURATION, "5", 0, "", NULL, 0},
        KD_OPTIONS_END,
    };
    static const struct kd_option misaligned[] = {
        {"n", KD_OPTION_INT, NULL, 4, "", NULL, 0},
        KD_OPTIONS_END,
    };
    static const struct {
        const struct kd_option *table;
        size_t size;
        const char *message;
    } cases[] = {
        {dup, 16, "option \"a\" is declared twice"},
        {overrun, 12, "option \"window\" (duration at offset 8, 8 bytes) overruns config_size 12"},
        {bad_type, 16, "option \"a\" has unknown type 42"},
        {bad_default, 16, "option \"window\": default \"5\" is not a valid duration"},
        {misaligned, 16, "option \"n\" (int) is misaligned at offset 4"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        assert_int_equal(
            kd_plugin_options_validate(cases[i].table, cases[i].size, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, cases[i].message);
    }
}

static void test_defaults_only(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(
        options_apply(demo_options, NULL, NULL, NULL, "x", &f->conf, f->err, sizeof(f->err)), 0);
    assert_string_equal(f->conf.path, "demo.json");
    assert_int_equal(f->conf.retries, 3);
    assert_true(f->conf.ratio == 0.5);
    assert_true(f->conf.loop);
    assert_int_equal(f->conf.lead_time_ms, 300000);
    assert_int_equal(f->conf.buffer_bytes, 65536);
    assert_string_equal(f->conf.url, "http://localhost:8081");
}

static void test_values_from_group(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(apply(f,
                           "g = { name = \"demo\"; plugin = \"file\"; path = \"/x.json\";\n"
                           "      retries = 7; ratio = 2; loop = false; lead_time = \"1h30m\";\n"
                           "      buffer = \"4MiB\"; url = \"http://f:1\"; };",
                           NULL),
                     0);
    assert_string_equal(f->conf.path, "/x.json");
    assert_int_equal(f->conf.retries, 7);
    assert_true(f->conf.ratio == 2.0); /* an int is fine for a double */
    assert_false(f->conf.loop);
    assert_int_equal(f->conf.lead_time_ms, 5400000);
    assert_int_equal(f->conf.buffer_bytes, 4194304);
    assert_string_equal(f->conf.url, "http://f:1");
}

static void test_int64_and_plain_size(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(
        apply(f, "g = { retries = 9000000000L; buffer = 1048576; ratio = 1.25; };", NULL), 0);
    assert_int_equal(f->conf.retries, INT64_C(9000000000));
    assert_int_equal(f->conf.buffer_bytes, 1048576);
    assert_true(f->conf.ratio == 1.25);
}

static void test_host_default_wins_over_table_default(void **state)
{
    struct fixture *f = *state;
    const struct kd_plugin_setting *d = settings("10m", "http://up:8081");
    assert_int_equal(apply(f, "g = { name = \"demo\"; };", d), 0);
    assert_int_equal(f->conf.lead_time_ms, 600000);
    assert_string_equal(f->conf.url, "http://up:8081");
}

static void test_file_value_wins_over_host_default(void **state)
{
    struct fixture *f = *state;
    const struct kd_plugin_setting *d = settings("10m", NULL);
    assert_int_equal(apply(f, "g = { lead_time = \"2m\"; };", d), 0);
    assert_int_equal(f->conf.lead_time_ms, 120000);
    assert_string_equal(f->conf.url, "http://localhost:8081");
}

static void test_bad_host_default(void **state)
{
    struct fixture *f = *state;
    const struct kd_plugin_setting *d = settings("5x", NULL);
    assert_int_equal(apply(f, "g = { };", d), -EINVAL);
    assert_string_equal(f->err, "source \"demo\" (file): option \"lead_time\": invalid duration "
                                "\"5x\" from --lead-time / LEAD_TIME");
    assert_null(f->conf.path); /* released on failure */
}

/* host_default names a setting; the host's table decides whether it exists. */
static void test_unknown_setting(void **state)
{
    struct fixture *f = *state;
    static const struct kd_option table[] = {
        {"window", KD_OPTION_DURATION, "5m", 0, "", "window", 0},
        KD_OPTIONS_END,
    };
    int64_t window = 0;

    assert_int_equal(options_apply(table, NULL, NULL, settings(NULL, NULL), "p", &window, f->err,
                                   sizeof(f->err)),
                     -EINVAL);
    assert_string_equal(f->err, "p: option \"window\" takes its default from setting "
                                "\"window\", which this scaler does not have (it has: "
                                "lead_time, forecaster_url); upgrade the scaler");
    /* without a table (a tool, a test) the table default applies */
    assert_int_equal(options_apply(table, NULL, NULL, NULL, "p", &window, f->err, sizeof(f->err)),
                     0);
    assert_int_equal(window, 300000);

    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    kd_plugin_options_describe(table, settings(NULL, NULL), out);
    fclose(out);
    assert_non_null(strstr(buf, "5m (setting window)"));
    free(buf);
}

/* KD_OPTION_LIST: a list, an array, one string; never NULL once applied. */
struct list_config {
    const char *const *headers;
};

static const struct kd_option list_options[] = {
    {"header", KD_OPTION_LIST, NULL, offsetof(struct list_config, headers), "Headers.", NULL, 0},
    KD_OPTIONS_END,
};

static const struct kd_option list_default_options[] = {
    {"header", KD_OPTION_LIST, "X-A: 1", offsetof(struct list_config, headers), "Headers.", NULL,
     0},
    KD_OPTIONS_END,
};

static void expect_list(struct fixture *f, const struct kd_option *table, const char *text,
                        const char *const *want, size_t n)
{
    struct list_config c = {0};

    config_destroy(&f->cfg);
    config_init(&f->cfg);
    assert_true(config_read_string(&f->cfg, text));
    assert_int_equal(options_apply(table, config_lookup(&f->cfg, "g"), NULL, NULL, "p", &c, f->err,
                                   sizeof(f->err)),
                     0);
    assert_non_null(c.headers);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(c.headers[i], want[i]);
    assert_null(c.headers[n]);
    kd_plugin_options_release(table, &c);
    assert_null(c.headers);
}

static void test_list_option(void **state)
{
    struct fixture *f = *state;
    static const char *const two[] = {"X-A: 1", "X-B: 2"};
    struct list_config c = {0};

    expect_list(f, list_options, "g = { header = [\"X-A: 1\", \"X-B: 2\"]; };", two, 2);
    expect_list(f, list_options, "g = { header = (\"X-A: 1\", \"X-B: 2\"); };", two, 2);
    expect_list(f, list_options, "g = { header = \"X-A: 1\"; };", two, 1);
    expect_list(f, list_options, "g = { header = []; };", two, 0);
    expect_list(f, list_options, "g = { };", two, 0);
    expect_list(f, list_default_options, "g = { };", two, 1);
    expect_list(f, list_default_options, "g = { header = \"X-B: 2\"; };", two + 1, 1);

    config_destroy(&f->cfg);
    config_init(&f->cfg);
    assert_true(config_read_string(&f->cfg, "g = { header = (\"a\", 2); };"));
    assert_int_equal(options_apply(list_options, config_lookup(&f->cfg, "g"), NULL, NULL, "p", &c,
                                   f->err, sizeof(f->err)),
                     -EINVAL);
    assert_string_equal(f->err, "<built-in>:1: p: option \"header\": element 2 is not a string; "
                                "write a list of strings, e.g. [\"a\", \"b\"]");
    assert_null(c.headers); /* released on failure */

    config_destroy(&f->cfg);
    config_init(&f->cfg);
    assert_true(config_read_string(&f->cfg, "g = { header = 7; };"));
    assert_int_equal(options_apply(list_options, config_lookup(&f->cfg, "g"), NULL, NULL, "p", &c,
                                   f->err, sizeof(f->err)),
                     -EINVAL);
    assert_string_equal(f->err, "<built-in>:1: p: option \"header\": expected a string or a list "
                                "of strings, e.g. [\"a\", \"b\"]");

    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    kd_plugin_options_describe(list_default_options, NULL, out);
    fclose(out);
    assert_non_null(strstr(buf, "  header  list  [\"X-A: 1\"]  Headers.\n"));
    free(buf);
}

static void test_errors(void **state)
{
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        {"g = {\n pth = \"x\";\n};",
         "<built-in>:2: source \"demo\" (file): unknown option \"pth\"; allowed: path, retries, "
         "ratio, loop, lead_time, buffer, url"},
        {"g = { path = 5; };",
         "<built-in>:1: source \"demo\" (file): option \"path\": expected a string in double "
         "quotes"},
        {"g = { retries = \"3\"; };",
         "<built-in>:1: source \"demo\" (file): option \"retries\": expected an integer"},
        {"g = { retries = 1.5; };",
         "<built-in>:1: source \"demo\" (file): option \"retries\": expected an integer"},
        {"g = { ratio = \"x\"; };",
         "<built-in>:1: source \"demo\" (file): option \"ratio\": expected a number"},
        {"g = { loop = 1; };",
         "<built-in>:1: source \"demo\" (file): option \"loop\": expected true or false"},
        {"g = { lead_time = 30; };",
         "<built-in>:1: source \"demo\" (file): option \"lead_time\": a bare number is not a "
         "duration; write it with a unit in quotes, e.g. \"30s\" (units: ms, s, m, h, d, w)"},
        {"g = { lead_time = \"5x\"; };",
         "<built-in>:1: source \"demo\" (file): option \"lead_time\": invalid duration \"5x\"; "
         "write e.g. \"250ms\", \"30s\", \"5m\", \"1h30m\", \"2d\" (not negative)"},
        {"g = { lead_time = \"-5m\"; };",
         "<built-in>:1: source \"demo\" (file): option \"lead_time\": invalid duration \"-5m\"; "
         "write e.g. \"250ms\", \"30s\", \"5m\", \"1h30m\", \"2d\" (not negative)"},
        {"g = { lead_time = true; };",
         "<built-in>:1: source \"demo\" (file): option \"lead_time\": expected a duration in "
         "quotes, e.g. \"30s\""},
        {"g = { buffer = \"4 MiB\"; };",
         "<built-in>:1: source \"demo\" (file): option \"buffer\": invalid size \"4 MiB\"; write "
         "bytes or e.g. \"64KiB\", \"4MiB\", \"1GiB\", \"10MB\""},
        {"g = { buffer = -1; };",
         "<built-in>:1: source \"demo\" (file): option \"buffer\": a size cannot be negative"},
        {"g = { buffer = 1.5; };",
         "<built-in>:1: source \"demo\" (file): option \"buffer\": expected a size, e.g. 1048576 "
         "or \"4MiB\""},
        {"g = { url = { a = 1; }; };",
         "<built-in>:1: source \"demo\" (file): option \"url\": expected a string in double "
         "quotes"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture *f = *state;
        config_destroy(&f->cfg);
        config_init(&f->cfg);
        memset(&f->conf, 0, sizeof(f->conf));
        assert_int_equal(apply(f, cases[i].text, NULL), -EINVAL);
        assert_string_equal(f->err, cases[i].message);
        /* strings from the defaults were released on failure */
        assert_null(f->conf.path);
        assert_null(f->conf.url);
    }
}

static const struct kd_option required_options[] = {
    {"url", KD_OPTION_STRING, "ignored", 0, "Where the forecaster listens.", NULL,
     KD_OPTION_REQUIRED},
    KD_OPTIONS_END,
};

static const struct kd_option required_host_options[] = {
    {"url", KD_OPTION_STRING, NULL, 0, "Forecaster.", "forecaster_url", KD_OPTION_REQUIRED},
    KD_OPTIONS_END,
};

/* Host keys are skipped, unless the plugin declares the same key: then both get the value
 * (the http source's `timeout` is enforced by the host and used by curl). */
static void test_host_keys(void **state)
{
    struct fixture *f = *state;
    static const char *const keys[] = {"name", "plugin", "refresh", "retries", NULL};
    assert_true(config_read_string(
        &f->cfg, "g = { name = \"x\"; plugin = \"file\"; refresh = \"1s\"; retries = 7; };"));
    assert_int_equal(options_apply(demo_options, config_lookup(&f->cfg, "g"), keys, NULL, "x",
                                   &f->conf, f->err, sizeof(f->err)),
                     0);
    assert_int_equal(f->conf.retries, 7); /* declared by the plugin too: it gets the value */
}

static void test_required_satisfied_by_host_default(void **state)
{
    struct fixture *f = *state;
    const char *conf[1] = {NULL};
    const struct kd_plugin_setting *d = settings(NULL, "http://flag:1");

    assert_true(config_read_string(&f->cfg, "g = { name = \"x\"; };"));
    const config_setting_t *g = config_lookup(&f->cfg, "g");
    assert_int_equal(
        options_apply(required_host_options, g, host_keys, d, "x", conf, f->err, sizeof(f->err)),
        0);
    assert_string_equal(conf[0], "http://flag:1");
    kd_plugin_options_release(required_host_options, conf);

    /* without the flag it is missing */
    assert_int_equal(
        options_apply(required_host_options, g, host_keys, NULL, "x", conf, f->err, sizeof(f->err)),
        -EINVAL);
    assert_string_equal(f->err,
                        "<built-in>:1: x: missing required option \"url\" (string: Forecaster.)");

    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    kd_plugin_options_describe(required_host_options, settings(NULL, NULL), out);
    fclose(out);
    assert_non_null(strstr(buf, "  url     string  (required) (--forecaster-url / FORECASTER_URL)  "
                                "Forecaster.\n"));
    free(buf);
}

static void test_required(void **state)
{
    struct fixture *f = *state;
    const char *conf[1] = {NULL};

    assert_true(config_read_string(&f->cfg, "a = 1;\ng = {\n  name = \"x\";\n};"));
    const config_setting_t *g = config_lookup(&f->cfg, "g");
    assert_int_equal(options_apply(required_options, g, host_keys, NULL, "source \"x\" (http)",
                                   conf, f->err, sizeof(f->err)),
                     -EINVAL);
    assert_string_equal(f->err, "<built-in>:2: source \"x\" (http): missing required option "
                                "\"url\" (string: Where the forecaster listens.)");
    assert_null(conf[0]); /* the default is not applied to required options */

    assert_int_equal(options_apply(required_options, NULL, NULL, NULL, "source \"x\" (http)", conf,
                                   f->err, sizeof(f->err)),
                     -EINVAL);
    assert_string_equal(f->err, "source \"x\" (http): missing required option \"url\" (string: "
                                "Where the forecaster listens.)");

    config_destroy(&f->cfg);
    config_init(&f->cfg);
    assert_true(config_read_string(&f->cfg, "g = { url = \"http://a\"; };"));
    g = config_lookup(&f->cfg, "g");
    assert_int_equal(
        options_apply(required_options, g, NULL, NULL, "x", conf, f->err, sizeof(f->err)), 0);
    assert_string_equal(conf[0], "http://a");
    kd_plugin_options_release(required_options, conf);
    assert_null(conf[0]);
}

static void test_file_and_line_from_file(void **state)
{
    struct fixture *f = *state;
    char path[] = "/tmp/kd-options-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *out = fdopen(fd, "w");
    fputs("# comment\n\ng = {\n  path = \"a\";\n  rebse = true;\n};\n", out);
    fclose(out);
    assert_true(config_read_file(&f->cfg, path));
    remove(path);
    assert_int_equal(options_apply(demo_options, config_lookup(&f->cfg, "g"), NULL, NULL,
                                   "source \"demo\" (file)", &f->conf, f->err, sizeof(f->err)),
                     -EINVAL);
    char want[512];
    snprintf(want, sizeof(want),
             "%s:5: source \"demo\" (file): unknown option \"rebse\"; allowed: path, retries, "
             "ratio, loop, lead_time, buffer, url",
             path);
    assert_string_equal(f->err, want);
}

static void test_no_options_table(void **state)
{
    struct fixture *f = *state;
    static const struct kd_option empty[] = {KD_OPTIONS_END};
    assert_true(config_read_string(&f->cfg, "g = { name = \"p\"; extra = 1; };"));
    assert_int_equal(options_apply(empty, config_lookup(&f->cfg, "g"), host_keys, NULL,
                                   "policy \"p\" (none)", NULL, f->err, sizeof(f->err)),
                     -EINVAL);
    assert_string_equal(f->err, "<built-in>:1: policy \"p\" (none): unknown option \"extra\"; "
                                "allowed: none (this plugin has no options)");
}

static void test_describe(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    kd_plugin_options_describe(demo_options, settings(NULL, NULL), out);
    fclose(out);
    assert_string_equal(
        buf,
        "  option     type      default                                                      "
        "description\n"
        "  path       string    \"demo.json\"                                                  "
        "File to read.\n"
        "  retries    int       3                                                            "
        "Retries.\n"
        "  ratio      double    0.5                                                          "
        "Ratio.\n"
        "  loop       bool      true                                                         "
        "Loop.\n"
        "  lead_time  duration  5m (--lead-time / LEAD_TIME)                                 "
        "How far ahead to look.\n"
        "  buffer     size      64KiB                                                        "
        "Buffer.\n"
        "  url        string    \"http://localhost:8081\" (--forecaster-url / FORECASTER_URL)  "
        "Forecaster.\n");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_good_table),
        cmocka_unit_test(test_validate_bad_tables),
        cmocka_unit_test_setup_teardown(test_defaults_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_from_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int64_and_plain_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_default_wins_over_table_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_value_wins_over_host_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_host_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_setting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_option, setup, teardown),
        cmocka_unit_test_setup_teardown(test_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_required_satisfied_by_host_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_and_line_from_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_options_table, setup, teardown),
        cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
