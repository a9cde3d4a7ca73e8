/* SPDX-License-Identifier: Apache-2.0 */
/* config/config.c: the shipped file, every error line with its file:line, overrides,
 * relative paths and the built-in upstream-mode configuration. */
#include <errno.h>
#include <limits.h>
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

#include "config/config.h"

/* A scratch directory holding test.conf. */
struct scratch {
    char dir[64];
    char path[128];
    char err[1024];
};

static int scratch_setup(void **state)
{
    struct scratch *s = calloc(1, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/kd-config-XXXXXX");
    if (!mkdtemp(s->dir))
        return -1;
    /* canonical, since the loader reports realpath-based directories */
    char *real = realpath(s->dir, NULL);
    snprintf(s->dir, sizeof(s->dir), "%s", real);
    free(real);
    snprintf(s->path, sizeof(s->path), "%s/test.conf", s->dir);
    *state = s;
    return 0;
}

static int scratch_teardown(void **state)
{
    struct scratch *s = *state;
    remove(s->path);
    rmdir(s->dir);
    free(s);
    return 0;
}

static int load_text(struct scratch *s, const char *text, const struct kd_config_overrides *ov,
                     struct kd_config **ret_config)
{
    FILE *f = fopen(s->path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    s->err[0] = '\0';
    return kd_config_load(s->path, ov, "/opt/kd/plugins", ret_config, s->err, sizeof(s->err));
}

/* Set a setting as its flag would. */
static void set(struct kd_config_overrides *ov, const char *key, const char *text)
{
    char err[256];
    const struct kd_setting *setting = kd_setting_find(key);
    assert_non_null(setting);
    if (kd_config_override(ov, setting, false, text, err, sizeof(err)) != 0)
        fail_msg("%s = %s: %s", key, text, err);
}

#define GOOD_TAIL                                                                                  \
    "sources = ( { name = \"demo\"; plugin = \"file\"; path = \"/d.json\"; } );\n"                 \
    "policies = ( { name = \"lookahead\"; plugin = \"max\"; lead_time = \"5m\"; } );\n"            \
    "workloads = ( { match = \"*\"; source = \"demo\"; policy = \"lookahead\"; } );\n"

static void test_shipped_config(void **state)
{
    (void)state;
    struct kd_config *c = NULL;
    char err[1024] = "";
    const char *path = KD_SOURCE_DIR "/etc/kedastral-scaler.conf";
    if (kd_config_load(path, NULL, "/unused", &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);

    char *etc = realpath(KD_SOURCE_DIR "/etc", NULL);
    char want[PATH_MAX + 64];
    assert_string_equal(c->path, path);
    assert_string_equal(c->base_dir, etc);
    assert_string_equal(c->listen, "0.0.0.0:50051");
    assert_string_equal(c->http_listen, "0.0.0.0:8082");
    assert_string_equal(c->plugin_dir, "/usr/lib/kedastral-scaler/plugins");
    assert_int_equal(c->log_level, KD_LOG_INFO);
    assert_int_equal(c->log_format, KD_LOG_TEXT);
    assert_true(c->reflection);
    assert_int_equal(c->max_message_size, 4 * 1024 * 1024);
    assert_int_equal(c->default_deadline_ms, 10000);
    assert_int_equal(c->shutdown_timeout_ms, 10000);
    assert_null(kd_config_setting_text(c, "lead_time"));
    assert_null(kd_config_setting_text(c, "forecaster_url"));

    assert_int_equal(c->n_sources, 1);
    assert_string_equal(c->sources[0].name, "demo");
    assert_string_equal(c->sources[0].plugin, "file");
    assert_int_equal(c->sources[0].refresh_ms, 10000);
    assert_int_equal(c->sources[0].timeout_ms, 2000);
    assert_int_equal(c->sources[0].idle_evict_ms, 600000);
    assert_string_equal(c->sources[0].file, path);
    assert_true(c->sources[0].line > 1);
    /* "forecasts/demo.json" is relative to the file's folder, rewritten in the tree */
    snprintf(want, sizeof(want), "%s/forecasts/demo.json", etc);
    const char *p = NULL;
    assert_true(config_setting_lookup_string(c->sources[0].group, "path", &p));
    assert_string_equal(p, want);
    assert_int_equal(access(p, R_OK), 0);

    assert_int_equal(c->n_policies, 1);
    assert_string_equal(c->policies[0].name, "lookahead");
    assert_string_equal(c->policies[0].plugin, "max");
    assert_true(config_setting_lookup_string(c->policies[0].group, "lead_time", &p));
    assert_string_equal(p, "5m");

    assert_int_equal(c->n_workloads, 1);
    assert_string_equal(c->workloads[0].match, "*");
    assert_string_equal(c->workloads[0].source, "demo");
    assert_string_equal(c->workloads[0].policy, "lookahead");
    assert_int_equal(c->workloads[0].stale_after_ms, -1);
    assert_int_equal(c->workloads[0].fallback_replicas, -1);
    free(etc);
    kd_config_free(c);
    kd_config_free(NULL);
}

static void test_all_keys(void **state)
{
    struct scratch *s = *state;
    struct kd_config *c = NULL;
    int rc = load_text(s,
                       "listen = \"127.0.0.1:1\";\n"
                       "http_listen = \"127.0.0.1:2\";\n"
                       "plugin_dir = \"/p\";\n"
                       "log_level = \"debug\";\n"
                       "log_format = \"json\";\n"
                       "reflection = false;\n"
                       "max_message_size = \"64KiB\";\n"
                       "default_deadline = \"1m\"; shutdown_timeout = \"30s\";\n"
                       "sources = ( { name = \"a\"; plugin = \"file\"; refresh = \"1s\";\n"
                       "              timeout = \"500ms\"; idle_evict = \"1h\"; },\n"
                       "            { name = \"b\"; plugin = \"http\"; url = \"http://x\"; } );\n"
                       "policies = ( { name = \"p\"; plugin = \"max\"; } );\n"
                       "workloads = ( { match = \"web-*\"; source = \"a\"; policy = \"p\";\n"
                       "                stale_after = \"2m\"; fallback_replicas = 3; },\n"
                       "              { match = \"*\"; source = \"b\"; policy = \"p\"; } );\n",
                       NULL, &c);
    if (rc != 0)
        fail_msg("%s", s->err);
    assert_string_equal(c->listen, "127.0.0.1:1");
    assert_string_equal(c->http_listen, "127.0.0.1:2");
    assert_string_equal(c->plugin_dir, "/p");
    assert_int_equal(c->log_level, KD_LOG_DEBUG);
    assert_int_equal(c->log_format, KD_LOG_JSON);
    assert_false(c->reflection);
    assert_int_equal(c->max_message_size, 65536);
    assert_int_equal(c->default_deadline_ms, 60000);
    assert_int_equal(c->shutdown_timeout_ms, 30000);
    assert_int_equal(c->n_sources, 2);
    assert_int_equal(c->sources[0].refresh_ms, 1000);
    assert_int_equal(c->sources[0].timeout_ms, 500);
    assert_int_equal(c->sources[0].idle_evict_ms, 3600000);
    assert_int_equal(c->sources[0].line, 9);
    assert_int_equal(c->sources[1].line, 11);
    assert_int_equal(c->n_workloads, 2);
    assert_int_equal(c->workloads[0].stale_after_ms, 120000);
    assert_int_equal(c->workloads[0].fallback_replicas, 3);
    assert_int_equal(c->workloads[0].line, 13);
    assert_int_equal(c->workloads[1].stale_after_ms, -1);
    kd_config_free(c);

    /* a plain byte count is a size too */
    rc = load_text(s, "max_message_size = 1048576;\n" GOOD_TAIL, NULL, &c);
    assert_int_equal(rc, 0);
    assert_int_equal(c->max_message_size, 1048576);
    kd_config_free(c);
}

struct error_case {
    const char *text;
    const char *message; /* "%s" stands for the file's path */
};

static const struct error_case error_cases[] = {
    {"lisen = \"x\";\n" GOOD_TAIL,
     "%s:1: unknown setting \"lisen\"; allowed: listen, tls, http_listen, plugin_dir, log_level, "
     "log_format, reflection, max_message_size, default_deadline, shutdown_timeout, status, "
     "readyz_requires_sources, limits, config_poll, sources, policies, workloads"},
    {"lead_time = \"5m\";\n" GOOD_TAIL,
     "%s:1: unknown setting \"lead_time\"; allowed: listen, tls, http_listen, plugin_dir, "
     "log_level, log_format, reflection, max_message_size, default_deadline, shutdown_timeout, "
     "status, readyz_requires_sources, limits, config_poll, sources, policies, workloads"},
    {"listen = 50051;\n" GOOD_TAIL, "%s:1: listen: expected a string like \"0.0.0.0:50051\""},
    {"listen = \"127.0.0.1:99999\";\n" GOOD_TAIL,
     "%s:1: listen: \"127.0.0.1:99999\" is not a listen address; expected \"host:port\", "
     "\"[v6]:port\" or \":port\" with a port in 0..65535"},
    {"http_listen = \"[::1:8082\";\n" GOOD_TAIL,
     "%s:1: http_listen: \"[::1:8082\" is not a listen address; expected \"host:port\", "
     "\"[v6]:port\" or \":port\" with a port in 0..65535"},
    {"\nhttp_listen = true;\n" GOOD_TAIL,
     "%s:2: http_listen: expected a string like \"0.0.0.0:8082\""},
    {"plugin_dir = 1;\n" GOOD_TAIL, "%s:1: plugin_dir: expected a path as a string"},
    {"log_level = \"verbose\";\n" GOOD_TAIL,
     "%s:1: log_level: \"verbose\" is not allowed; write error | warn | info | debug"},
    {"log_level = 3;\n" GOOD_TAIL,
     "%s:1: log_level: expected a string: error | warn | info | debug"},
    {"log_format = \"xml\";\n" GOOD_TAIL,
     "%s:1: log_format: \"xml\" is not allowed; write text | json"},
    {"reflection = \"yes\";\n" GOOD_TAIL, "%s:1: reflection: expected true or false"},
    {"max_message_size = \"4 MiB\";\n" GOOD_TAIL,
     "%s:1: max_message_size: invalid size \"4 MiB\"; write bytes or e.g. \"64KiB\", \"4MiB\", "
     "\"1GiB\""},
    {"max_message_size = 0;\n" GOOD_TAIL,
     "%s:1: max_message_size: 0 is out of range; allowed: 1 to 2147483647 bytes"},
    {"max_message_size = \"4GiB\";\n" GOOD_TAIL,
     "%s:1: max_message_size: 4GiB is out of range; allowed: 1 to 2147483647 bytes"},
    {"reflection = 1;\n" GOOD_TAIL, "%s:1: reflection: expected true or false"},
    {"listen = \"\";\n" GOOD_TAIL, "%s:1: listen: empty; expected a value"},
    {"max_message_size = 1.5;\n" GOOD_TAIL,
     "%s:1: max_message_size: expected a size like \"4MiB\" or a number of bytes"},
    {"default_deadline = 10;\n" GOOD_TAIL,
     "%s:1: default_deadline: a bare number is not a duration; write e.g. \"250ms\", \"30s\", "
     "\"5m\", \"1h30m\", \"2d\" (in quotes)"},
    {"default_deadline = \"10x\";\n" GOOD_TAIL,
     "%s:1: default_deadline: \"10x\" is not a duration; write e.g. \"250ms\", \"30s\", \"5m\", "
     "\"1h30m\", \"2d\""},
    {"default_deadline = \"0s\";\n" GOOD_TAIL,
     "%s:1: default_deadline: \"0s\" must be greater than zero"},
    {"listen = = \"x\";\n", "%s:1: syntax error"},
    {"# comment\n\nlisten = \"x\";\nlisten = \"y\";\n", "%s:4: duplicate setting name"},
    {"a = 1;\nb = { c = 1; ;\n", "%s:2: syntax error"},
    {"a = (;\n", "%s:1: syntax error"},
    /* sources */
    {"sources = { name = \"x\"; };\n",
     "%s:1: sources: expected a list of groups, e.g. sources = ( { name = \"demo\"; plugin = "
     "\"file\"; } );"},
    {"sources = ( 1 );\n",
     "%s:1: sources[0]: expected a group, e.g. { name = \"demo\"; plugin = \"file\"; }"},
    {"sources = (\n { plugin = \"file\"; } );\n",
     "%s:2: source #1: missing name = \"...\"; every source needs a unique name"},
    {"sources = ( { name = \"\"; plugin = \"file\"; } );\n",
     "%s:1: source name: expected a non-empty string"},
    {"sources = ( { name = \"d\"; } );\n",
     "%s:1: source \"d\": missing plugin = \"...\" (e.g. \"file\")"},
    {"sources = ( { name = \"d\"; plugin = 1; } );\n",
     "%s:1: source \"d\": plugin: expected a plugin name as a string"},
    {"sources = ( { name = \"d\"; plugin = \"../evil\"; } );\n",
     "%s:1: source \"d\": plugin \"../evil\" is not a plugin name; allowed: letters, digits, "
     "'-' and '_' (\"file\" loads source-file.so)"},
    {"sources = ( { name = \"d\"; plugin = \"file\"; refresh = 10; } );\n",
     "%s:1: source \"d\": refresh: a bare number is not a duration; write e.g. \"250ms\", "
     "\"30s\", \"5m\", \"1h30m\", \"2d\" (in quotes)"},
    {"sources = ( { name = \"d\"; plugin = \"file\"; timeout = \"-1s\"; } );\n",
     "%s:1: source \"d\": timeout: \"-1s\" must be greater than zero"},
    {"sources = ( { name = \"d\"; plugin = \"file\"; idle_evict = \"soon\"; } );\n",
     "%s:1: source \"d\": idle_evict: invalid duration \"soon\"; write e.g. \"250ms\", \"30s\", "
     "\"5m\", \"1h30m\", \"2d\""},
    {"sources = ( { name = \"d\"; plugin = \"file\"; },\n"
     "            { name = \"d\"; plugin = \"http\"; } );\n",
     "%s:2: source \"d\" is defined twice (first at %s:1); names must be unique"},
    /* policies */
    {"policies = ( { name = \"p\"; } );\n",
     "%s:1: policy \"p\": missing plugin = \"...\" (e.g. \"max\")"},
    {"policies = ( { name = \"p\"; plugin = \"max\"; },\n"
     "             { name = \"p\"; plugin = \"max\"; } );\n",
     "%s:2: policy \"p\" is defined twice (first at %s:1); names must be unique"},
    {"policies = [ 1, 2 ];\n",
     "%s:1: policies: expected a list of groups, e.g. policies = ( { name = \"lookahead\"; "
     "plugin = \"max\"; } );"},
    /* workloads */
    {"sources = ( { name = \"demo\"; plugin = \"file\"; } );\n"
     "policies = ( { name = \"lookahead\"; plugin = \"max\"; } );\n",
     "%s: no workloads; add at least one, e.g. workloads = ( { match = \"*\"; source = "
     "\"demo\"; policy = \"lookahead\"; } );"},
    {"workloads = ( );\n",
     "%s:1: workloads: empty; add at least one, e.g. { match = \"*\"; source = \"demo\"; policy "
     "= \"lookahead\"; }"},
    {"sources = ( { name = \"demo\"; plugin = \"file\"; } );\n"
     "policies = ( { name = \"lookahead\"; plugin = \"max\"; } );\n"
     "workloads = ( { match = \"*\";\n source = \"dmeo\"; policy = \"lookahead\"; } );\n",
     "%s:4: workload \"*\": unknown source \"dmeo\"; defined: demo"},
    {"sources = ( { name = \"demo\"; plugin = \"file\"; }, { name = \"b\"; plugin = \"file\"; } "
     ");\n"
     "policies = ( { name = \"lookahead\"; plugin = \"max\"; } );\n"
     "workloads = ( { match = \"*\"; source = \"demo\"; policy = \"lookahed\"; } );\n",
     "%s:3: workload \"*\": unknown policy \"lookahed\"; defined: lookahead"},
    {"workloads = ( { match = \"*\"; source = \"demo\"; policy = \"p\"; } );\n",
     "%s:1: workload \"*\": unknown source \"demo\"; defined: none (add a sources list)"},
    {"sources = ( { name = \"demo\"; plugin = \"file\"; }, { name = \"b\"; plugin = \"file\"; } "
     ");\n"
     "workloads = ( { match = \"*\"; policy = \"p\"; } );\n",
     "%s:2: workload \"*\": missing source = \"...\"; defined: demo, b"},
    {"workloads = ( { source = \"demo\"; } );\n",
     "%s:1: workload #1: missing match = \"...\" (a glob such as \"*\")"},
    {"workloads = ( { match = 1; } );\n",
     "%s:1: workload #1: match: expected a glob as a string, e.g. \"*\" or \"web-*\""},
    {"workloads = ( { match = \"*\";\n polcy = \"p\"; } );\n",
     "%s:2: workload \"*\": unknown setting \"polcy\"; allowed: match, source, policy, "
     "stale_after, fallback_replicas, on_stale, activation, activation_lead, "
     "activation_threshold, mode, overrides, lead_time_max, stale_after_max"},
    {"sources = ( { name = \"demo\"; plugin = \"file\"; } );\n"
     "policies = ( { name = \"lookahead\"; plugin = \"max\"; } );\n"
     "workloads = ( { match = \"*\"; source = \"demo\"; policy = \"lookahead\";\n"
     "                stale_after = 600; } );\n",
     "%s:4: workload \"*\": stale_after: a bare number is not a duration; write e.g. \"250ms\", "
     "\"30s\", \"5m\", \"1h30m\", \"2d\" (in quotes)"},
    {"sources = ( { name = \"demo\"; plugin = \"file\"; } );\n"
     "policies = ( { name = \"lookahead\"; plugin = \"max\"; } );\n"
     "workloads = ( { match = \"*\"; source = \"demo\"; policy = \"lookahead\";\n"
     "                fallback_replicas = -1; } );\n",
     "%s:4: workload \"*\": fallback_replicas: expected an integer from 0 to 2147483647"},
    {"sources = ( { name = \"demo\"; plugin = \"file\"; } );\n"
     "policies = ( { name = \"lookahead\"; plugin = \"max\"; } );\n"
     "workloads = ( { match = \"*\"; source = \"demo\"; policy = \"lookahead\";\n"
     "                fallback_replicas = 99999999999L; } );\n",
     "%s:4: workload \"*\": fallback_replicas: expected an integer from 0 to 2147483647"},
    {"sources = ( { name = \"demo\"; plugin = \"file\"; } );\n"
     "policies = ( { name = \"lookahead\"; plugin = \"max\"; } );\n"
     "workloads = ( { match = \"*\"; source = \"demo\"; policy = \"lookahead\";\n"
     "                on_stale = \"never\"; } );\n",
     "%s:4: workload \"*\": on_stale: unknown value \"never\"; allowed: error, inactive"},
    {"sources = ( { name = \"demo\"; plugin = \"file\"; } );\n"
     "policies = ( { name = \"lookahead\"; plugin = \"max\"; } );\n"
     "workloads = ( { match = \"*\"; source = \"demo\"; policy = \"lookahead\";\n"
     "                activation = true; } );\n",
     "%s:4: workload \"*\": activation: expected one of fresh, demand, as a string"},
    {"sources = ( { name = \"demo\"; plugin = \"file\"; } );\n"
     "policies = ( { name = \"lookahead\"; plugin = \"max\"; } );\n"
     "workloads = ( { match = \"*\"; source = \"demo\"; policy = \"lookahead\";\n"
     "                mode = \"dry-run\"; } );\n",
     "%s:4: workload \"*\": mode: unknown value \"dry-run\"; allowed: active, shadow"},
    {"sources = ( { name = \"demo\"; plugin = \"file\"; } );\n"
     "policies = ( { name = \"lookahead\"; plugin = \"max\"; } );\n"
     "workloads = ( { match = \"*\"; source = \"demo\"; policy = \"lookahead\";\n"
     "                activation_lead = \"soon\"; } );\n",
     "%s:4: workload \"*\": activation_lead: invalid duration \"soon\"; write e.g. \"250ms\", "
     "\"30s\", \"5m\", \"1h30m\", \"2d\""},
    {"sources = ( { name = \"demo\"; plugin = \"file\"; } );\n"
     "policies = ( { name = \"lookahead\"; plugin = \"max\"; } );\n"
     "workloads = ( { match = \"*\"; source = \"demo\"; policy = \"lookahead\";\n"
     "                activation_threshold = -1; } );\n",
     "%s:4: workload \"*\": activation_threshold: expected a number of replicas >= 0 (active when "
     "the policy's value exceeds it)"},
    {"sources = ( { name = \"demo\"; plugin = \"file\"; } );\n"
     "policies = ( { name = \"lookahead\"; plugin = \"max\"; } );\n"
     "workloads = ( { match = \"*\"; source = \"demo\"; policy = \"lookahead\";\n"
     "                overrides = [\"leadTime\", \"lead_time\"]; } );\n",
     "%s:4: workload \"*\": overrides[1]: \"lead_time\" is not an overridable key; allowed: "
     "leadTime, policy, staleAfter, fallbackReplicas, activation, activationLeadTime, mode"},
    {"sources = ( { name = \"demo\"; plugin = \"file\"; } );\n"
     "policies = ( { name = \"lookahead\"; plugin = \"max\"; } );\n"
     "workloads = ( { match = \"*\"; source = \"demo\"; policy = \"lookahead\";\n"
     "                overrides = \"leadTime\"; } );\n",
     "%s:4: workload \"*\": overrides: expected an array of key names, e.g. [\"leadTime\", "
     "\"mode\"]; allowed: leadTime, policy, staleAfter, fallbackReplicas, activation, "
     "activationLeadTime, mode"},
    {"sources = ( { name = \"demo\"; plugin = \"file\"; } );\n"
     "policies = ( { name = \"lookahead\"; plugin = \"max\"; } );\n"
     "workloads = ( { match = \"*\"; source = \"demo\"; policy = \"lookahead\";\n"
     "                lead_time_max = \"-1h\"; } );\n",
     "%s:4: workload \"*\": lead_time_max: \"-1h\" must be greater than zero"},
    {"sources = ( { name = \"demo\"; plugin = \"file\"; } );\n"
     "policies = ( { name = \"lookahead\"; plugin = \"max\"; } );\n"
     "workloads = ( { match = \"*\"; source = \"demo\"; policy = \"lookahead\";\n"
     "                stale_after_max = \"0s\"; } );\n",
     "%s:4: workload \"*\": stale_after_max: \"0s\" must be greater than zero"},
    {"sources = ( { name = \"demo\"; plugin = \"file\"; } );\n"
     "policies = ( { name = \"lookahead\"; plugin = \"max\"; } );\n"
     "workloads = ( { match = \"*\"; source = \"demo\"; policy = \"lookahead\"; },\n"
     "              { match = \"*\"; source = \"demo\"; policy = \"lookahead\"; } );\n",
     "%s:4: workload \"*\" is already matched at %s:3; the first match wins, so this one would "
     "never be used"},
};

/* The message with every "%s" replaced by path (not a printf format: -Wformat=2). */
static void expand(const char *tmpl, const char *path, char *out, size_t len)
{
    size_t used = 0;
    for (const char *p = tmpl; *p && used + 1 < len; p++) {
        if (p[0] == '%' && p[1] == 's') {
            used += (size_t)snprintf(out + used, len - used, "%s", path);
            p++;
        } else {
            out[used++] = *p;
        }
    }
    out[used < len ? used : len - 1] = '\0';
}

static void test_errors(void **state)
{
    struct scratch *s = *state;
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        struct kd_config *c = (struct kd_config *)0x1;
        char want[1024];
        expand(error_cases[i].message, s->path, want, sizeof(want));
        int rc = load_text(s, error_cases[i].text, NULL, &c);
        if (rc != -EINVAL || strcmp(s->err, want) != 0)
            fail_msg("case %zu: rc %d\n got: %s\nwant: %s", i, rc, s->err, want);
        assert_ptr_equal(c, (struct kd_config *)0x1);
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    struct kd_config *c = NULL;
    char err[256];
    assert_int_equal(kd_config_load("/nonexistent/kd.conf", NULL, "/p", &c, err, sizeof(err)),
                     -ENOENT);
    assert_string_equal(err, "/nonexistent/kd.conf: cannot open: No such file or directory");
    assert_null(c);
}

static void test_overrides_win(void **state)
{
    struct scratch *s = *state;
    struct kd_config *c = NULL;
    struct kd_config_overrides ov = {0};
    set(&ov, "listen", "127.0.0.1:9");
    set(&ov, "http_listen", "127.0.0.1:10");
    set(&ov, "plugin_dir", "/flag/plugins");
    set(&ov, "log_level", "error");
    set(&ov, "log_format", "json");
    set(&ov, "forecaster_url", "http://f:8081");
    set(&ov, "lead_time", "15m");
    int rc = load_text(s,
                       "listen = \"0.0.0.0:1\"; http_listen = \"0.0.0.0:2\";\n"
                       "plugin_dir = \"/file/plugins\"; log_level = \"debug\";\n"
                       "log_format = \"text\";\n" GOOD_TAIL,
                       &ov, &c);
    if (rc != 0)
        fail_msg("%s", s->err);
    assert_string_equal(c->listen, "127.0.0.1:9");
    assert_string_equal(c->http_listen, "127.0.0.1:10");
    assert_string_equal(c->plugin_dir, "/flag/plugins");
    assert_int_equal(c->log_level, KD_LOG_ERROR);
    assert_int_equal(c->log_format, KD_LOG_JSON);
    assert_string_equal(kd_config_setting_text(c, "lead_time"), "15m");
    assert_string_equal(kd_config_setting_text(c, "forecaster_url"), "http://f:8081");
    assert_int_equal(c->lead_time_ms, 15 * 60 * 1000);
    kd_config_free(c);

    /* without overrides the file wins over the built-in defaults */
    rc =
        load_text(s, "plugin_dir = \"/file/plugins\"; log_level = \"warn\";\n" GOOD_TAIL, NULL, &c);
    assert_int_equal(rc, 0);
    assert_string_equal(c->plugin_dir, "/file/plugins");
    assert_int_equal(c->log_level, KD_LOG_WARN);
    assert_string_equal(c->listen, "0.0.0.0:50051");
    kd_config_free(c);

    /* neither: the caller's default */
    rc = load_text(s, GOOD_TAIL, NULL, &c);
    assert_int_equal(rc, 0);
    assert_string_equal(c->plugin_dir, "/opt/kd/plugins");
    kd_config_free(c);
}

static void test_bad_overrides(void **state)
{
    (void)state;
    static const struct {
        const char *key, *text;
        bool from_env;
        int rc;
        const char *message;
    } cases[] = {
        {"log_level", "loud", false, -EINVAL,
         "\"loud\" is not allowed; write error | warn | info | debug"},
        {"log_format", "yaml", true, -EINVAL, "\"yaml\" is not allowed; write text | json"},
        {"lead_time", "5", false, -EINVAL,
         "\"5\" is not a duration; write e.g. \"250ms\", \"30s\", \"5m\", \"1h30m\", \"2d\""},
        {"lead_time", "-5m", false, -ERANGE, "\"-5m\" is out of range; allowed: 0s to "},
        {"tls_enabled", "maybe", false, -EINVAL, "\"maybe\": write true or false"},
        {"listen", "", false, -EINVAL, "empty; expected a value"},
        {"plugin_dir", "", true, -EINVAL, "empty; expected a path"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct kd_config_overrides ov = {0};
        char err[256];
        const struct kd_setting *setting = kd_setting_find(cases[i].key);
        assert_int_equal(
            kd_config_override(&ov, setting, cases[i].from_env, cases[i].text, err, sizeof(err)),
            cases[i].rc);
        if (strncmp(err, cases[i].message, strlen(cases[i].message)) != 0)
            fail_msg("case %zu: got \"%s\"", i, err);
        assert_false(ov.set[kd_setting_index(setting)]);
    }

    /* Upstream's TLS_ENABLED: "true" or "1" is true, anything else false, never an error. */
    struct kd_config_overrides ov = {0};
    char err[64];
    const struct kd_setting *tls = kd_setting_find("tls_enabled");
    assert_int_equal(kd_config_override(&ov, tls, true, "yes", err, sizeof(err)), 0);
    assert_false(ov.value[kd_setting_index(tls)].b);
    assert_int_equal(kd_config_override(&ov, tls, true, "1", err, sizeof(err)), 0);
    assert_true(ov.value[kd_setting_index(tls)].b);
}

static void test_relative_paths(void **state)
{
    struct scratch *s = *state;
    struct kd_config *c = NULL;
    int rc = load_text(s,
                       "plugin_dir = \"./plugins\";\n"
                       "sources = ( { name = \"a\"; plugin = \"file\"; path = \"data/a.json\"; },\n"
                       "            { name = \"b\"; plugin = \"file\"; path = \"/abs/b.json\"; },\n"
                       "            { name = \"c\"; plugin = \"file\"; path = 3; } );\n"
                       "policies = ( { name = \"p\"; plugin = \"max\"; } );\n"
                       "workloads = ( { match = \"*\"; source = \"a\"; policy = \"p\"; } );\n",
                       NULL, &c);
    if (rc != 0)
        fail_msg("%s", s->err);
    char want[256];
    snprintf(want, sizeof(want), "%s/plugins", s->dir);
    assert_string_equal(c->plugin_dir, want);
    assert_string_equal(c->base_dir, s->dir);

    const char *p;
    snprintf(want, sizeof(want), "%s/data/a.json", s->dir);
    assert_true(config_setting_lookup_string(c->sources[0].group, "path", &p));
    assert_string_equal(p, want);
    assert_true(config_setting_lookup_string(c->sources[1].group, "path", &p));
    assert_string_equal(p, "/abs/b.json");
    /* not a string: left for the plugin host to reject with the option table */
    int n = 0;
    assert_true(config_setting_lookup_int(c->sources[2].group, "path", &n));
    assert_int_equal(n, 3);

    kd_config_free(c);

    /* --plugin-dir is relative to where the daemon starts, not to the file */
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    struct kd_config_overrides ov = {0};
    set(&ov, "plugin_dir", "build/plugins");
    rc = load_text(s, GOOD_TAIL, &ov, &c);
    assert_int_equal(rc, 0);
    assert_memory_equal(c->plugin_dir, cwd, strlen(cwd));
    assert_string_equal(c->plugin_dir + strlen(cwd), "/build/plugins");
    kd_config_free(c);
}

/* A ConfigMap's file is a symlink into a folder each update replaces: relative paths stay
 * relative to where the file is named. */
static void test_symlinked_file(void **state)
{
    struct scratch *s = *state;
    char data[160], target[200], link[160], want[200];
    struct kd_config *c = NULL;

    snprintf(data, sizeof(data), "%s/..2026_12_02", s->dir);
    snprintf(target, sizeof(target), "%s/kd.conf", data);
    snprintf(link, sizeof(link), "%s/kd.conf", s->dir);
    assert_int_equal(mkdir(data, 0700), 0);
    FILE *f = fopen(target, "w");
    assert_non_null(f);
    fputs("sources = ( { name = \"a\"; plugin = \"file\"; path = \"a.json\"; } );\n"
          "policies = ( { name = \"p\"; plugin = \"max\"; } );\n"
          "workloads = ( { match = \"*\"; source = \"a\"; policy = \"p\"; } );\n",
          f);
    fclose(f);
    assert_int_equal(symlink("..2026_12_02/kd.conf", link), 0);

    int rc = kd_config_load(link, NULL, "/p", &c, s->err, sizeof(s->err));
    if (rc != 0)
        fail_msg("%s", s->err);
    assert_string_equal(c->base_dir, s->dir);
    const char *p;
    snprintf(want, sizeof(want), "%s/a.json", s->dir);
    assert_true(config_setting_lookup_string(c->sources[0].group, "path", &p));
    assert_string_equal(p, want);
    kd_config_free(c);
    remove(link);
    remove(target);
    rmdir(data);
}

static void test_builtin(void **state)
{
    (void)state;
    struct kd_config *c = NULL;
    char err[512] = "";
    if (kd_config_load(NULL, NULL, "/usr/lib/kedastral-scaler/plugins", &c, err, sizeof(err)))
        fail_msg("%s", err);
    assert_null(c->path);
    assert_string_equal(c->listen, "0.0.0.0:50051");
    assert_string_equal(c->http_listen, "0.0.0.0:8082");
    assert_string_equal(c->plugin_dir, "/usr/lib/kedastral-scaler/plugins");
    assert_true(c->reflection);
    assert_int_equal(c->n_sources, 1);
    assert_string_equal(c->sources[0].name, "forecaster");
    assert_string_equal(c->sources[0].plugin, "http");
    assert_string_equal(c->sources[0].file, "<built-in>");
    const char *url = NULL;
    assert_true(config_setting_lookup_string(c->sources[0].group, "url", &url));
    assert_string_equal(url, "http://localhost:8081");
    assert_int_equal(c->n_policies, 1);
    assert_string_equal(c->policies[0].name, "lead-time");
    assert_string_equal(c->policies[0].plugin, "max");
    assert_int_equal(c->n_workloads, 1);
    assert_string_equal(c->workloads[0].match, "*");
    assert_string_equal(c->workloads[0].source, "forecaster");
    assert_string_equal(c->workloads[0].policy, "lead-time");
    kd_config_free(c);

    struct kd_config_overrides ov = {0};
    set(&ov, "forecaster_url", "http://kedastral-forecaster:8081");
    set(&ov, "lead_time", "10m");
    set(&ov, "listen", ":50051");
    assert_int_equal(kd_config_load(NULL, &ov, "/p", &c, err, sizeof(err)), 0);
    assert_true(config_setting_lookup_string(c->sources[0].group, "url", &url));
    assert_string_equal(url, "http://kedastral-forecaster:8081");
    assert_string_equal(kd_config_setting_text(c, "lead_time"), "10m");
    assert_string_equal(c->listen, ":50051");
    kd_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_config),
        cmocka_unit_test_setup_teardown(test_all_keys, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_errors, scratch_setup, scratch_teardown),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test_setup_teardown(test_overrides_win, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_bad_overrides, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_relative_paths, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_symlinked_file, scratch_setup, scratch_teardown),
        cmocka_unit_test(test_builtin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
