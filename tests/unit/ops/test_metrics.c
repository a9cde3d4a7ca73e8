/* SPDX-License-Identifier: Apache-2.0 */
/* Metrics registry: exact exposition text, escaping, histogram buckets, bounds and errors. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ops/metrics.h"

static char *render(const struct kd_metrics *m)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    assert_int_equal(kd_metrics_write(m, f), 0);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void test_small_registry_exact_text(void **state)
{
    (void)state;
    struct kd_metrics *m;
    struct kd_metric *req, *errs, *gauge;
    struct kd_series *s;

    assert_int_equal(kd_metrics_create(&m), 0);
    assert_int_equal(
        kd_metrics_add(m,
                       &(struct kd_metric_desc){
                           .name = "kedastral_scaler_grpc_requests_total",
                           .help = "Total number of gRPC requests by method and status",
                           .type = KD_METRIC_COUNTER,
                           .labels = {"method", "status"},
                           .max_series = 8,
                       },
                       &req),
        0);
    assert_int_equal(kd_metrics_add(m,
                                    &(struct kd_metric_desc){
                                        .name = "kedastral_scaler_forecast_fetch_errors_total",
                                        .help = "Total number of errors fetching forecasts",
                                        .type = KD_METRIC_COUNTER,
                                    },
                                    &errs),
                     0);
    assert_int_equal(kd_metrics_add(m,
                                    &(struct kd_metric_desc){
                                        .name = "kedastral_scaler_desired_replicas_returned",
                                        .help = "Last desired replicas value returned to KEDA",
                                        .type = KD_METRIC_GAUGE,
                                    },
                                    &gauge),
                     0);

    /* A labelled series resolved ahead is hidden until used; unlabelled ones show 0. */
    assert_int_equal(kd_metric_series(req, (const char *[]){"IsActive", "active"}, &s), 0);
    char *text = render(m);
    assert_string_equal(text, "# HELP kedastral_scaler_forecast_fetch_errors_total Total number "
                              "of errors fetching forecasts\n"
                              "# TYPE kedastral_scaler_forecast_fetch_errors_total counter\n"
                              "kedastral_scaler_forecast_fetch_errors_total 0\n"
                              "# HELP kedastral_scaler_desired_replicas_returned Last desired "
                              "replicas value returned to KEDA\n"
                              "# TYPE kedastral_scaler_desired_replicas_returned gauge\n"
                              "kedastral_scaler_desired_replicas_returned 0\n");
    free(text);

    kd_series_add(s, 1);
    kd_series_add(s, 1);
    struct kd_series *again;
    assert_int_equal(kd_metric_series(req, (const char *[]){"IsActive", "active"}, &again), 0);
    assert_ptr_equal(again, s);
    assert_int_equal(kd_metric_series(req, (const char *[]){"GetMetrics", "error"}, &s), 0);
    kd_series_add(s, 1);
    struct kd_series *e;
    assert_int_equal(kd_metric_series(errs, NULL, &e), 0);
    kd_series_add(e, 3);
    struct kd_series *g;
    assert_int_equal(kd_metric_series(gauge, NULL, &g), 0);
    kd_series_set(g, 4.5);

    text = render(m);
    assert_string_equal(text, "# HELP kedastral_scaler_grpc_requests_total Total number of gRPC "
                              "requests by method and status\n"
                              "# TYPE kedastral_scaler_grpc_requests_total counter\n"
                              "kedastral_scaler_grpc_requests_total{method=\"IsActive\",status="
                              "\"active\"} 2\n"
                              "kedastral_scaler_grpc_requests_total{method=\"GetMetrics\",status="
                              "\"error\"} 1\n"
                              "# HELP kedastral_scaler_forecast_fetch_errors_total Total number "
                              "of errors fetching forecasts\n"
                              "# TYPE kedastral_scaler_forecast_fetch_errors_total counter\n"
                              "kedastral_scaler_forecast_fetch_errors_total 3\n"
                              "# HELP kedastral_scaler_desired_replicas_returned Last desired "
                              "replicas value returned to KEDA\n"
                              "# TYPE kedastral_scaler_desired_replicas_returned gauge\n"
                              "kedastral_scaler_desired_replicas_returned 4.5\n");
    free(text);
    kd_metrics_destroy(m);
}

