/* SPDX-License-Identifier: Apache-2.0 */
/* status_html.c: escaping, one polyline per plot, the window and chosen point, the polyline
 * bound for long forecasts, pages and the detail view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ops/status_html.h"

#define T0 1764662400000LL

static const int64_t SERIES[] = {3, 4, 8, 5, 6, 7, 9, 2};

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static struct kd_status_workload workload(const char *name)
{
    return (struct kd_status_workload){
        .name = name,
        .route = "*",
        .source = "live",
        .policy = "max",
        .lead_time_ms = 300000,
        .stale_after_ms = 600000,
        .fallback_replicas = -1,
        .has_forecast = true,
        .generated_at_ms = T0 - 10000,
        .fetched_at_ms = T0 - 9000,
        .step_s = 60,
        .n_points = 8,
        .desired_replicas = SERIES,
        .answer_status = "OK",
        .answer_value = 8,
        .answer_message = "",
        .last_error = "",
    };
}

/* What was written to `f` (a tmpfile), NUL-terminated; closes `f`. */
static char *slurp(FILE *f)
{
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static char *render(const struct kd_status_snapshot *s)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(kd_status_html_render(s, f), 0);
    return slurp(f);
}

static char *plot(const struct kd_status_workload *w, int width)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    kd_status_html_plot(w, T0, width, 60, f);
    return slurp(f);
}

static void test_page_escapes_every_name(void **state)
{
    (void)state;
    struct kd_status_source src = {.name = "s<1>",
                                   .plugin = "file",
                                   .failing = true,
                                   .failing_since_ms = T0,
                                   .last_error = "<b>boom</b>",
                                   .last_error_workload = ""};
    struct kd_status_workload w[3] = {workload("<script>alert(1)</script>"), workload("a&b\"c'"),
                                      workload("plain")};
    w[2].has_forecast = false; /* no plot */
    w[2].answer_code = 14;
    w[2].answer_status = "UNAVAILABLE";
    w[2].answer_message = "<i>no forecast</i>";
    struct kd_status_snapshot s = {
        .now_ms = T0,
        .daemon = {.version = "1<2", .config_file = "/etc/<x>.conf", .started_ms = T0 - 1000},
        .sources = &src,
        .n_sources = 1,
        .workloads = w,
        .n_workloads = 3,
        .total_workloads = 10,
        .limit = 3,
        .next_after = "plain&more",
    };
    char *html = render(&s);
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<b>"));
    assert_null(strstr(html, "<i>"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(html, "a&amp;b&quot;c&#39;"));
    assert_non_null(strstr(html, "/etc/&lt;x&gt;.conf"));
    assert_non_null(strstr(html, "&lt;b&gt;boom&lt;/b&gt;"));
    /* Links carry names percent-encoded. */
    assert_non_null(
        strstr(html, "href=\"/status?workload=%3Cscript%3Ealert%281%29%3C%2Fscript%3E\""));
    assert_non_null(strstr(html, "href=\"/status?after=plain%26more&amp;limit=3\""));
    assert_int_equal(count(html, "<tr class=\"workload\""), 3);
    assert_int_equal(count(html, "<polyline"), 2);
    assert_int_equal(count(html, "<svg"), 2);
    free(html);
}

static void test_plot_window_and_chosen_point(void **state)
{
    (void)state;
    struct kd_status_workload w = workload("w");
    char *svg = plot(&w, 240);
    /* Without the policy's window: the plan and now, nothing invented. */
    assert_int_equal(count(svg, "<polyline class=\"plan\""), 1);
    assert_int_equal(count(svg, "<line class=\"now\""), 1);
    assert_int_equal(count(svg, "class=\"window\""), 0);
    assert_int_equal(count(svg, "class=\"chosen\""), 0);
    free(svg);

    w.has_window = true;
    w.window_first = 0;
    w.window_last = 5;
    svg = plot(&w, 240);
    assert_int_equal(count(svg, "class=\"window\""), 1);
    assert_int_equal(count(svg, "<circle class=\"chosen\""), 1);
    free(svg);

    w.stale = true; /* a fallback answer was not chosen from the window */
    svg = plot(&w, 240);
    assert_int_equal(count(svg, "class=\"chosen\""), 0);
    free(svg);

    w.step_s = 0; /* unusable: no plot at all */
    svg = plot(&w, 240);
    assert_string_equal(svg, "");
    free(svg);
}

static void test_long_forecast_points_bounded(void **state)
{
    (void)state;
    enum { N = 10000 };
    int64_t *series = malloc(N * sizeof(*series));
    for (int i = 0; i < N; i++)
        series[i] = i % 97;
    series[4321] = 500; /* a lone peak must survive the downsampling */
    struct kd_status_workload w = workload("long");
    w.desired_replicas = series;
    w.n_points = N;
    w.answer_value = 3;
    char *svg = plot(&w, 240);
    const char *pts = strstr(svg, "points=\"");
    assert_non_null(pts);
    size_t commas = 0;
    for (const char *p = pts + 8; *p != '"'; p++)
        commas += *p == ',';
    assert_true(commas <= 240);
    assert_true(commas >= 200);
    /* The peak (500; the scale's top is 550) survives: y = 3 + 54 - 500 / 550 * 54. */
    assert_non_null(strstr(svg, ",7.9 "));
    assert_true(strlen(svg) < 240 * 16 + 1024);
    free(svg);
    free(series);
}

static void test_detail_and_missing(void **state)
{
    (void)state;
    struct kd_status_workload w = workload("one<x>");
    struct kd_status_snapshot s = {
        .now_ms = T0, .workloads = &w, .n_workloads = 1, .workload = "one<x>", .limit = 50};
    char *html = render(&s);
    assert_int_equal(count(html, "<polyline"), 1);
    assert_non_null(strstr(html, "<h2>Workload one&lt;x&gt;</h2>"));
    assert_non_null(strstr(html, "<dt>lead time</dt><dd>5m0s</dd>"));
    free(html);

    s.n_workloads = 0;
    s.workload = "gh<o>st";
    html = render(&s);
    assert_non_null(strstr(html, "No workload named <q>gh&lt;o&gt;st</q>"));
    assert_int_equal(count(html, "<polyline"), 0);
    free(html);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_escapes_every_name),
        cmocka_unit_test(test_plot_window_and_chosen_point),
        cmocka_unit_test(test_long_forecast_points_bounded),
        cmocka_unit_test(test_detail_and_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
