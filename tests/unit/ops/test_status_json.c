/* SPDX-License-Identifier: Apache-2.0 */
/* status_json.c and status_format.c: a hand-built snapshot rendered and parsed back with cJSON
 * (exact fields, nulls, escaping), query parsing, time and duration formats. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "ops/status_format.h"
#include "ops/status_json.h"

#define T0 1764662400000LL /* 2025-12-02T08:00:00.000Z */

static const int64_t SERIES[] = {3, 4, 8, 5, 6, 7, 9, 2};

static void snapshot(struct kd_status_snapshot *s, struct kd_status_source *src,
                     struct kd_status_workload *w)
{
    src[0] = (struct kd_status_source){
        .name = "live",
        .plugin = "file",
        .last_error = "",
        .last_error_workload = "",
        .fetches = {3, 0, 1, 0},
        .workloads = 1,
        .cached = 1,
        .refresh_ms = 10000,
        .timeout_ms = 2000,
        .idle_evict_ms = 600000,
    };
    src[1] = (struct kd_status_source){
        .name = "fc",
        .plugin = "http",
        .failing = true,
        .failing_since_ms = T0 - 5000,
        .last_error = "HTTP 500 \"internal\"",
        .last_error_workload = "down",
        .fetches = {0, 4, 0, 1},
        .in_flight = 1,
    };
    w[0] = (struct kd_status_workload){
        .name = "checkout",
        .route = "check*",
        .source = "live",
        .policy = "lookahead",
        .lead_time_ms = 300000,
        .stale_after_ms = 600000,
        .fallback_replicas = -1,
        .has_forecast = true,
        .generated_at_ms = T0 - 12500,
        .fetched_at_ms = T0 - 12000,
        .step_s = 60,
        .horizon_s = 480,
        .n_points = 8,
        .desired_replicas = SERIES,
        .answer_code = 0,
        .answer_status = "OK",
        .answer_value = 8,
        .answer_message = "",
        .active = true,
        .last_error = "",
        .last_asked_ms = T0 - 1000,
        .refresh_due_ms = T0 + 8000,
        .mode = "active",
        .activation = "fresh",
        .on_stale = "error",
        .activation_lead_ms = 300000,
        .n_origins = 2,
        .origins = {{"lead_time", "metadata"}, {"policy", "config"}},
        .has_window = true,
        .window_first = 0,
        .window_last = 5,
        .has_policy_value = true,
        .policy_value = 8,
        .last_metrics_ms = T0 - 1000,
    };
    w[1] = (struct kd_status_workload){
        .name = "down</script><b>",
        .route = "*",
        .source = "fc",
        .policy = "lookahead",
        .lead_time_ms = 300000,
        .stale_after_ms = 600000,
        .fallback_replicas = 2,
        .answer_code = 14,
        .answer_status = "UNAVAILABLE",
        .answer_message = "no forecast yet: HTTP 500",
        .fetching = true,
        .failures = 3,
        .failing_since_ms = T0 - 5000,
        .last_error = "HTTP 500",
        .last_asked_ms = T0,
    };
    *s = (struct kd_status_snapshot){
        .now_ms = T0,
        .daemon = {.version = "1.2.3",
                   .config_file = NULL,
                   .listen = ":50051",
                   .http_listen = ":8082",
                   .started_ms = T0 - 60000,
                   .reloads_ok = 1,
                   .reloads_failed = 1,
                   .last_reload_ms = T0 - 30000,
                   .last_reload_ok = false,
                   .last_reload_error = "x.conf:3: bad",
                   .n_limits = 2,
                   .limits = {{"max_message_size", 4194304}, {"max_workloads", 10000}}},
        .sources = src,
        .n_sources = 2,
        .workloads = w,
        .n_workloads = 2,
        .total_workloads = 7,
        .limit = 2,
        .after = "a",
        .next_after = "down</script><b>",
    };
}

static cJSON *render(const struct kd_status_snapshot *s)
{
    char *text = NULL;
    assert_int_equal(kd_status_json_render(s, &text), 0);
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    free(text);
    return doc;
}

static cJSON *at(const cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        fail_msg("no key %s", key);
    return v;
}

static void assert_str(const cJSON *o, const char *key, const char *want)
{
    cJSON *v = at(o, key);
    assert_true(cJSON_IsString(v));
    assert_string_equal(v->valuestring, want);
}

static void assert_num(const cJSON *o, const char *key, double want)
{
    cJSON *v = at(o, key);
    assert_true(cJSON_IsNumber(v));
    assert_true(v->valuedouble == want);
}

static void assert_json_null(const cJSON *o, const char *key)
{
    assert_true(cJSON_IsNull(at(o, key)));
}