static void test_label_and_help_escaping(void **state)
{
    (void)state;
    struct kd_metrics *m;
    struct kd_metric *w;
    struct kd_series *s;

    assert_int_equal(kd_metrics_create(&m), 0);
    assert_int_equal(kd_metrics_add(m,
                                    &(struct kd_metric_desc){
                                        .name = "w",
                                        .help = "back\\slash \"quoted\"\nnext",
                                        .type = KD_METRIC_GAUGE,
                                        .labels = {"workload"},
                                        .max_series = 2,
                                    },
                                    &w),
                     0);
    assert_int_equal(kd_metric_series(w, (const char *[]){"a\\b\"c\nd"}, &s), 0);
    kd_series_set(s, -2);
    char *text = render(m);
    /* HELP escapes \ and newline only; label values also escape the double quote. */
    assert_string_equal(text, "# HELP w back\\\\slash \"quoted\"\\nnext\n"
                              "# TYPE w gauge\n"
                              "w{workload=\"a\\\\b\\\"c\\nd\"} -2\n");
    free(text);
    kd_metrics_destroy(m);
}

static void test_histogram_default_buckets(void **state)
{
    (void)state;
    struct kd_metrics *m;
    struct kd_metric *h;
    struct kd_series *s;

    assert_int_equal(kd_metrics_create(&m), 0);
    assert_int_equal(kd_metrics_add(m,
                                    &(struct kd_metric_desc){
                                        .name = "d_seconds",
                                        .help = "Duration",
                                        .type = KD_METRIC_HISTOGRAM,
                                        .labels = {"method"},
                                        .max_series = 4,
                                    },
                                    &h),
                     0);
    assert_int_equal(kd_metric_series(h, (const char *[]){"GetMetrics"}, &s), 0);
    kd_series_observe(s, 0.005); /* on a bound: le is inclusive */
    kd_series_observe(s, 0.3);
    kd_series_observe(s, 11); /* only +Inf */
    char *text = render(m);
    assert_string_equal(text, "# HELP d_seconds Duration\n"
                              "# TYPE d_seconds histogram\n"
                              "d_seconds_bucket{method=\"GetMetrics\",le=\"0.005\"} 1\n"
                              "d_seconds_bucket{method=\"GetMetrics\",le=\"0.01\"} 1\n"
                              "d_seconds_bucket{method=\"GetMetrics\",le=\"0.025\"} 1\n"
                              "d_seconds_bucket{method=\"GetMetrics\",le=\"0.05\"} 1\n"
                              "d_seconds_bucket{method=\"GetMetrics\",le=\"0.1\"} 1\n"
                              "d_seconds_bucket{method=\"GetMetrics\",le=\"0.25\"} 1\n"
                              "d_seconds_bucket{method=\"GetMetrics\",le=\"0.5\"} 2\n"
                              "d_seconds_bucket{method=\"GetMetrics\",le=\"1\"} 2\n"
                              "d_seconds_bucket{method=\"GetMetrics\",le=\"2.5\"} 2\n"
                              "d_seconds_bucket{method=\"GetMetrics\",le=\"5\"} 2\n"
                              "d_seconds_bucket{method=\"GetMetrics\",le=\"10\"} 2\n"
                              "d_seconds_bucket{method=\"GetMetrics\",le=\"+Inf\"} 3\n"
                              "d_seconds_sum{method=\"GetMetrics\"} 11.305\n"
                              "d_seconds_count{method=\"GetMetrics\"} 3\n");
    free(text);
    kd_metrics_destroy(m);
}

