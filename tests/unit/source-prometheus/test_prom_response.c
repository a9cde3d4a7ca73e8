/* SPDX-License-Identifier: Apache-2.0 */
/* plugins/source-prometheus/prom_response.c: query_range bodies, good and bad. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prom_response.h"

/* Five points at 60 s from 1700000000.5 s. */
static const struct kd_prom_range range = {
    .start_ms = 1700000000500, .end_ms = 1700000240500, .n_points = 5, .row = 0, .first = 0};
#define STEP 60000

static int parse(const char *body, double *points, size_t *n_series, char *err, size_t err_len)
{
    return kd_prom_response_parse(body, strlen(body), &range, STEP, points, n_series, err, err_len);
}

static void one_series_with_gaps(void **state)
{
    const char *body =
        "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":"
        "{\"job\":\"a\"},\"values\":[[1700000000.5,\"1.5\"],[1700000120.5,\"-2e3\"],"
        "[1700000240.5,\"0\"]]}]},\"warnings\":[\"x\"]}\n";
    double p[5];
    size_t n = 9;
    char err[256];

    (void)state;
    assert_int_equal(parse(body, p, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_float_equal(p[0], 1.5, 0);
    assert_true(isnan(p[1]));
    assert_float_equal(p[2], -2000, 0);
    assert_true(isnan(p[3]));
    assert_float_equal(p[4], 0, 0);
}

static void empty_result_is_all_missing(void **state)
{
    double p[5];
    size_t n = 9;
    char err[256];

    (void)state;
    assert_int_equal(
        parse("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}", p, &n,
              err, sizeof(err)),
        0);
    assert_int_equal(n, 0);
    for (int j = 0; j < 5; j++)
        assert_true(isnan(p[j]));
}

static void status_error_keeps_prometheus_words(void **state)
{
    double p[5];
    size_t n;
    char err[256];

    (void)state;
    assert_int_equal(parse("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:5: "
                           "parse error: unclosed left parenthesis\"}",
                           p, &n, err, sizeof(err)),
                     -EPROTO);
    assert_string_equal(err, "bad_data: 1:5: parse error: unclosed left parenthesis");
    assert_int_equal(parse("{\"status\":\"error\"}", p, &n, err, sizeof(err)), -EPROTO);
    assert_string_equal(err, "error: (no error text)");
}

static void several_series_are_named(void **state)
{
    char body[2048] = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[";
    double p[5];
    size_t n;
    char err[512];

    (void)state;
    for (int i = 0; i < 5; i++)
        snprintf(body + strlen(body), sizeof(body) - strlen(body),
                 "%s{\"metric\":{\"__name__\":\"rps\",\"pod\":\"p%d\"},\"values\":[]}",
                 i ? "," : "", i);
    strcat(body, "]}}");
    assert_int_equal(parse(body, p, &n, err, sizeof(err)), -E2BIG);
    assert_non_null(strstr(err, "5 series"));
    assert_non_null(strstr(err, "{__name__=\"rps\", pod=\"p0\"}, {__name__=\"rps\", pod=\"p1\"}, "
                                "{__name__=\"rps\", pod=\"p2\"}, ..."));
    assert_null(strstr(err, "p3"));
    /* A small buffer truncates, never overflows. */
    char tiny[40];
    assert_int_equal(parse(body, p, &n, tiny, sizeof(tiny)), -E2BIG);
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
}

static void non_finite_values_are_refused(void **state)
{
    static const struct {
        const char *value;
        const char *words;
    } rows[] = {{"NaN", "NaN at 2023-11-14T22:14:20.500Z"},
                {"+Inf", "+Inf"},
                {"-Inf", "-Inf"},
                {"Inf", "+Inf"}};
    char body[256];
    double p[5];
    size_t n;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{"
                 "\"metric\":{},\"values\":[[1700000060.5,\"%s\"]]}]}}",
                 rows[i].value);
        assert_int_equal(parse(body, p, &n, err, sizeof(err)), -ERANGE);
        assert_non_null(strstr(err, rows[i].words));
    }
}

static void malformed_bodies(void **state)
{
#define MATRIX(values)                                                                             \
    "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"      \
    "\"values\":" values "}]}}"
    static const struct {
        const char *body;
        const char *words;
    } rows[] = {
        {"", "empty body"},
        {"<html>502 Bad Gateway</html>", "not JSON (at byte 0)"},
        {"{\"status\":\"success\"", "not JSON"},
        {"{\"status\":\"success\",\"data\":{}} x", "trailing"},
        {"{\"status\":\"ok\"}", "neither"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}",
         "not a matrix"},
        {MATRIX("[[1700000060.5,\"abc\"]]"), "\"abc\" at 2023-11-14T22:14:20.500Z is not a number"},
        {MATRIX("[[1700000060.5,\"1.5x\"]]"), "is not a number"},
        {MATRIX("[[1700000060.5,\"0x10\"]]"), "is not a number"},
        {MATRIX("[[1700000060.5,\"\"]]"), "is not a number"},
        {MATRIX("[[1700000060.5,1.5]]"), "not a string"},
        {MATRIX("[[1700000060.5]]"), "pair"},
        {MATRIX("[[\"1700000060.5\",\"1\"]]"), "pair"},
        {MATRIX("{}"), "not an array"},
        {MATRIX("[[1700000061.5,\"1\"]]"), "not on the query's grid"},
        {MATRIX("[[1700000300.5,\"1\"]]"), "not on the query's grid"}, /* past the end */
        {MATRIX("[[1699999940.5,\"1\"]]"), "not on the query's grid"}, /* before the start */
        {MATRIX("[[1700000060.5,\"1\"],[1700000060.5,\"2\"]]"), "twice"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
         "\"histograms\":[]}]}}",
         "native histograms"},
    };
#undef MATRIX
    double p[5];
    size_t n;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int rc = parse(rows[i].body, p, &n, err, sizeof(err));
        if (rc != -EBADMSG || !strstr(err, rows[i].words))
            fail_msg("row %zu: rc %d err \"%s\", wanted \"%s\"", i, rc, err, rows[i].words);
    }
}

