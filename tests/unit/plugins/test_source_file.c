/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source-file.so as the host sees it: dlopen()ed from the build dir, driven by the fake host
 * with a fake clock (replay) and a real event loop (reload polling).
 */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <kedastral/plugin.h>

#include "fakes/fake_host.h"

#define NOW 2000000000000 /* the fake clock at load time */
#define MIN 60000

struct fixture {
    void *dl;
    const struct kd_plugin *plugin;
    void *config;
    struct event_base *base;
    struct kd_fake_host fake;
    void *state;
    char dir[64];
    char path[128];
};

/* Two workloads; desiredReplicas[0] names the snapshot. */
static const char recording[] =
    "[{\"workload\":\"a\",\"generatedAt\":\"2025-10-16T17:35:00Z\",\"stepSeconds\":60,"
    "\"desiredReplicas\":[1,5]},"
    "{\"workload\":\"a\",\"generatedAt\":\"2025-10-16T17:36:00Z\",\"stepSeconds\":60,"
    "\"desiredReplicas\":[2,5]},"
    "{\"workload\":\"b\",\"generatedAt\":\"2025-10-16T17:35:00Z\",\"stepSeconds\":30,"
    "\"values\":[1.5],\"desiredReplicas\":[7]}]\n";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    fx->dl = dlopen(KD_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!fx->dl)
        fail_msg("dlopen: %s", dlerror());
    fx->plugin = dlsym(fx->dl, KD_PLUGIN_SYMBOL);
    assert_non_null(fx->plugin);
    fx->config = calloc(1, fx->plugin->config_size);
    fx->base = event_base_new();
    assert_non_null(fx->base);
    kd_fake_host_init(&fx->fake, fx->base, NOW);

    snprintf(fx->dir, sizeof(fx->dir), "/tmp/kd-source-file-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof(fx->path), "%s/forecasts.json", fx->dir);
    write_file(fx->path, recording);

    /* the defaults of the option table, as the host would apply them */
    assert_int_equal(kd_fake_host_set_string(fx->plugin, fx->config, "path", fx->path), 0);
    assert_int_equal(kd_fake_host_set_bool(fx->plugin, fx->config, "rebase", true), 0);
    assert_int_equal(kd_fake_host_set_bool(fx->plugin, fx->config, "loop", true), 0);
    assert_int_equal(kd_fake_host_set_i64(fx->plugin, fx->config, "poll", 1000), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    fx->plugin->source->destroy(fx->state);
    unlink(fx->path);
    rmdir(fx->dir);
    event_base_free(fx->base);
    free(fx->config);
    dlclose(fx->dl);
    free(fx);
    return 0;
}

static int create(struct fixture *fx)
{
    return fx->plugin->source->create(&fx->fake.host, kd_fake_host_instance(&fx->fake), fx->config,
                                      &fx->state);
}

/* Fetch `workload`; the result is in *f (release with kd_fake_host_fetch_fini). */
static void fetch(struct fixture *fx, const char *workload, struct kd_fake_fetch *f)
{
    assert_int_equal(fx->plugin->source->fetch(fx->state, kd_fake_host_fetch(f), workload), 0);
    assert_int_equal(f->n_done + f->n_fail, 1); /* completed inside fetch(), exactly once */
}

/* Fetch and check which snapshot came back and the time it shows. */
static void expect(struct fixture *fx, const char *workload, int64_t which, int64_t shown)
{
    struct kd_fake_fetch f;

    fetch(fx, workload, &f);
    if (f.n_fail)
        fail_msg("fetch %s failed: %s", workload, f.message);
    assert_string_equal(f.forecast.workload, workload);
    assert_int_equal(f.forecast.desired_replicas[0], which);
    assert_int_equal(f.forecast.generated_at_ms, shown);
    kd_fake_host_fetch_fini(&f);
}

/* Spin the real loop until the fake host saw a line; a hang guard, not a timing check. */
static void run_until_log(struct fixture *fx, enum kd_log_level level, const char *needle)
{
    for (int i = 0; i < 20000 && !kd_fake_host_find_log(&fx->fake, level, needle); i++)
        event_base_loop(fx->base, EVLOOP_ONCE);
    if (!kd_fake_host_find_log(&fx->fake, level, needle))
        fail_msg("no log line containing \"%s\"", needle);
}

static void spin(struct fixture *fx, int polls)
{
    for (int i = 0; i < polls; i++)
        event_base_loop(fx->base, EVLOOP_ONCE);
}

static void test_descriptor(void **state)
{
    struct fixture *fx = *state;
    const struct kd_plugin *p = fx->plugin;
    static const struct {
        const char *name;
        enum kd_option_type type;
        const char *default_value;
        uint32_t flags;
    } want[] = {
        {"path", KD_OPTION_STRING, NULL, KD_OPTION_REQUIRED},
        {"rebase", KD_OPTION_BOOL, "true", 0},
        {"loop", KD_OPTION_BOOL, "true", 0},
        {"poll", KD_OPTION_DURATION, "1s", 0},
    };

    assert_int_equal(p->abi_major, KD_PLUGIN_ABI_MAJOR);
    assert_int_equal(p->kind, KD_PLUGIN_SOURCE);
    assert_string_equal(p->name, "file");
    assert_null(p->policy);
    assert_non_null(p->source->create);
    assert_non_null(p->source->fetch);
    assert_non_null(p->source->cancel);
    assert_non_null(p->source->destroy);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct kd_option *o = &p->options[i];
        assert_string_equal(o->name, want[i].name);
        assert_int_equal(o->type, want[i].type);
        if (want[i].default_value)
            assert_string_equal(o->default_value, want[i].default_value);
        else
            assert_null(o->default_value);
        assert_int_equal(o->flags, want[i].flags);
        assert_null(o->host_default);
        assert_non_null(o->description);
    }
    assert_null(p->options[4].name);
}

