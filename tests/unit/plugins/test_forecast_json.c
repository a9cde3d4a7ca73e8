/* SPDX-License-Identifier: Apache-2.0 */
/* The shared forecast JSON parser: upstream's bodies and fixtures, then every rejection. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "forecast_json.h"

/* Exactly the bytes of upstream §1.3 (json.Encoder: alphabetical keys, one trailing \n). */
static const char realistic[] =
    "{\"desiredReplicas\":[5,6,6,7,7,8,8,8,8,8],\"generatedAt\":\"2026-06-24T10:15:30Z\","
    "\"horizonSeconds\":600,\"metric\":\"http_rps\",\"stepSeconds\":60,\"values\":[412.5,"
    "430.18,455.0000000000001,501.3,560,612.75,640.2,655,649.9,630.45],\"workload\":"
    "\"my-api\"}\n";

/* Parse from a heap copy of exactly strlen() bytes: no NUL, so ASan sees any overread. */
static int parse_exact(const char *json, size_t len, struct kd_forecast_doc **ret_doc, char *err,
                       size_t err_len)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, json, len);
    int rc = kd_forecast_json_parse(copy, len, ret_doc, err, err_len);
    free(copy); /* the doc must not point into the input */
    return rc;
}

static struct kd_forecast_doc *parse_ok(const char *json)
{
    struct kd_forecast_doc *doc = NULL;
    char err[256];

    int rc = parse_exact(json, strlen(json), &doc, err, sizeof(err));
    if (rc != 0)
        fail_msg("parse failed: %s", err);
    assert_string_equal(err, "");
    assert_non_null(doc);
    return doc;
}

static void expect_error(const char *json, const char *message)
{
    struct kd_forecast_doc *doc = (struct kd_forecast_doc *)&doc; /* sentinel */
    char err[256];

    int rc = parse_exact(json, strlen(json), &doc, err, sizeof(err));
    assert_int_equal(rc, -EINVAL);
    assert_ptr_equal(doc, (struct kd_forecast_doc *)&doc); /* untouched */
    if (strstr(err, message) == NULL)
        fail_msg("input %.80s\n  error \"%s\"\n  lacks \"%s\"", json, err, message);
}

static void test_realistic_body(void **state)
{
    struct kd_forecast_doc *doc = parse_ok(realistic);
    const struct kd_forecast *f = &doc->forecasts[0];
    static const int64_t replicas[] = {5, 6, 6, 7, 7, 8, 8, 8, 8, 8};

    (void)state;
    assert_int_equal(doc->n_forecasts, 1);
    assert_string_equal(f->workload, "my-api");
    assert_string_equal(f->metric, "http_rps");
    assert_int_equal(f->generated_at_ms, 1782296130000); /* date -d 2026-06-24T10:15:30Z */
    assert_int_equal(f->step_seconds, 60);
    assert_int_equal(f->horizon_seconds, 600);
    assert_int_equal(f->n_values, 10);
    assert_true(f->values[0] == 412.5);
    assert_true(f->values[2] == 455.0000000000001);
    assert_true(f->values[4] == 560.0);
    assert_int_equal(f->n_desired_replicas, 10);
    assert_memory_equal(f->desired_replicas, replicas, sizeof(replicas));
    kd_forecast_json_free(doc);
}

/* Upstream's scaler tests encode storage.Snapshot without JSON tags: Go's field names. */
static void test_go_fixture_casing(void **state)
{
    struct kd_forecast_doc *doc =
        parse_ok("{\"Workload\":\"my-api\",\"Metric\":\"\",\"GeneratedAt\":\"2025-12-21T10:00:00."
                 "123456789Z\",\"StepSeconds\":60,\"HorizonSeconds\":0,\"Values\":null,"
                 "\"DesiredReplicas\":[2,2,3,3,4,5]}");
    const struct kd_forecast *f = &doc->forecasts[0];

    (void)state;
    assert_string_equal(f->workload, "my-api");
    assert_int_equal(f->generated_at_ms, 1766311200123); /* date -d ...10:00:00.123Z */
    assert_int_equal(f->step_seconds, 60);
    assert_int_equal(f->n_values, 0);
    assert_int_equal(f->n_desired_replicas, 6);
    assert_int_equal(f->desired_replicas[5], 5);
    kd_forecast_json_free(doc);

    doc = parse_ok("{\"WORKLOAD\":\"x\",\"gEnErAtEdAt\":\"2025-10-16T17:35:00Z\"}");
    assert_string_equal(doc->forecasts[0].workload, "x");
    assert_int_equal(doc->forecasts[0].generated_at_ms, 1760636100000);
    kd_forecast_json_free(doc);
}

