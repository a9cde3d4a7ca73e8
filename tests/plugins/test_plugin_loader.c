/* SPDX-License-Identifier: Apache-2.0 */
/* The plugin loader against real .so fixtures: one broken plugin per failure mode (each error
 * line asserted, nothing left loaded), then a good one loaded, described and instantiated. */
#include <dlfcn.h>
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

#include "plugin/plugin_host.h"
#include "plugin/plugin_private.h" /* struct kd_instance: what the option table filled */
#include "util/log.h"
#include "abi_config.h"
#include "good_config.h"

#define DIR KD_FIXTURE_DIR

static const char *const source_keys[] = {"name",    "plugin",     "refresh",
                                          "timeout", "idle_evict", NULL};

static void assert_not_loaded(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (h) {
        dlclose(h);
        fail_msg("%s is still loaded after a failed open", path);
    }
}

struct broken_case {
    enum kd_plugin_kind kind;
    const char *name;
    const char *reason; /* after "<path>: " */
};

static const struct broken_case broken_cases[] = {
    {KD_PLUGIN_POLICY, "no-symbol", "no kd_plugin symbol: not a kedastral-scaler plugin"},
    {KD_PLUGIN_POLICY, "abi-major-mismatch",
     "built for plugin ABI 3.0, this scaler speaks 2.0; rebuild the plugin"},
    {KD_PLUGIN_POLICY, "abi-1",
     "built for plugin ABI 1.0, this scaler speaks 2.0; rebuild the plugin"},
    {KD_PLUGIN_POLICY, "short-descriptor",
     "descriptor size 16 is not plausible for ABI 2.x (at least 80); initialise it with "
     "KD_PLUGIN_ABI"},
    {KD_PLUGIN_SOURCE, "short-ops",
     "source ops size 12 is not plausible (at least 40); set .size = sizeof(struct "
     "kd_source_ops)"},
    {KD_PLUGIN_SOURCE, "wrong-kind", "is a policy plugin, but was configured as a source"},
    {KD_PLUGIN_POLICY, "wrong-name",
     "descriptor says name \"other\", file is named for "
     "\"wrong-name\""},
    {KD_PLUGIN_SOURCE, "null-op", "source ops incomplete (fetch is NULL)"},
    {KD_PLUGIN_POLICY, "bad-option-table", "bad option table: option \"window\" is declared twice"},
    {KD_PLUGIN_POLICY, "option-overrun",
     "bad option table: option \"window\" (duration at offset 16, 8 bytes) overruns "
     "config_size 16"},
};

static void test_broken_fixtures(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(broken_cases) / sizeof(broken_cases[0]); i++) {
        const struct broken_case *c = &broken_cases[i];
        char path[512], want[1024], err[1024] = "";
        struct kd_plugin_handle *h = (struct kd_plugin_handle *)0x1;
        snprintf(path, sizeof(path), "%s/%s-%s.so", DIR,
                 c->kind == KD_PLUGIN_SOURCE ? "source" : "policy", c->name);
        snprintf(want, sizeof(want), "%s: %s", path, c->reason);

        assert_int_equal(kd_plugin_host_open(DIR, c->kind, c->name, &h, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, want);
        assert_ptr_equal(h, (struct kd_plugin_handle *)0x1); /* untouched */
        assert_not_loaded(path);
    }
}

/* A newer minor loads; what it appended is ignored (plugin.h's growth rule). */
static void test_newer_minor_loads(void **state)
{
    char err[1024] = "";
    struct kd_plugin_handle *h = NULL;

    (void)state;
    assert_int_equal(
        kd_plugin_host_open(DIR, KD_PLUGIN_POLICY, "abi-minor-newer", &h, err, sizeof(err)), 0);
    const struct kd_plugin *p = kd_plugin_host_descriptor(h);
    assert_int_equal(p->abi_minor, KD_PLUGIN_ABI_MINOR + 1);
    assert_int_equal(p->size, sizeof(struct kd_plugin)); /* the host's copy, in its layout */
    kd_plugin_host_close(h);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "cp %s %s.tmp && mv %s.tmp %s", from, to, to, to);
    assert_int_equal(system(cmd), 0); /* mv: a new inode, as a package upgrade does */
}