static void test_unlabelled_histogram_from_start(void **state)
{
    (void)state;
    struct kd_metrics *m;
    struct kd_metric *h;
    static const double buckets[] = {1, 2};

    assert_int_equal(kd_metrics_create(&m), 0);
    assert_int_equal(kd_metrics_add(m,
                                    &(struct kd_metric_desc){
                                        .name = "f",
                                        .help = "F",
                                        .type = KD_METRIC_HISTOGRAM,
                                        .buckets = buckets,
                                        .n_buckets = 2,
                                    },
                                    &h),
                     0);
    char *text = render(m);
    assert_string_equal(text,
                        "# HELP f F\n# TYPE f histogram\n"
                        "f_bucket{le=\"1\"} 0\nf_bucket{le=\"2\"} 0\nf_bucket{le=\"+Inf\"} 0\n"
                        "f_sum 0\nf_count 0\n");
    free(text);
    kd_metrics_destroy(m);
}

static void test_bounded_series_and_remove(void **state)
{
    (void)state;
    struct kd_metrics *m;
    struct kd_metric *w;
    struct kd_series *s;

    assert_int_equal(kd_metrics_create(&m), 0);
    assert_int_equal(kd_metrics_add(m,
                                    &(struct kd_metric_desc){
                                        .name = "w",
                                        .help = "W",
                                        .type = KD_METRIC_GAUGE,
                                        .labels = {"workload"},
                                        .max_series = 2,
                                    },
                                    &w),
                     0);
    assert_int_equal(kd_metric_series(w, (const char *[]){"a"}, &s), 0);
    kd_series_set(s, 1);
    assert_int_equal(kd_metric_series(w, (const char *[]){"b"}, &s), 0);
    kd_series_set(s, 2);
    assert_int_equal(kd_metric_series(w, (const char *[]){"c"}, &s), -ENOSPC);
    kd_metric_remove(w, (const char *[]){"a"});
    kd_metric_remove(w, (const char *[]){"zzz"});
    assert_int_equal(kd_metric_series(w, (const char *[]){"c"}, &s), 0); /* a's slot */
    kd_series_set(s, 3);
    char *text = render(m);
    assert_string_equal(text,
                        "# HELP w W\n# TYPE w gauge\nw{workload=\"c\"} 3\nw{workload=\"b\"} 2\n");
    free(text);
    kd_metric_clear(w);
    text = render(m);
    assert_string_equal(text, "");
    free(text);
    /* Both slots are free again: two new series fit, a third does not. */
    assert_int_equal(kd_metric_series(w, (const char *[]){"d"}, &s), 0);
    assert_int_equal(kd_metric_series(w, (const char *[]){"e"}, &s), 0);
    assert_int_equal(kd_metric_series(w, (const char *[]){"f"}, &s), -ENOSPC);
    /* The separator cannot be part of a value. */
    assert_int_equal(kd_metric_series(w, (const char *[]){"x\x1fy"}, &s), -EINVAL);
    kd_metrics_destroy(m);
}

/* A hint finds its series again while the series holds the same values, and only then. */
static void test_series_hints(void **state)
{
    (void)state;
    struct kd_metrics *m;
    struct kd_metric *w;
    struct kd_series *a, *b;

    assert_int_equal(kd_metrics_create(&m), 0);
    assert_int_equal(kd_metrics_add(m,
                                    &(struct kd_metric_desc){
                                        .name = "w",
                                        .help = "W",
                                        .type = KD_METRIC_GAUGE,
                                        .labels = {"workload", "mode"},
                                        .max_series = 4,
                                    },
                                    &w),
                     0);
    assert_int_equal(kd_metric_series(w, (const char *[]){"web", "active"}, &a), 0);
    uint32_t hint = kd_series_hint(a);
    assert_int_not_equal(hint, 0);
    assert_ptr_equal(kd_metric_series_hinted(w, hint, (const char *[]){"web", "active"}), a);
    /* other values, a prefix, a longer value, a split in another place: not this series */
    assert_null(kd_metric_series_hinted(w, hint, (const char *[]){"web", "shadow"}));
    assert_null(kd_metric_series_hinted(w, hint, (const char *[]){"we", "active"}));
    assert_null(kd_metric_series_hinted(w, hint, (const char *[]){"web", "activ"}));
    assert_null(kd_metric_series_hinted(w, hint, (const char *[]){"web", "actives"}));
    assert_null(kd_metric_series_hinted(w, hint,
                                        (const char *[]){"web\x1f"
                                                         "active",
                                                         ""}));
    assert_null(kd_metric_series_hinted(w, hint, (const char *[]){"web", NULL}));
    /* out of range, or no hint */
    assert_null(kd_metric_series_hinted(w, 0, (const char *[]){"web", "active"}));
    assert_null(kd_metric_series_hinted(w, 5, (const char *[]){"web", "active"}));
    assert_null(kd_metric_series_hinted(w, UINT32_MAX, (const char *[]){"web", "active"}));
    /* removed, then its slot taken by other values: the old hint names nothing of web's */
    kd_metric_remove(w, (const char *[]){"web", "active"});
    assert_null(kd_metric_series_hinted(w, hint, (const char *[]){"web", "active"}));
    assert_int_equal(kd_metric_series(w, (const char *[]){"api", "active"}, &b), 0);
    assert_int_equal(kd_series_hint(b), hint);
    assert_null(kd_metric_series_hinted(w, hint, (const char *[]){"web", "active"}));
    assert_ptr_equal(kd_metric_series_hinted(w, hint, (const char *[]){"api", "active"}), b);
    kd_metrics_destroy(m);
}