/* The shipped sample serves both demo workloads, fresh, in the forecaster's shape. */
static void test_demo_recording(void **state)
{
    struct fixture *fx = *state;
    struct kd_fake_fetch f;

    assert_int_equal(kd_fake_host_set_string(fx->plugin, fx->config, "path", KD_DEMO_JSON), 0);
    assert_int_equal(create(fx), 0);
    assert_non_null(kd_fake_host_find_log(&fx->fake, KD_LOG_INFO,
                                          "2 workload(s) (checkout, demo-api), 16 snapshot(s)"));
    for (int hour = 0; hour < 48; hour++) {
        fx->fake.now_ms = NOW + hour * 3600 * 1000 + hour * 7919;
        for (const char *w = "checkout"; w; w = *w == 'c' ? "demo-api" : NULL) {
            fetch(fx, w, &f);
            assert_int_equal(f.n_done, 1);
            assert_string_equal(f.forecast.metric, "http_rps");
            assert_int_equal(f.forecast.step_seconds, 60);
            assert_int_equal(f.forecast.horizon_seconds, 1800);
            assert_int_equal(f.forecast.n_values, 30);
            assert_int_equal(f.forecast.n_desired_replicas, 30);
            assert_true(f.forecast.generated_at_ms <= fx->fake.now_ms);
            assert_true(fx->fake.now_ms - f.forecast.generated_at_ms < MIN);
            kd_fake_host_fetch_fini(&f);
        }
    }
}

static void test_not_found(void **state)
{
    struct fixture *fx = *state;
    struct kd_fake_fetch f;
    char want[256];

    assert_int_equal(create(fx), 0);
    fetch(fx, "x", &f);
    assert_int_equal(f.n_fail, 1);
    assert_int_equal(f.error, KD_FETCH_NOT_FOUND);
    snprintf(want, sizeof(want), "workload \"x\" is not in %s; it has: a, b", fx->path);
    assert_string_equal(f.message, want);
    kd_fake_host_fetch_fini(&f);
}