/* A plugin file replaced while loaded (glibc would return the old copy) is refused, saying a
 * restart is needed; once the old handle is closed the new file loads. */
static void test_replaced_file_is_refused(void **state)
{
    char dir[] = "/tmp/kd-replaced-XXXXXX", path[512], err[1024] = "";
    struct kd_plugin_handle *old = NULL, *h = NULL;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/source-good.so", dir);
    copy_file(DIR "/source-good.so", path);
    assert_int_equal(kd_plugin_host_open(dir, KD_PLUGIN_SOURCE, "good", &old, err, sizeof(err)), 0);
    /* the same file again: fine (a reload of an unchanged plugin) */
    assert_int_equal(kd_plugin_host_open(dir, KD_PLUGIN_SOURCE, "good", &h, err, sizeof(err)), 0);
    kd_plugin_host_close(h);
    h = NULL;

    copy_file(DIR "/source-good.so", path);
    assert_int_equal(kd_plugin_host_open(dir, KD_PLUGIN_SOURCE, "good", &h, err, sizeof(err)),
                     -ESTALE);
    char want[2048];
    snprintf(want, sizeof(want),
             "%s: replaced on disk since it was loaded; the running scaler keeps the copy it has "
             "(dlopen caches it by name): restart it to load the new file",
             path);
    assert_string_equal(err, want);
    assert_null(h);

    kd_plugin_host_close(old);
    assert_int_equal(kd_plugin_host_open(dir, KD_PLUGIN_SOURCE, "good", &h, err, sizeof(err)), 0);
    kd_plugin_host_close(h);
    remove(path);
    rmdir(dir);
}

static void test_missing_file(void **state)
{
    (void)state;
    char err[1024];
    struct kd_plugin_handle *h = NULL;
    assert_int_equal(kd_plugin_host_open(DIR, KD_PLUGIN_POLICY, "absent", &h, err, sizeof(err)),
                     -ENOENT);
    assert_string_equal(err, DIR "/policy-absent.so: cannot open: No such file or directory "
                                 "(plugin_dir is \"" DIR "\"; --plugin-dir changes it)");
    assert_null(h);
}