static void test_offsets_and_fractions(void **state)
{
    static const struct {
        const char *json;
        int64_t ms;
    } rows[] = {
        {"{\"generatedAt\":\"2025-10-16T19:35:00+02:00\"}", 1760636100000},
        {"{\"generatedAt\":\"2025-10-16T12:05:00-05:30\"}", 1760636100000},
        {"{\"generatedAt\":\"2025-10-16T19:35:00.123456789+02:00\"}", 1760636100123},
        {"{\"generatedAt\":\"2025-10-16T17:35:00.5Z\"}", 1760636100500},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct kd_forecast_doc *doc = parse_ok(rows[i].json);
        assert_int_equal(doc->forecasts[0].generated_at_ms, rows[i].ms);
        kd_forecast_json_free(doc);
    }
}

/* Missing and null mean zero, as encoding/json leaves the field alone. */
static void test_missing_and_null(void **state)
{
    static const char *const bodies[] = {
        "{}",
        ("{\"workload\":null,\"metric\":null,\"generatedAt\":null,\"stepSeconds\":null,"
         "\"horizonSeconds\":null,\"values\":null,\"desiredReplicas\":null}"),
        "{\"error\":\"snapshot not found\"}", /* an error body served with 200 */
        "{\"values\":[],\"desiredReplicas\":[]}",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct kd_forecast_doc *doc = parse_ok(bodies[i]);
        const struct kd_forecast *f = &doc->forecasts[0];
        assert_string_equal(f->workload, "");
        assert_string_equal(f->metric, "");
        assert_int_equal(f->generated_at_ms, 0);
        assert_int_equal(f->step_seconds, 0);
        assert_int_equal(f->horizon_seconds, 0);
        assert_int_equal(f->n_values, 0);
        assert_int_equal(f->n_desired_replicas, 0);
        kd_forecast_json_free(doc);
    }
}

static void test_unknown_and_duplicate_keys(void **state)
{
    /* "quantiles" breaks upstream's decoder (float map keys); we skip it like any other. */
    struct kd_forecast_doc *doc =
        parse_ok("{\"workload\":\"a\",\"quantiles\":{\"0.9\":[1,2.5,{\"deep\":[null,true]}]},"
                 "\"stepSeconds\":30,\"extra\":[1.5e300,-0.0],\"stepSeconds\":60,"
                 "\"desiredReplicas\":[1],\"DesiredReplicas\":[7,8]}  \r\n\t");
    const struct kd_forecast *f = &doc->forecasts[0];

    (void)state;
    assert_int_equal(f->step_seconds, 60); /* the last duplicate wins */
    assert_int_equal(f->n_desired_replicas, 2);
    assert_int_equal(f->desired_replicas[0], 7);
    kd_forecast_json_free(doc);
}

/* Number literals are paired with their nodes by position: strings full of digits,
 * escaped quotes and minus signs before the integers must not shift the pairing. */