static void test_replay_rebase_loop(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(create(fx), 0);
    expect(fx, "a", 1, NOW);
    fx->fake.now_ms = NOW + MIN - 1;
    expect(fx, "a", 1, NOW);
    fx->fake.now_ms = NOW + MIN;
    expect(fx, "a", 2, NOW + MIN);
    fx->fake.now_ms = NOW + 2 * MIN; /* a's span: 1 min + its 1 min step */
    expect(fx, "a", 1, NOW + 2 * MIN);
    expect(fx, "b", 7, NOW + 2 * MIN); /* b: one snapshot, 30 s step */
    fx->fake.now_ms = NOW + 2 * MIN + 45000;
    expect(fx, "b", 7, NOW + 2 * MIN + 30000);
}

static void test_replay_no_loop(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(kd_fake_host_set_bool(fx->plugin, fx->config, "loop", false), 0);
    assert_int_equal(create(fx), 0);
    fx->fake.now_ms = NOW + 60 * MIN;
    expect(fx, "a", 2, NOW + MIN); /* an hour old: the host will call it stale */
}

static void test_replay_no_rebase(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(kd_fake_host_set_bool(fx->plugin, fx->config, "rebase", false), 0);
    assert_int_equal(create(fx), 0);
    expect(fx, "a", 2, 1760636160000); /* 2025-10-16T17:36:00Z, as recorded */
}

/* A broken edit keeps the last good data and says why once; the fix is picked up. */
static void test_reload(void **state)
{
    struct fixture *fx = *state;
    struct kd_fake_fetch f;

    assert_int_equal(kd_fake_host_set_i64(fx->plugin, fx->config, "poll", 1), 0);
    assert_int_equal(create(fx), 0);

    write_file(fx->path, "[{\"workload\":\"a\",\"stepSeconds\":60.0}]");
    run_until_log(fx, KD_LOG_WARN, "keeping the forecasts loaded before");
    const struct kd_fake_log *line = kd_fake_host_find_log(&fx->fake, KD_LOG_WARN, fx->path);
    assert_non_null(line);
    assert_non_null(strstr(line->text, "[0].stepSeconds: not an integer (60.0)"));
    expect(fx, "b", 7, NOW);
    spin(fx, 20);
    assert_int_equal(kd_fake_host_count_logs(&fx->fake, KD_LOG_WARN, "keeping"), 1);

    fx->fake.now_ms = NOW + 5 * MIN;
    write_file(fx->path, "{\"workload\":\"c\",\"generatedAt\":\"2025-10-16T17:35:00Z\","
                         "\"stepSeconds\":60,\"desiredReplicas\":[3]}");
    run_until_log(fx, KD_LOG_INFO, "reloaded");
    assert_non_null(kd_fake_host_find_log(&fx->fake, KD_LOG_INFO, "1 workload(s) (c)"));
    expect(fx, "c", 3, NOW + 5 * MIN); /* re-based on the reload */
    fetch(fx, "a", &f);
    assert_int_equal(f.error, KD_FETCH_NOT_FOUND);
    assert_non_null(strstr(f.message, "it has: c"));
    kd_fake_host_fetch_fini(&f);

    /* a file that disappears: same rule */
    assert_int_equal(unlink(fx->path), 0);
    run_until_log(fx, KD_LOG_WARN, "No such file or directory; keeping");
    spin(fx, 20);
    assert_int_equal(kd_fake_host_count_logs(&fx->fake, KD_LOG_WARN, "No such file"), 1);
    expect(fx, "c", 3, NOW + 5 * MIN);

    /* and comes back */
    write_file(fx->path, recording);
    kd_fake_host_clear_logs(&fx->fake);
    run_until_log(fx, KD_LOG_INFO, "reloaded");
    expect(fx, "a", 1, NOW + 5 * MIN);
}