static void test_not_a_regular_file(void **state)
{
    (void)state;
    char err[1024];
    struct kd_plugin_handle *h = NULL;
    assert_int_equal(
        kd_plugin_host_open(DIR, KD_PLUGIN_SOURCE, "a-directory", &h, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, DIR "/source-a-directory.so: cannot open: not a regular file");
    assert_null(h);
}

static void test_not_a_plugin(void **state)
{
    (void)state;
    const char *path = DIR "/source-not-a-plugin.so";
    char err[1024];
    struct kd_plugin_handle *h = NULL;
    assert_int_equal(
        kd_plugin_host_open(DIR, KD_PLUGIN_SOURCE, "not-a-plugin", &h, err, sizeof(err)), -EINVAL);
    const char *prefix = DIR "/source-not-a-plugin.so: not a loadable plugin: ";
    assert_memory_equal(err, prefix, strlen(prefix));
    const char *why = err + strlen(prefix);
    assert_true(strlen(why) > 0);
    assert_null(strstr(why, path)); /* dlerror's copy of the path is dropped */
    assert_null(strchr(err, '\n'));
}

static void test_invalid_names(void **state)
{
    (void)state;
    char err[256];
    struct kd_plugin_handle *h = NULL;
    assert_int_equal(kd_plugin_host_open(DIR, KD_PLUGIN_SOURCE, "../x", &h, err, sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, "invalid plugin source \"../x\"");
    assert_int_equal(kd_plugin_host_open(DIR, (enum kd_plugin_kind)0, "x", &h, err, sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, "invalid plugin kind \"x\"");
}

static void test_good_loads_and_describes(void **state)
{
    (void)state;
    char err[1024] = "";
    struct kd_plugin_handle *h = NULL;
    assert_int_equal(kd_plugin_host_open(DIR, KD_PLUGIN_SOURCE, "good", &h, err, sizeof(err)), 0);
    const struct kd_plugin *p = kd_plugin_host_descriptor(h);
    assert_string_equal(p->name, "good");
    assert_string_equal(p->version, "1.2.3");
    assert_int_equal(p->kind, KD_PLUGIN_SOURCE);

    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    const struct kd_plugin_setting settings[] = {{"lead_time", "--lead-time / LEAD_TIME", NULL},
                                                 {0}};
    kd_plugin_host_describe(h, settings, out);
    fclose(out);
    assert_string_equal(buf,
                        "source-good 1.2.3: A well-formed source for the loader tests.\n"
                        "  option       type      default                       description\n"
                        "  path         string    (required)                    File to replay.\n"
                        "  lead_time    duration  5m (--lead-time / LEAD_TIME)  How far ahead to "
                        "look.\n"
                        "  loop         bool      true                          Start over at the "
                        "end.\n"
                        "  fail_create  bool      false                         Make create() fail "
                        "(tests).\n");
    free(buf);
    kd_plugin_host_close(h);
    kd_plugin_host_close(NULL);
}

/* ---- Instances ------------------------------------------------------------------------------ */

struct loaded {
    config_t cfg;
    char path[64];
    struct kd_plugin_handle *handle;
    char err[1024];
};

static int loaded_setup(void **state)
{
    struct loaded *l = calloc(1, sizeof(*l));
    config_init(&l->cfg);
    if (kd_plugin_host_open(DIR, KD_PLUGIN_SOURCE, "good", &l->handle, l->err, sizeof(l->err)))
        return -1;
    *state = l;
    return 0;
}

static int loaded_teardown(void **state)
{
    struct loaded *l = *state;
    if (l->path[0])
        remove(l->path);
    config_destroy(&l->cfg);
    kd_plugin_host_close(l->handle);
    free(l);
    return 0;
}

/* Writes `text` to a temporary file and reads it, so settings carry file and line. */
static config_setting_t *read_group(struct loaded *l, const char *text)
{
    snprintf(l->path, sizeof(l->path), "/tmp/kd-loader-XXXXXX");
    int fd = mkstemp(l->path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    if (!config_read_file(&l->cfg, l->path))
        fail_msg("%d: %s", config_error_line(&l->cfg), config_error_text(&l->cfg));
    return config_setting_get_elem(config_lookup(&l->cfg, "sources"), 0);
}

struct recorded {
    struct kd_fetch fetch; /* first: the callbacks get this pointer back */
    int done;
    int failed;
    enum kd_fetch_error error;
    char message[512];
    char workload[64];
    char metric[64];
    int64_t n_replicas;
};

static void on_done(struct kd_fetch *fetch, const struct kd_forecast *forecast)
{
    struct recorded *r = (struct recorded *)fetch;
    r->done++;
    snprintf(r->workload, sizeof(r->workload), "%s", forecast->workload);
    snprintf(r->metric, sizeof(r->metric), "%s", forecast->metric ? forecast->metric : "");
    r->n_replicas = (int64_t)forecast->n_desired_replicas;
}

static void on_fail(struct kd_fetch *fetch, enum kd_fetch_error error, const char *message)
{
    struct recorded *r = (struct recorded *)fetch;
    r->failed++;
    r->error = error;
    snprintf(r->message, sizeof(r->message), "%s", message);
}

static void never_fires(void *arg)
{
    (void)arg;
}

static int create(struct loaded *l, const config_setting_t *g,
                  const struct kd_plugin_setting *settings, struct event_base *base,
                  struct kd_instance **inst)
{
    const struct kd_instance_args args = {
        .group = g, .host_keys = source_keys, .settings = settings, .base = base};
    return kd_instance_create(l->handle, "demo", &args, inst, l->err, sizeof(l->err));
}

static void test_instance_options_and_services(void **state)
{
    struct loaded *l = *state;
    config_setting_t *g = read_group(l, "sources = (\n"
                                        "  { name = \"demo\"; plugin = \"good\";\n"
                                        "    refresh = \"10s\"; path = \"/data/demo.json\";\n"
                                        "    loop = false; }\n"
                                        ");\n");
    const struct kd_plugin_setting settings[] = {
        {"lead_time", "--lead-time / LEAD_TIME", "10m"},
        {"forecaster_url", "--forecaster-url / FORECASTER_URL", NULL},
        {0},
    };
    struct kd_instance *inst = NULL;

    /* create() logs through host->log: catch stderr to see the host's prefix */
    char log_path[] = "/tmp/kd-loader-log-XXXXXX";
    int log_fd = mkstemp(log_path);
    assert_true(log_fd >= 0);
    int saved = dup(STDERR_FILENO);
    dup2(log_fd, STDERR_FILENO);
    kd_log_setup(KD_LOG_INFO, KD_LOG_TEXT);
    int rc = create(l, g, settings, NULL, &inst);
    kd_plugin_host_services()->log(inst, KD_LOG_DEBUG, "hidden at info");
    kd_plugin_host_services()->log(inst, (enum kd_log_level)99, "clamped to debug, hidden");
    dup2(saved, STDERR_FILENO);
    close(saved);
    char logged[512] = "";
    ssize_t n = pread(log_fd, logged, sizeof(logged) - 1, 0);
    close(log_fd);
    remove(log_path);
    assert_int_equal(rc, 0);
    assert_true(n > 0);
    assert_non_null(strstr(logged, " info  [source:demo] reading /data/demo.json\n"));
    assert_null(strstr(logged, "hidden"));
    assert_string_equal(kd_instance_name(inst), "demo");
    assert_string_equal(kd_instance_log_prefix(inst), "source:demo");
    assert_int_equal(inst->plugin->kind, KD_PLUGIN_SOURCE);
    const struct good_config *c = inst->config;
    assert_string_equal(c->path, "/data/demo.json");
    assert_int_equal(c->lead_time_ms, 600000); /* --lead-time replaced the table's 5m */
    assert_false(c->loop);

    const struct kd_host *host = kd_plugin_host_services();
    assert_int_equal(host->size, sizeof(struct kd_host));
    assert_int_equal(host->abi_minor, KD_PLUGIN_ABI_MINOR);
    assert_true(host->now_ms(inst) > INT64_C(1600000000000));
    /* no loop lent: the I/O services say so */
    struct kd_timer *timer = NULL;
    assert_int_equal(host->timer_create(inst, never_fires, NULL, &timer), -ENOSYS);

    struct recorded r = {.fetch = {.on_done = on_done, .on_fail = on_fail}};
    assert_int_equal(kd_instance_fetch(inst, &r.fetch, "web"), 0);
    assert_int_equal(r.done, 1);
    assert_string_equal(r.workload, "web");
    assert_int_equal(r.n_replicas, 2);

    assert_int_equal(kd_instance_fetch(inst, &r.fetch, "missing"), 0);
    assert_int_equal(r.failed, 1);
    assert_int_equal(r.error, KD_FETCH_NOT_FOUND);
    assert_string_equal(r.message, "no forecast for \"missing\" in /data/demo.json");

    /* a dead handle completed again is refused and reaches nobody */
    assert_int_equal(host->fetch_done(&r.fetch, NULL), -EINVAL);
    assert_int_equal(r.failed, 1);

    kd_instance_destroy(inst);
    kd_instance_destroy(NULL);
}

static void test_instance_unknown_key(void **state)
{
    struct loaded *l = *state;
    config_setting_t *g = read_group(l, "sources = (\n"
                                        "  { name = \"demo\"; plugin = \"good\";\n"
                                        "    path = \"/x\";\n"
                                        "    lop = false; }\n"
                                        ");\n");
    struct kd_instance *inst = (struct kd_instance *)0x1;
    assert_int_equal(create(l, g, NULL, NULL, &inst), -EINVAL);
    char want[512];
    snprintf(want, sizeof(want),
             "%s:4: source \"demo\" (good): unknown option \"lop\"; allowed: path, lead_time, "
             "loop, fail_create",
             l->path);
    assert_string_equal(l->err, want);
    assert_ptr_equal(inst, (struct kd_instance *)0x1);
}

static void test_instance_missing_required(void **state)
{
    struct loaded *l = *state;
    config_setting_t *g = read_group(l, "sources = (\n"
                                        "  { name = \"demo\"; plugin = \"good\"; }\n"
                                        ");\n");
    struct kd_instance *inst = NULL;
    assert_int_equal(create(l, g, NULL, NULL, &inst), -EINVAL);
    char want[512];
    snprintf(want, sizeof(want),
             "%s:2: source \"demo\" (good): missing required option \"path\" (string: File to "
             "replay.)",
             l->path);
    assert_string_equal(l->err, want);
    assert_null(inst);
}

/* create()'s own error line comes back with the group's file:line instead of being logged. */
static void test_instance_create_fails(void **state)
{
    struct loaded *l = *state;
    config_setting_t *g = read_group(l, "sources = (\n"
                                        "  { name = \"demo\"; plugin = \"good\"; path = \"/x\";\n"
                                        "    fail_create = true; }\n"
                                        ");\n");
    struct kd_instance *inst = NULL;
    assert_int_equal(create(l, g, NULL, NULL, &inst), -EINVAL);
    char want[512];
    snprintf(want, sizeof(want),
             "%s:2: source \"demo\" (good): refusing to start: fail_create is set", l->path);
    assert_string_equal(l->err, want);
    assert_null(inst); /* and, under ASan, nothing leaked */
}

/* A plugin built for the frozen 2.0 header and one built for a 2.1 with fields appended to every
 * struct both load, parse their options with their own stride, and deliver forecasts. */
static void check_growth(struct loaded *l, const char *name, unsigned minor, const char *metric)
{
    struct kd_plugin_handle *h = NULL;
    struct kd_instance *inst = NULL;

    assert_int_equal(kd_plugin_host_open(DIR, KD_PLUGIN_SOURCE, name, &h, l->err, sizeof(l->err)),
                     0);
    assert_int_equal(kd_plugin_host_descriptor(h)->abi_minor, minor);
    config_setting_t *g = read_group(l, "sources = (\n"
                                        "  { name = \"demo\"; plugin = \"x\";\n"
                                        "    greeting = \"hi\"; n = 3; tags = [\"a\", \"b\"];\n"
                                        "    lead = \"90s\"; }\n"
                                        ");\n");
    const struct kd_instance_args args = {.group = g, .host_keys = source_keys};
    if (kd_instance_create(h, "demo", &args, &inst, l->err, sizeof(l->err)) != 0)
        fail_msg("%s: %s", name, l->err);
    const struct abi_config *c = inst->config;
    assert_string_equal(c->greeting, "hi");
    assert_int_equal(c->n, 3);
    assert_string_equal(c->tags[0], "a");
    assert_string_equal(c->tags[1], "b");
    assert_null(c->tags[2]);
    assert_int_equal(c->lead_ms, 90000);

    struct recorded r = {.fetch = {.on_done = on_done, .on_fail = on_fail}};
    assert_int_equal(kd_instance_fetch(inst, &r.fetch, "web"), 0);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.n_replicas, 3);
    assert_string_equal(r.metric, metric);
    kd_instance_destroy(inst);
    kd_plugin_host_close(h);
    remove(l->path);
    l->path[0] = '\0';
    config_destroy(&l->cfg);
    config_init(&l->cfg);
}

static void test_growth_rule_both_ways(void **state)
{
    struct loaded *l = *state;

    check_growth(l, "abi20", 0, "hi:n/a:0");
    /* the 2.0 host has no instance_name_2_1: the 2.1 plugin sees it by the host's size */
    check_growth(l, "abi21", 1, "hi:no:1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broken_fixtures),
        cmocka_unit_test(test_newer_minor_loads),
        cmocka_unit_test(test_replaced_file_is_refused),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_not_a_regular_file),
        cmocka_unit_test(test_not_a_plugin),
        cmocka_unit_test(test_invalid_names),
        cmocka_unit_test(test_good_loads_and_describes),
        cmocka_unit_test_setup_teardown(test_instance_options_and_services, loaded_setup,
                                        loaded_teardown),
        cmocka_unit_test_setup_teardown(test_instance_unknown_key, loaded_setup, loaded_teardown),
        cmocka_unit_test_setup_teardown(test_instance_missing_required, loaded_setup,
                                        loaded_teardown),
        cmocka_unit_test_setup_teardown(test_instance_create_fails, loaded_setup, loaded_teardown),
        cmocka_unit_test_setup_teardown(test_growth_rule_both_ways, loaded_setup, loaded_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