static void test_numbers_after_tricky_strings(void **state)
{
    struct kd_forecast_doc *doc =
        parse_ok("{\"metric\":\"-1 2.5e3 \\\"7\\\" \\\\\",\"9\":\"0.5\",\"workload\":\"w-2.0\","
                 "\"values\":[-0.25,1E+2,0],\"stepSeconds\":15,\"desiredReplicas\":[0,"
                 "9223372036854775807]}");
    const struct kd_forecast *f = &doc->forecasts[0];

    (void)state;
    assert_string_equal(f->metric, "-1 2.5e3 \"7\" \\");
    assert_string_equal(f->workload, "w-2.0");
    assert_true(f->values[0] == -0.25 && f->values[1] == 100.0 && f->values[2] == 0.0);
    assert_int_equal(f->step_seconds, 15);
    assert_int_equal(f->desired_replicas[1], INT64_MAX);
    kd_forecast_json_free(doc);
}

static void test_array_document(void **state)
{
    struct kd_forecast_doc *doc = parse_ok(
        "[\n  {\"workload\":\"a\",\"generatedAt\":\"2025-10-16T17:35:00Z\",\"stepSeconds\":60,"
        "\"desiredReplicas\":[1,2]},\n  {\"workload\":\"b\",\"generatedAt\":"
        "\"2025-10-16T17:36:00Z\",\"stepSeconds\":30,\"values\":[1.5]},\n"
        "  {\"workload\":\"a\",\"generatedAt\":\"2025-10-16T17:36:00Z\"}\n]\n");

    (void)state;
    assert_int_equal(doc->n_forecasts, 3);
    assert_string_equal(doc->forecasts[0].workload, "a");
    assert_int_equal(doc->forecasts[0].n_desired_replicas, 2);
    assert_string_equal(doc->forecasts[1].workload, "b");
    assert_int_equal(doc->forecasts[1].step_seconds, 30);
    assert_true(doc->forecasts[1].values[0] == 1.5);
    assert_int_equal(doc->forecasts[2].generated_at_ms, 1760636160000);
    kd_forecast_json_free(doc);
}

static void test_reject_document_shape(void **state)
{
    (void)state;
    expect_error("", "empty document");
    expect_error(" \n\t ", "empty document");
    expect_error("[]", "an empty array holds no forecast");
    expect_error("[1,2,3]", "[0]: expected a forecast object, got a number");
    expect_error("[{},null]", "[1]: expected a forecast object, got null");
    expect_error("42", "expected a forecast object or an array of them, got a number");
    expect_error("\"x\"", "got a string");
    expect_error("null", "got null");
    expect_error("true", "got a boolean");
    expect_error("{", "invalid JSON at line 1, column 1"); /* cJSON points at the last byte */
    expect_error("[1,]", "invalid JSON at line 1, column 4");
    expect_error("{\n  \"workload\": \"a\",\n  oops\n}", "invalid JSON at line 3, column");
    expect_error("{\"values\":[NaN]}", "invalid JSON");
    expect_error("{\"values\":[Infinity]}", "invalid JSON");
    expect_error("{\"values\":[-Infinity]}", "invalid JSON");
    expect_error("{} x", "unexpected data after the JSON value at line 1, column 4");
    expect_error("{}{}", "unexpected data after the JSON value");
}

/* cJSON reads numbers with strtod, which takes more than JSON allows. */
static void test_reject_number_syntax(void **state)
{
    (void)state;
    expect_error("{\"stepSeconds\":01}", "line 1, column 16: invalid number \"01\"");
    expect_error("{\"values\":[1.]}", "invalid number \"1.\"");
    expect_error("{\"values\":[-.5]}", "invalid number \"-.5\"");
    expect_error("{\"values\":[1e]}", "invalid JSON");
    expect_error("{\"unknown\":[1,2,0x10]}", "invalid JSON");
    expect_error("{\"unknown\":[00]}", "invalid number \"00\"");
}