static void assert_absent(const cJSON *o, const char *key)
{
    assert_null(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void test_workload_fields(void **state)
{
    (void)state;
    struct kd_status_snapshot s;
    struct kd_status_source src[2];
    struct kd_status_workload w[2];
    snapshot(&s, src, w);
    cJSON *doc = render(&s);

    assert_str(doc, "now", "2025-12-02T08:00:00.000Z");
    cJSON *ws = at(doc, "workloads");
    assert_int_equal(cJSON_GetArraySize(ws), 2);
    cJSON *c = cJSON_GetArrayItem(ws, 0);
    assert_str(c, "name", "checkout");
    assert_str(c, "state", "ok");
    assert_str(c, "route", "check*");
    assert_num(c, "lead_time_ms", 300000);
    assert_json_null(c, "fallback_replicas");
    cJSON *f = at(c, "forecast");
    assert_str(f, "generated_at", "2025-12-02T07:59:47.500Z");
    assert_num(f, "age_s", 12.5);
    assert_num(f, "points", 8);
    /* The series is only for ?workload=. */
    assert_absent(f, "desired_replicas");
    cJSON *a = at(c, "answer");
    assert_int_equal(cJSON_GetArraySize(a), 3);
    assert_num(a, "code", 0);
    assert_str(a, "status", "OK");
    assert_num(a, "value", 8);
    assert_true(cJSON_IsTrue(at(c, "active")));
    assert_json_null(at(c, "fetch"), "failing_since");
    assert_json_null(at(c, "fetch"), "last_error");
    assert_str(c, "refresh_due", "2025-12-02T08:00:08.000Z");
    assert_str(c, "mode", "active");
    assert_str(at(c, "origins"), "lead_time", "metadata");
    assert_str(at(c, "origins"), "policy", "config");
    cJSON *win = at(c, "window");
    assert_num(win, "first", 0);
    assert_num(win, "last", 5);
    /* desired_replicas[i] is the plan for generated_at + (i + 1) x step */
    assert_str(win, "first_at", "2025-12-02T08:00:47.500Z");
    assert_str(win, "last_at", "2025-12-02T08:05:47.500Z");
    assert_num(c, "policy_value", 8);
    assert_num(at(c, "last_metrics"), "code", 0);
    assert_json_null(c, "last_activity");
    assert_json_null(c, "next_activation");

    cJSON *dn = cJSON_GetArrayItem(ws, 1);
    assert_str(dn, "name", "down</script><b>"); /* JSON carries it verbatim */
    assert_str(dn, "state", "failing");
    assert_json_null(dn, "forecast");
    assert_json_null(dn, "refresh_due");
    assert_json_null(dn, "window");
    assert_json_null(dn, "policy_value");
    assert_num(dn, "fallback_replicas", 2);
    a = at(dn, "answer");
    assert_num(a, "code", 14);
    assert_str(a, "message", "no forecast yet: HTTP 500");
    assert_absent(a, "value");
    cJSON *fe = at(dn, "fetch");
    assert_true(cJSON_IsTrue(at(fe, "in_flight")));
    assert_num(fe, "failures", 3);
    assert_str(fe, "failing_since", "2025-12-02T07:59:55.000Z");

    cJSON *page = at(doc, "page");
    assert_num(page, "limit", 2);
    assert_str(page, "after", "a");
    assert_str(page, "next_after", "down</script><b>");
    assert_num(page, "total", 7);
    cJSON_Delete(doc);
}

static void test_series_with_one_workload(void **state)
{
    (void)state;
    struct kd_status_snapshot s;
    struct kd_status_source src[2];
    struct kd_status_workload w[2];
    snapshot(&s, src, w);
    s.n_workloads = 1;
    s.workload = "checkout";
    cJSON *doc = render(&s);
    cJSON *series =
        at(at(cJSON_GetArrayItem(at(doc, "workloads"), 0), "forecast"), "desired_replicas");
    assert_int_equal(cJSON_GetArraySize(series), 8);
    for (int i = 0; i < 8; i++)
        assert_true(cJSON_GetArrayItem(series, i)->valuedouble == (double)SERIES[i]);
    cJSON_Delete(doc);

    s.workload = NULL;
    doc = render(&s);
    assert_absent(at(cJSON_GetArrayItem(at(doc, "workloads"), 0), "forecast"), "desired_replicas");
    cJSON_Delete(doc);
}

static void test_sources_and_daemon(void **state)
{
    (void)state;
    struct kd_status_snapshot s;
    struct kd_status_source src[2];
    struct kd_status_workload w[2];
    snapshot(&s, src, w);
    cJSON *doc = render(&s);
    cJSON *ss = at(doc, "sources");
    cJSON *ok = cJSON_GetArrayItem(ss, 0), *bad = cJSON_GetArrayItem(ss, 1);
    assert_str(ok, "state", "ok");
    assert_json_null(ok, "failing_since");
    assert_json_null(ok, "last_error");
    assert_num(at(ok, "fetches"), "success", 3);
    assert_num(at(ok, "fetches"), "not_found", 1);
    assert_str(bad, "state", "failing");
    assert_str(bad, "last_error", "HTTP 500 \"internal\"");
    assert_str(bad, "last_error_workload", "down");
    assert_num(at(bad, "fetches"), "error", 4);
    assert_num(at(bad, "fetches"), "timeout", 1);
    assert_num(bad, "in_flight", 1);

    cJSON *d = at(doc, "daemon");
    assert_str(d, "version", "1.2.3");
    assert_json_null(d, "config_file");
    assert_num(d, "uptime_s", 60);
    assert_str(d, "started_at", "2025-12-02T07:59:00.000Z");
    cJSON *r = at(d, "reloads");
    assert_num(r, "ok", 1);
    assert_num(r, "failed", 1);
    assert_str(r, "last_result", "failed");
    assert_str(r, "last_error", "x.conf:3: bad");
    assert_num(at(d, "limits"), "max_message_size", 4194304);
    assert_num(at(d, "limits"), "max_workloads", 10000);
    assert_int_equal(cJSON_GetArraySize(at(d, "limits")), 2);
    cJSON_Delete(doc);
}

static void test_workload_states(void **state)
{
    (void)state;
    struct kd_status_workload w = {0};
    assert_string_equal(kd_status_workload_state(&w), "fetching");
    w.failures = 1;
    assert_string_equal(kd_status_workload_state(&w), "failing");
    w.has_forecast = true;
    assert_string_equal(kd_status_workload_state(&w), "failing"); /* serving the last good */
    w.failures = 0;
    assert_string_equal(kd_status_workload_state(&w), "ok");
    w.stale = true;
    assert_string_equal(kd_status_workload_state(&w), "stale");
    w.not_found = true;
    assert_string_equal(kd_status_workload_state(&w), "not_found");
}

static void test_query_param(void **state)
{
    (void)state;
    /* query, key, expected return, expected value */
    static const struct {
        const char *query, *key;
        int rc;
        const char *value;
    } rows[] = {
        {"limit=10&after=w1", "limit", 0, "10"},
        {"limit=10&after=w1", "after", 0, "w1"},
        {"limit=10&after=w1", "workload", -ENOENT, NULL},
        {"verbose", "verbose", 0, ""}, /* a bare key, as Kubernetes probes send */
        {"verbose=&x", "verbose", 0, ""},
        {"verbosex=1", "verbose", -ENOENT, NULL}, /* a prefix is not the key */
        {"a=1&a=2", "a", 0, "1"},                 /* the first wins */
        {"w=%3Cscript%3E", "w", 0, "<script>"},
        {"w=a+b", "w", 0, "a b"},
        {"w=%zz", "w", -EINVAL, NULL},
        {"w=%4", "w", -EINVAL, NULL},
        {"w=%00", "w", -EINVAL, NULL},
        {"w=0123456789", "w", -EINVAL, NULL}, /* longer than the buffer below */
        {"", "w", -ENOENT, NULL},
        {NULL, "w", -ENOENT, NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char buf[10];
        int rc = kd_status_query_param(rows[i].query, rows[i].key, buf, sizeof(buf));
        assert_int_equal(rc, rows[i].rc);
        if (rc == 0)
            assert_string_equal(buf, rows[i].value);
    }
}

static void test_formats(void **state)
{
    (void)state;
    char t[KD_STATUS_TIME_LEN], d[32];
    kd_status_format_time(T0 + 7, t);
    assert_string_equal(t, "2025-12-02T08:00:00.007Z");
    kd_status_format_time(-1, t);
    assert_string_equal(t, "1969-12-31T23:59:59.999Z");
    static const struct {
        int64_t ms;
        const char *text;
    } rows[] = {
        {0, "0ms"},        {850, "850ms"},      {12999, "12s"}, {270000, "4m30s"},
        {7500000, "2h5m"}, {273600000, "3d4h"}, {-1500, "-1s"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        kd_status_format_duration(rows[i].ms, d, sizeof(d));
        assert_string_equal(d, rows[i].text);
    }

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    kd_status_html_escape(f, "<a href=\"x\">'&'</a>");
    fputc('|', f);
    kd_status_url_encode(f, "a b/<c>&d=é~");
    fclose(f);
    assert_string_equal(buf, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
                             "|a%20b%2F%3Cc%3E%26d%3D%C3%A9~");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workload_fields),    cmocka_unit_test(test_series_with_one_workload),
        cmocka_unit_test(test_sources_and_daemon), cmocka_unit_test(test_workload_states),
        cmocka_unit_test(test_query_param),        cmocka_unit_test(test_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