/* poll = 0: the file is read once. */
static void test_poll_off(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(kd_fake_host_set_i64(fx->plugin, fx->config, "poll", 0), 0);
    assert_int_equal(create(fx), 0);
    write_file(fx->path, "[]");
    assert_int_equal(event_base_loop(fx->base, EVLOOP_NONBLOCK), 1); /* nothing registered */
    expect(fx, "a", 1, NOW);
}

/* No event loop from the host (some tests, tools): serves, just never reloads. */
static void test_no_event_base(void **state)
{
    struct fixture *fx = *state;

    fx->fake.base = NULL;
    assert_int_equal(create(fx), 0);
    expect(fx, "b", 7, NOW);
}

/* The host may fail to take the forecast; the fetch is still over and fetch() says 0. */
static void test_fetch_done_fails(void **state)
{
    struct fixture *fx = *state;
    struct kd_fake_fetch f;
    struct kd_fetch *handle = kd_fake_host_fetch(&f);

    assert_int_equal(create(fx), 0);
    f.done_rc = -EINVAL;
    assert_int_equal(fx->plugin->source->fetch(fx->state, handle, "a"), 0);
    assert_int_equal(f.n_done, 1);
    kd_fake_host_fetch_fini(&f);
    fx->plugin->source->cancel(fx->state, handle); /* harmless: nothing outstanding */
}

static void expect_create_error(struct fixture *fx, int rc, const char *message)
{
    void *st = fx;

    assert_int_equal(fx->plugin->source->create(&fx->fake.host, kd_fake_host_instance(&fx->fake),
                                                fx->config, &st),
                     rc);
    assert_ptr_equal(st, fx);
    if (!kd_fake_host_find_log(&fx->fake, KD_LOG_ERROR, message))
        fail_msg("no ERROR line containing \"%s\" (%zu lines, first: %s)", message, fx->fake.n_logs,
                 fx->fake.n_logs ? fx->fake.logs[0].text : "-");
    kd_fake_host_clear_logs(&fx->fake);
}

static void test_create_errors(void **state)
{
    struct fixture *fx = *state;
    char missing[160];

    snprintf(missing, sizeof(missing), "%s/nope.json", fx->dir);
    assert_int_equal(kd_fake_host_set_string(fx->plugin, fx->config, "path", missing), 0);
    expect_create_error(fx, -ENOENT, "nope.json: No such file or directory");

    assert_int_equal(kd_fake_host_set_string(fx->plugin, fx->config, "path", fx->dir), 0);
    expect_create_error(fx, -EINVAL, "not a regular file");

    assert_int_equal(kd_fake_host_set_string(fx->plugin, fx->config, "path", ""), 0);
    expect_create_error(fx, -EINVAL, "path is empty");
    assert_int_equal(kd_fake_host_set_string(fx->plugin, fx->config, "path", NULL), 0);
    expect_create_error(fx, -EINVAL, "path is empty");

    assert_int_equal(kd_fake_host_set_string(fx->plugin, fx->config, "path", fx->path), 0);
    write_file(fx->path, "");
    expect_create_error(fx, -EINVAL, "forecasts.json: empty document");
    write_file(fx->path, "{\"workload\":\"a\",\"generatedAt\":\"2025-10-16 17:35:00\"}");
    expect_create_error(fx, -EINVAL, "generatedAt: \"2025-10-16 17:35:00\" is not an RFC 3339");
    write_file(fx->path, "[{\"workload\":\"a\"},{\"stepSeconds\":60}]");
    expect_create_error(fx, -EINVAL, "[1]: no workload");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_descriptor),     T(test_demo_recording),
        T(test_not_found),      T(test_replay_rebase_loop),
        T(test_replay_no_loop), T(test_replay_no_rebase),
        T(test_reload),         T(test_poll_off),
        T(test_no_event_base),  T(test_fetch_done_fails),
        T(test_create_errors),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