static void test_bad_descriptions(void **state)
{
    (void)state;
    struct kd_metrics *m;
    struct kd_metric *x;
    static const double unsorted[] = {1, 0.5};

    assert_int_equal(kd_metrics_create(&m), 0);
    const struct kd_metric_desc bad[] = {
        {.name = "1abc", .help = "h", .type = KD_METRIC_GAUGE},
        {.name = "a-b", .help = "h", .type = KD_METRIC_GAUGE},
        {.name = "", .help = "h", .type = KD_METRIC_GAUGE},
        {.name = "ok", .help = NULL, .type = KD_METRIC_GAUGE},
        {.name = "ok", .help = "h", .type = KD_METRIC_GAUGE, .labels = {"__x"}, .max_series = 1},
        {.name = "ok", .help = "h", .type = KD_METRIC_GAUGE, .labels = {"a:b"}, .max_series = 1},
        {.name = "ok", .help = "h", .type = KD_METRIC_GAUGE, .labels = {"a"}, .max_series = 0},
        {.name = "ok", .help = "h", .type = KD_METRIC_GAUGE, .labels = {NULL, "a"}},
        {.name = "ok", .help = "h", .type = KD_METRIC_HISTOGRAM, .labels = {"le"}, .max_series = 1},
        {.name = "ok",
         .help = "h",
         .type = KD_METRIC_HISTOGRAM,
         .buckets = unsorted,
         .n_buckets = 2},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(kd_metrics_add(m, &bad[i], &x), -EINVAL);
    assert_int_equal(kd_metrics_add(m, &(struct kd_metric_desc){.name = "ok:x", .help = "h"}, &x),
                     0);
    assert_int_equal(kd_metrics_add(m, &(struct kd_metric_desc){.name = "ok:x", .help = "h"}, &x),
                     -EINVAL);
    kd_metrics_destroy(m);
}

static void test_format_value_like_go(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0, "0"},           {1, "1"},
        {-1, "-1"},         {0.1, "0.1"},
        {2.5, "2.5"},       {100, "100"},
        {123456, "123456"}, {1e6, "1e+06"},
        {1.7e9, "1.7e+09"}, {0.0001, "0.0001"},
        {0.00001, "1e-05"}, {1.0 / 3, "0.3333333333333333"},
        {INFINITY, "+Inf"}, {-INFINITY, "-Inf"},
        {NAN, "NaN"},
    };
    char buf[40];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kd_metrics_format_value(cases[i].v, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_registry_exact_text),
        cmocka_unit_test(test_label_and_help_escaping),
        cmocka_unit_test(test_histogram_default_buckets),
        cmocka_unit_test(test_unlabelled_histogram_from_start),
        cmocka_unit_test(test_bounded_series_and_remove),
        cmocka_unit_test(test_series_hints),
        cmocka_unit_test(test_bad_descriptions),
        cmocka_unit_test(test_format_value_like_go),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