static void test_reject_types(void **state)
{
    static const struct {
        const char *json;
        const char *message;
    } rows[] = {
        {"{\"stepSeconds\":60.0}", "stepSeconds: not an integer (60.0)"},
        {"{\"stepSeconds\":1e2}", "stepSeconds: not an integer (1e2)"},
        {"{\"stepSeconds\":\"60\"}", "stepSeconds: expected an integer, got a string"},
        {"{\"stepSeconds\":-60}", "stepSeconds: must not be negative (-60)"},
        {"{\"stepSeconds\":true}", "stepSeconds: expected an integer, got a boolean"},
        {"{\"stepSeconds\":99999999999999999999}", "stepSeconds: out of the int64 range"},
        {"{\"horizonSeconds\":1.5}", "horizonSeconds: not an integer (1.5)"},
        {"{\"horizonSeconds\":-1}", "horizonSeconds: must not be negative (-1)"},
        {"{\"desiredReplicas\":[1,2,3,2.5]}", "desiredReplicas[3]: not an integer (2.5)"},
        {"{\"desiredReplicas\":[1,-1]}", "desiredReplicas[1]: negative (-1)"},
        {"{\"desiredReplicas\":[9223372036854775808]}",
         "desiredReplicas[0]: out of the int64 range (9223372036854775808)"},
        {"{\"desiredReplicas\":[-9223372036854775809]}", "desiredReplicas[0]: out of the int64"},
        {"{\"desiredReplicas\":[1000000000000000000000000000000000000000]}",
         "desiredReplicas[0]: out of the int64 range"},
        {"{\"desiredReplicas\":[1,\"2\"]}",
         "desiredReplicas[1]: expected an integer, got a string"},
        {"{\"desiredReplicas\":[null]}", "desiredReplicas[0]: expected an integer, got null"},
        {"{\"desiredReplicas\":{}}", "desiredReplicas: expected an array, got an object"},
        {"{\"desiredReplicas\":3}", "desiredReplicas: expected an array, got a number"},
        {"{\"values\":\"x\"}", "values: expected an array, got a string"},
        {"{\"values\":[1,\"x\"]}", "values[1]: expected a number, got a string"},
        {"{\"values\":[1,[2]]}", "values[1]: expected a number, got an array"},
        {"{\"values\":[1e999]}", "values[0]: out of range (1e999)"},
        {"{\"values\":[0,-1e400]}", "values[1]: out of range (-1e400)"},
        {"{\"workload\":5}", "workload: expected a string, got a number"},
        {"{\"metric\":[]}", "metric: expected a string, got an array"},
        {"{\"workload\":\"a\\u0001b\"}", "workload: contains a control character"},
        {"{\"workload\":\"a\\nb\"}", "workload: contains a control character"},
        {"{\"generatedAt\":\"2025-10-16 17:35:00\"}",
         "generatedAt: \"2025-10-16 17:35:00\" is not an RFC 3339 time"},
        {"{\"generatedAt\":\"yesterday\"}", "is not an RFC 3339 time"},
        {"{\"generatedAt\":\"2025-02-30T00:00:00Z\"}",
         "generatedAt: \"2025-02-30T00:00:00Z\" has a field out of range"},
        {"{\"generatedAt\":1760636100}", "generatedAt: expected an RFC 3339 string, got a number"},
        {"[{\"workload\":\"a\"},{\"workload\":\"b\",\"stepSeconds\":-1}]",
         "[1].stepSeconds: must not be negative (-1)"},
        {"[{},{},{\"desiredReplicas\":[0,0.5]}]", "[2].desiredReplicas[1]: not an integer (0.5)"},
        {"{\"GeneratedAt\":\"2025-10-16T17:35:00Z\",\"generatedat\":\"bad\"}",
         "generatedAt: \"bad\""}, /* the last duplicate is the one checked */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        expect_error(rows[i].json, rows[i].message);
}

/* A whole message, to pin the format "<where>: <what>". */
static void test_exact_message(void **state)
{
    struct kd_forecast_doc *doc = NULL;
    char err[256];
    const char *json = "[{\"workload\":\"a\"},{\"desiredReplicas\":[1,2,3,2.5]}]";

    (void)state;
    assert_int_equal(parse_exact(json, strlen(json), &doc, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "[1].desiredReplicas[3]: not an integer (2.5)");
    /* a short buffer still ends in NUL; a zero-length one is left alone */
    assert_int_equal(parse_exact(json, strlen(json), &doc, err, 8), -EINVAL);
    assert_string_equal(err, "[1].des");
    assert_int_equal(parse_exact(json, strlen(json), &doc, NULL, 0), -EINVAL);
    assert_null(doc);
}

static char *repeat(const char *head, const char *item, size_t n, const char *tail)
{
    size_t len = strlen(head) + n * (strlen(item) + 1) + strlen(tail) + 1;
    char *s = malloc(len), *p = s;

    assert_non_null(s);
    p += sprintf(p, "%s", head);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "," : "", item);
    sprintf(p, "%s", tail);
    return s;
}

static void test_reject_sizes(void **state)
{
    (void)state;
    char *s = repeat("{\"values\":[", "1", KD_FORECAST_JSON_MAX_POINTS, "]}");
    struct kd_forecast_doc *doc = parse_ok(s); /* at the cap: fine */
    assert_int_equal(doc->forecasts[0].n_values, KD_FORECAST_JSON_MAX_POINTS);
    kd_forecast_json_free(doc);
    free(s);

    s = repeat("{\"values\":[", "1", KD_FORECAST_JSON_MAX_POINTS + 1, "]}");
    expect_error(s, "values: more than 100000 elements");
    free(s);
    s = repeat("{\"desiredReplicas\":[", "1", KD_FORECAST_JSON_MAX_POINTS + 1, "]}");
    expect_error(s, "desiredReplicas: more than 100000 elements");
    free(s);
    s = repeat("[", "{}", KD_FORECAST_JSON_MAX_FORECASTS + 1, "]");
    expect_error(s, "more than 10000 forecasts in one document");
    free(s);

    /* 33 levels inside an unknown key */
    char deep[256];
    snprintf(deep, sizeof(deep), "{\"x\":%.*s%.*s}", 32, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 32,
             "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
    expect_error(deep, "nesting deeper than 32 levels");
    snprintf(deep, sizeof(deep), "{\"x\":%.*s%.*s}", 31, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 31,
             "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
    kd_forecast_json_free(parse_ok(deep));

    /* cJSON's own limit (1000) turns deeper input into a syntax error, never a stack overflow */
    s = repeat("", "[", 5000, "");
    expect_error(s, "invalid JSON");
    free(s);

    /* The size check comes before any read, so the buffer need not be that long. */
    char err[128];
    assert_int_equal(
        kd_forecast_json_parse("{}", KD_FORECAST_JSON_MAX_BYTES + 1u, &doc, err, sizeof(err)),
        -EINVAL);
    assert_non_null(strstr(err, "document of 67108865 bytes, at most 67108864"));
}

/* len bounds the input: a prefix of a valid document is judged on its own. */
static void test_length_bounds_input(void **state)
{
    struct kd_forecast_doc *doc = NULL;
    char err[128];

    (void)state;
    assert_int_equal(parse_exact(realistic, 10, &doc, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "invalid JSON"));
    assert_int_equal(kd_forecast_json_parse("{}garbage", 2, &doc, err, sizeof(err)), 0);
    kd_forecast_json_free(doc);
    /* an embedded NUL inside len is data, not an end */
    assert_int_equal(kd_forecast_json_parse("{}\0{}", 5, &doc, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "unexpected data after the JSON value"));
    kd_forecast_json_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_realistic_body),
        cmocka_unit_test(test_go_fixture_casing),
        cmocka_unit_test(test_offsets_and_fractions),
        cmocka_unit_test(test_missing_and_null),
        cmocka_unit_test(test_unknown_and_duplicate_keys),
        cmocka_unit_test(test_numbers_after_tricky_strings),
        cmocka_unit_test(test_array_document),
        cmocka_unit_test(test_reject_document_shape),
        cmocka_unit_test(test_reject_number_syntax),
        cmocka_unit_test(test_reject_types),
        cmocka_unit_test(test_exact_message),
        cmocka_unit_test(test_reject_sizes),
        cmocka_unit_test(test_length_bounds_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