/* Only `len` bytes are read: a body cut mid-way is malformed even if the buffer goes on. */
static void reads_only_len_bytes(void **state)
{
    const char *body =
        "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}GARBAGE";
    double p[5];
    size_t n;
    char err[256];

    (void)state;
    assert_int_equal(
        kd_prom_response_parse(body, strlen(body) - 7, &range, STEP, p, &n, err, sizeof(err)), 0);
    assert_int_equal(kd_prom_response_parse(body, 20, &range, STEP, p, &n, err, sizeof(err)),
                     -EBADMSG);
}

/* Streamed in two pieces cut anywhere, or byte by byte: the outcome of the whole body. */
static void every_split_agrees(void **state)
{
    static const char *const bodies[] = {
        "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":"
        "{\"job\":\"a\"},\"values\":[[1700000000.5,\"1.5\"],[1700000120.5,\"-2e3\"]]}]}}",
        "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"caf\\u00e9\"}",
        "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":"
        "{\"a\":\"1\",\"b\":2}},{},3,{\"metric\":[\"x\"]}]}}",
        "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"values\":"
        "[[1700000060.5,\"1\"],[1700000060.5,\"2\"]]}]}}",
        "{\"data\":{\"result\":[],\"resultType\":\"matrix\"},\"status\":\"success\","
        "\"status\":\"error\"}",
        "{\"status\":\"success\",\"data\":{}} x",
        "<html>502</html>",
        "",
    };
    double whole_p[5], split_p[5];
    char whole_err[512], split_err[512];
    size_t n_whole = 0, n_split = 0;

    (void)state;
    for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
        const char *body = bodies[b];
        size_t len = strlen(body);
        int whole = kd_prom_response_parse(body, len, &range, STEP, whole_p, &n_whole, whole_err,
                                           sizeof(whole_err));
        for (size_t cut = 0; cut <= len + 1; cut++) {
            struct kd_prom_response *r;
            int rc = 0;
            assert_int_equal(kd_prom_response_new(&range, STEP, split_p, &r), 0);
            if (cut <= len) { /* two pieces */
                rc = kd_prom_response_feed(r, body, cut, split_err, sizeof(split_err));
                if (rc == 0)
                    rc = kd_prom_response_feed(r, body + cut, len - cut, split_err,
                                               sizeof(split_err));
            } else { /* byte by byte */
                for (size_t i = 0; i < len && rc == 0; i++)
                    rc = kd_prom_response_feed(r, body + i, 1, split_err, sizeof(split_err));
            }
            if (rc == 0)
                rc = kd_prom_response_finish(r, &n_split, split_err, sizeof(split_err));
            kd_prom_response_free(r);
            assert_int_equal(rc, whole);
            assert_string_equal(split_err, whole_err);
            if (rc == 0) {
                assert_int_equal(n_split, n_whole);
                assert_memory_equal(split_p, whole_p, sizeof(whole_p));
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_series_with_gaps),
        cmocka_unit_test(empty_result_is_all_missing),
        cmocka_unit_test(status_error_keeps_prometheus_words),
        cmocka_unit_test(several_series_are_named),
        cmocka_unit_test(non_finite_values_are_refused),
        cmocka_unit_test(malformed_bodies),
        cmocka_unit_test(reads_only_len_bytes),
        cmocka_unit_test(every_split_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
