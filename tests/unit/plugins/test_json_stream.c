/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The streaming tokenizer (plugins/common/json_stream.c) and the forecast parser built on it:
 * tokens and errors, then the same outcome for every way of splitting each sample.
 */
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
#include "json_stream.h"

/* Tokens written out one per line, so that two runs compare as strings. */
struct trace {
    char text[8192];
    size_t len;
    int stop_at; /* the callback fails at this token (counting from 1), 0: never */
    int count;
};

static const char *const event_names[] = {"{", "}", "[",    "]",     "K",
                                          "S", "N", "true", "false", "null"};

__attribute__((format(printf, 2, 3))) static void put(struct trace *tr, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(tr->text + tr->len, sizeof(tr->text) - tr->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(tr->text) - tr->len);
    tr->len += (size_t)n;
}

static int record(void *ctx, const struct kd_json_token *t, char *err, size_t err_len)
{
    struct trace *tr = ctx;

    put(tr, "%s d%zu %zu:%zu", event_names[t->event], t->depth, t->line, t->column);
    if (t->text) {
        put(tr, " <");
        for (size_t i = 0; i < t->len; i++)
            put(tr, (unsigned char)t->text[i] < 0x20 ? "\\x%02x" : "%c", (unsigned char)t->text[i]);
        put(tr, ">");
    }
    if (t->event == KD_JSON_NUMBER)
        put(tr, " %.17g%s", strtod(t->text, NULL), t->is_integer ? " int" : "");
    if (t->is_cut)
        put(tr, " cut");
    put(tr, "\n");
    if (++tr->count == tr->stop_at) {
        snprintf(err, err_len, "stopped at token %d", tr->count);
        return -ECANCELED;
    }
    return 0;
}

/* Tokenizes `json` fed in the pieces that `cuts` (ascending offsets, n_cuts) make. */
static int run(const char *json, size_t len, const size_t *cuts, size_t n_cuts, int stop_at,
               struct trace *tr, char *err, size_t err_len)
{
    struct kd_json_stream *s;
    size_t at = 0;
    int rc = 0;

    memset(tr, 0, sizeof(*tr));
    tr->stop_at = stop_at;
    assert_int_equal(kd_json_stream_new(8, 64, record, tr, &s), 0);
    for (size_t i = 0; i <= n_cuts && rc == 0; i++) {
        size_t end = i < n_cuts ? cuts[i] : len;
        /* a heap copy of exactly the piece: ASan sees any read past it */
        char *piece = malloc(end - at + 1);
        assert_non_null(piece);
        memcpy(piece, json + at, end - at);
        rc = kd_json_stream_feed(s, piece, end - at, err, err_len);
        free(piece);
        at = end;
    }
    if (rc == 0)
        rc = kd_json_stream_finish(s, err, err_len);
    char again[KD_JSON_STREAM_ERR_MAX];
    if (rc < 0) { /* a failed stream stays failed, with the same words */
        assert_int_equal(kd_json_stream_feed(s, "1", 1, again, sizeof(again)), rc);
        assert_string_equal(again, err);
    }
    kd_json_stream_free(s);
    return rc;
}

/* Whole, then cut once at every offset, then twice around every offset, then byte by byte. */
static void check_every_split(const char *json, int stop_at)
{
    size_t len = strlen(json);
    struct trace whole, split;
    char err_whole[KD_JSON_STREAM_ERR_MAX], err_split[KD_JSON_STREAM_ERR_MAX];
    int rc = run(json, len, NULL, 0, stop_at, &whole, err_whole, sizeof(err_whole));
    size_t *cuts = malloc((len + 1) * sizeof(*cuts));

    assert_non_null(cuts);
    for (size_t at = 0; at <= len; at++) {
        size_t two[2] = {at, at + 1 <= len ? at + 1 : len};
        for (size_t n = 1; n <= 2; n++) {
            assert_int_equal(run(json, len, two, n, stop_at, &split, err_split, sizeof(err_split)),
                             rc);
            assert_string_equal(split.text, whole.text);
            assert_string_equal(err_split, err_whole);
        }
    }
    for (size_t i = 0; i < len; i++)
        cuts[i] = i;
    assert_int_equal(run(json, len, cuts, len, stop_at, &split, err_split, sizeof(err_split)), rc);
    assert_string_equal(split.text, whole.text);
    assert_string_equal(err_split, err_whole);
    free(cuts);
}

static void expect_tokens(const char *json, const char *tokens)
{
    struct trace tr;
    char err[KD_JSON_STREAM_ERR_MAX];

    int rc = run(json, strlen(json), NULL, 0, 0, &tr, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s: %s", json, err);
    assert_string_equal(tr.text, tokens);
    check_every_split(json, 0);
}

static void expect_error(const char *json, const char *message)
{
    struct trace tr;
    char err[KD_JSON_STREAM_ERR_MAX];

    assert_int_equal(run(json, strlen(json), NULL, 0, 0, &tr, err, sizeof(err)), -EINVAL);
    if (strcmp(err, message) != 0)
        fail_msg("input %.60s\n  error \"%s\"\n  not   \"%s\"", json, err, message);
    check_every_split(json, 0);
}

static void test_tokens(void **state)
{
    (void)state;
    expect_tokens("{\"a\":[1,-2.5e3,true,false,null],\"b\":{}}\n",
                  "{ d0 1:1\nK d1 1:2 <a>\n[ d1 1:6\nN d2 1:7 <1> 1 int\n"
                  "N d2 1:9 <-2.5e3> -2500\ntrue d2 1:16\nfalse d2 1:21\nnull d2 1:27\n"
                  "] d1 1:31\nK d1 1:33 <b>\n{ d1 1:37\n} d1 1:38\n} d0 1:39\n");
    expect_tokens(" 42 ", "N d0 1:2 <42> 42 int\n");
    expect_tokens("0", "N d0 1:1 <0> 0 int\n");
    expect_tokens("-0.0", "N d0 1:1 <-0.0> -0\n");
    expect_tokens("1e999", "N d0 1:1 <1e999> inf\n");
    expect_tokens("[\n\t[]\r\n]", "[ d0 1:1\n[ d1 2:2\n] d1 2:3\n] d0 3:1\n");
    expect_tokens("\"\"", "S d0 1:1 <>\n");
}

static void test_strings(void **state)
{
    (void)state;
    expect_tokens("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "S d0 1:1 <\"\\/\\x08\\x0c\\x0a\\x0d\\x09>\n");
    expect_tokens("\"\\u0041\\u00e9\\u20AC\"", "S d0 1:1 <A\xc3\xa9\xe2\x82\xac>\n");
    expect_tokens("\"\\ud83d\\ude00\"", "S d0 1:1 <\xf0\x9f\x98\x80>\n"); /* a pair */
    expect_tokens("\"a\\u0000b\"", "S d0 1:1 <a\\x00b>\n");
    expect_tokens("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\x7f\"",
                  "S d0 1:1 <\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\x7f>\n");
    expect_tokens("\"\xed\x9f\xbf\xee\x80\x80\"", "S d0 1:1 <\xed\x9f\xbf\xee\x80\x80>\n");
}

static void test_reject_strings(void **state)
{
    static const char *const bad_utf8[] = {
        "\"\x80\"",
        "\"\xc0\xaf\"",
        "\"\xc1\xbf\"",
        "\"\xe0\x80\xaf\"",
        "\"\xed\xa0\x80\"",
        "\"\xf0\x80\x80\xaf\"",
        "\"\xf4\x90\x80\x80\"",
        "\"\xf5\x80\x80\x80\"",
        "\"\xff\"",
        "\"\xc3\"",
        "\"\xe2\x82\"",
        "\"\xc3\x41\"",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
        struct trace tr;
        char err[KD_JSON_STREAM_ERR_MAX];
        const char *json = bad_utf8[i];
        assert_int_equal(run(json, strlen(json), NULL, 0, 0, &tr, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "invalid UTF-8 in a string"));
        check_every_split(json, 0);
    }
    expect_error("\"a\tb\"", "invalid JSON at line 1, column 3: a control character in a string "
                             "(it must be escaped)");
    expect_error("\"\\x\"", "invalid JSON at line 1, column 3: an invalid escape in a string");
    expect_error("\"\\u12g4\"", "invalid JSON at line 1, column 6: an invalid \\u escape");
    expect_error("\"\\ud83d\"", "invalid JSON at line 1, column 8: a high surrogate without its "
                                "low half");
    expect_error("\"\\ud83d\\u0041\"", "invalid JSON at line 1, column 13: a high surrogate "
                                       "without its low half");
    expect_error("\"\\ude00\"", "invalid JSON at line 1, column 7: a low surrogate without its "
                                "high half");
    expect_error("\"abc", "invalid JSON at line 1, column 4: the document ends early");
    /* max_token is 64 here: a longer string is handed on cut, still checked to its end */
    expect_tokens(
        "[\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\","
        "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxy\\u00e9\"]",
        "[ d0 1:1\nS d1 1:2 <xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx>\nS "
        "d1 1:69 <xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx> cut\n] d0 "
        "1:142\n");
    expect_error("[\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxy\xff\"]",
                 "invalid JSON at line 1, column 68: invalid UTF-8 in a string");
    /* numbers are not: 64 digits fit, 65 do not */
    expect_tokens("1111111111111111111111111111111111111111111111111111111111111111",
                  "N d0 1:1 <1111111111111111111111111111111111111111111111111111111111111111> "
                  "1.1111111111111112e+63 int\n");
    expect_error("[11111111111111111111111111111111111111111111111111111111111111111]",
                 "invalid JSON at line 1, column 2: a number longer than 64 bytes");
}

static void test_reject_structure(void **state)
{
    (void)state;
    expect_error("", "empty document");
    expect_error(" \r\n", "empty document");
    expect_error("{", "invalid JSON at line 1, column 1: the document ends early");
    expect_error("[1,]", "invalid JSON at line 1, column 4: expected a value");
    expect_error("[1 2]", "invalid JSON at line 1, column 4: expected ',' or ']'");
    expect_error("{\"a\" 1}", "invalid JSON at line 1, column 6: expected ':'");
    expect_error("{\"a\":1,}", "invalid JSON at line 1, column 8: expected a member name in "
                               "double quotes");
    expect_error("{1:2}", "invalid JSON at line 1, column 2: expected a member name in double "
                          "quotes");
    expect_error("{\"a\":1]", "invalid JSON at line 1, column 7: expected ',' or '}'");
    expect_error("[tru]", "invalid JSON at line 1, column 5: expected true, false or null");
    expect_error("nul", "invalid JSON at line 1, column 3: the document ends early");
    expect_error("NaN", "invalid JSON at line 1, column 1: expected a value");
    expect_error("{} x", "unexpected data after the JSON value at line 1, column 4");
    expect_error("1\n2", "unexpected data after the JSON value at line 2, column 1");
    /* depth 8 here: the eighth level is fine, the ninth is not */
    expect_tokens("[[[[[[[1]]]]]]]",
                  "[ d0 1:1\n[ d1 1:2\n[ d2 1:3\n[ d3 1:4\n[ d4 1:5\n[ d5 1:6\n[ d6 1:7\n"
                  "N d7 1:8 <1> 1 int\n] d6 1:9\n] d5 1:10\n] d4 1:11\n] d3 1:12\n] d2 1:13\n"
                  "] d1 1:14\n] d0 1:15\n");
    expect_error("[[[[[[[[1]]]]]]]]", "invalid JSON at line 1, column 9: nesting deeper than 8 "
                                      "levels");
}

static void test_reject_numbers(void **state)
{
    (void)state;
    expect_error("[01]", "line 1, column 2: invalid number \"01\"");
    expect_error("[1.]", "line 1, column 2: invalid number \"1.\"");
    expect_error("-.5", "line 1, column 1: invalid number \"-.5\"");
    expect_error("[1e]", "invalid JSON at line 1, column 3: not a number");
    expect_error("[1-2]", "invalid JSON at line 1, column 3: not a number");
    expect_error("-", "invalid JSON at line 1, column 1: not a number");
    expect_error("[+1]", "invalid JSON at line 1, column 2: expected a value");
    expect_error("[.5]", "invalid JSON at line 1, column 2: expected a value");
    expect_error("[0x10]", "invalid JSON at line 1, column 3: expected ',' or ']'");
    expect_error("[1.5e+]", "invalid JSON at line 1, column 5: not a number");
}

/* The callback's refusal stops the stream where it said so, whatever the split. */
static void test_callback_stops(void **state)
{
    struct trace tr;
    char err[KD_JSON_STREAM_ERR_MAX];
    const char *json = "[1,\"two\",[3]]";

    (void)state;
    assert_int_equal(run(json, strlen(json), NULL, 0, 3, &tr, err, sizeof(err)), -ECANCELED);
    assert_string_equal(err, "stopped at token 3");
    assert_string_equal(tr.text, "[ d0 1:1\nN d1 1:2 <1> 1 int\nS d1 1:4 <two>\n");
    for (int stop = 1; stop <= 7; stop++)
        check_every_split(json, stop);
    /* the stop is at the trailing number, seen only by finish */
    assert_int_equal(run("7", 1, NULL, 0, 1, &tr, err, sizeof(err)), -ECANCELED);

    struct kd_json_stream *s;
    assert_int_equal(kd_json_stream_new(0, 64, record, &tr, &s), -EINVAL);
    assert_int_equal(kd_json_stream_new(KD_JSON_STREAM_DEPTH_MAX + 1, 64, record, &tr, &s),
                     -EINVAL);
    assert_int_equal(kd_json_stream_new(8, 0, record, &tr, &s), -EINVAL);
    assert_int_equal(kd_json_stream_new(8, 8, NULL, &tr, &s), -EINVAL);
}

/* ---- The forecast parser, whole and streamed ------------------------------------------------ */

static void summarize(const struct kd_forecast_doc *doc, char *out, size_t out_len)
{
    size_t n = 0;

    n += (size_t)snprintf(out + n, out_len - n, "%zu:", doc->n_forecasts);
    for (size_t i = 0; i < doc->n_forecasts && n < out_len; i++) {
        const struct kd_forecast *f = &doc->forecasts[i];
        n += (size_t)snprintf(out + n, out_len - n, " [%s|%s|%lld|%lld|%lld|", f->workload,
                              f->metric, (long long)f->generated_at_ms, (long long)f->step_seconds,
                              (long long)f->horizon_seconds);
        for (size_t k = 0; k < f->n_values && n < out_len; k++)
            n += (size_t)snprintf(out + n, out_len - n, "%.17g,", f->values[k]);
        for (size_t k = 0; k < f->n_desired_replicas && n < out_len; k++)
            n += (size_t)snprintf(out + n, out_len - n, "%lld;", (long long)f->desired_replicas[k]);
        assert_non_null(f->values);
        assert_non_null(f->desired_replicas);
    }
    assert_true(n < out_len);
}

/* The outcome of streaming `json` cut at `cuts`: "ok <summary>" or "error <text>". */
static void forecast_run(const char *json, size_t len, const size_t *cuts, size_t n_cuts, char *out,
                         size_t out_len)
{
    struct kd_forecast_json_stream *s;
    struct kd_forecast_doc *doc = NULL;
    char err[256];
    size_t at = 0;
    int rc = 0;

    assert_int_equal(kd_forecast_json_stream_new(&s), 0);
    for (size_t i = 0; i <= n_cuts && rc == 0; i++) {
        size_t end = i < n_cuts ? cuts[i] : len;
        rc = kd_forecast_json_stream_feed(s, json + at, end - at, err, sizeof(err));
        at = end;
    }
    if (rc == 0)
        rc = kd_forecast_json_stream_finish(s, &doc, err, sizeof(err));
    kd_forecast_json_stream_free(s);
    if (rc < 0) {
        assert_null(doc);
        snprintf(out, out_len, "error %d %s", rc, err);
        return;
    }
    int n = snprintf(out, out_len, "ok ");
    summarize(doc, out + n, out_len - (size_t)n);
    kd_forecast_json_free(doc);
}

static void forecast_every_split(const char *json)
{
    size_t len = strlen(json);
    char whole[4096], split[4096], parsed[4096];
    struct kd_forecast_doc *doc;
    char err[256];

    forecast_run(json, len, NULL, 0, whole, sizeof(whole));
    /* kd_forecast_json_parse is the same parser: the same outcome */
    int rc = kd_forecast_json_parse(json, len, &doc, err, sizeof(err));
    if (rc == 0) {
        int n = snprintf(parsed, sizeof(parsed), "ok ");
        summarize(doc, parsed + n, sizeof(parsed) - (size_t)n);
        kd_forecast_json_free(doc);
    } else {
        snprintf(parsed, sizeof(parsed), "error %d %s", rc, err);
    }
    assert_string_equal(parsed, whole);
    size_t *cuts = malloc((len + 1) * sizeof(*cuts));
    assert_non_null(cuts);
    for (size_t at = 0; at <= len; at++) {
        forecast_run(json, len, &at, 1, split, sizeof(split));
        assert_string_equal(split, whole);
    }
    for (size_t i = 0; i < len; i++)
        cuts[i] = i;
    forecast_run(json, len, cuts, len, split, sizeof(split));
    assert_string_equal(split, whole);
    free(cuts);
}

static void test_forecast_splits(void **state)
{
    static const char *const samples[] = {
        "{\"desiredReplicas\":[5,6,6,7],\"generatedAt\":\"2026-06-24T10:15:30Z\","
        "\"horizonSeconds\":600,\"metric\":\"http_rps\",\"stepSeconds\":60,\"values\":[412.5,"
        "430.18,455.0000000000001],\"workload\":\"my-api\"}\n",
        "[{\"workload\":\"a\",\"stepSeconds\":60,\"desiredReplicas\":[1,2]},{\"Workload\":\"b\","
        "\"VALUES\":[1.5,-0.0,1e300],\"x\":{\"y\":[[1],{\"z\":null}]}}]",
        "{\"workload\":\"a\",\"stepSeconds\":\"x\",\"stepSeconds\":30,\"values\":[\"bad\"],"
        "\"values\":[2]}",
        "{\"workload\":\"caf\\u00e9\",\"metric\":\"\\ud83d\\ude00\"}",
        "[{},{\"desiredReplicas\":[0,0.5]}]",
        "[{\"workload\":5}, {\"workload\":\"b\"}] x",
        "[1,]",
        "[{\"values\":[1,2,3]},7]",
        "{\"values\":[1e999]}",
        "{\"generatedAt\":\"2025-02-30T00:00:00Z\",\"workload\":\"a\\u0000\"}",
        "{\"stepSeconds\":01}",
        "{\"workload\":\"\xff\"}",
        "[]",
        "  ",
        "\xef\xbb\xbf{\"workload\":\"bom\",\"desiredReplicas\":[3]}",
        "\xef\xbb{\"workload\":\"half a bom\"}",
        "\xef\xbb",
        "\xef\xbb\xbf",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
        forecast_every_split(samples[i]);
}

/* A leading UTF-8 BOM is skipped (cJSON did; editors write one); anywhere else, or a partial
 * one, is invalid JSON. */
static void test_forecast_bom(void **state)
{
    static const char plain[] = "{\"workload\":\"w\",\"desiredReplicas\":[3,4]}";
    char a[512], b[512];
    (void)state;
    forecast_run(plain, strlen(plain), NULL, 0, a, sizeof(a));
    forecast_run("\xef\xbb\xbf{\"workload\":\"w\",\"desiredReplicas\":[3,4]}", strlen(plain) + 3,
                 NULL, 0, b, sizeof(b));
    assert_string_equal(a, b);
    assert_string_equal(a, "ok 1: [w||0|0|0|3;4;");
    forecast_run("\xef\xbb{}", 4, NULL, 0, b, sizeof(b));
    assert_true(strncmp(b, "error -22 invalid JSON", 22) == 0);
    forecast_run("\xef\xbb\xbf\xef\xbb\xbf{}", 8, NULL, 0, b, sizeof(b));
    assert_true(strncmp(b, "error -22 invalid JSON", 22) == 0);
}

/* The element limits fail at the element that crosses them, before the rest is read. */
static void test_forecast_limits_while_reading(void **state)
{
    struct kd_forecast_json_stream *s;
    char err[256];
    int rc = 0;
    size_t fed = 0;

    (void)state;
    assert_int_equal(kd_forecast_json_stream_new(&s), 0);
    rc = kd_forecast_json_stream_feed(s, "{\"values\":[", 11, err, sizeof(err));
    while (rc == 0 && fed < 2 * KD_FORECAST_JSON_MAX_POINTS) {
        rc = kd_forecast_json_stream_feed(s, "1,", 2, err, sizeof(err));
        fed++;
    }
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(err, "values: more than 100000 elements");
    /* the 100001st element ends at the comma after it, in the feed that carried it */
    assert_int_equal(fed, KD_FORECAST_JSON_MAX_POINTS + 1);
    assert_int_equal(kd_forecast_json_stream_feed(s, "1", 1, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "values: more than 100000 elements");
    kd_forecast_json_stream_free(s);

    assert_int_equal(kd_forecast_json_stream_new(&s), 0);
    rc = kd_forecast_json_stream_feed(s, "[", 1, err, sizeof(err));
    for (fed = 0; rc == 0 && fed < 2 * KD_FORECAST_JSON_MAX_FORECASTS; fed++)
        rc = kd_forecast_json_stream_feed(s, "{},", 3, err, sizeof(err));
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(err, "more than 10000 forecasts in one document");
    assert_int_equal(fed, KD_FORECAST_JSON_MAX_FORECASTS + 1);
    kd_forecast_json_stream_free(s);

    /* an unknown member's string may be longer than a token; a known field's may not */
    size_t big = 100 * 1024;
    char *text = malloc(big + 64);
    assert_non_null(text);
    struct kd_forecast_doc *doc;
    memset(text, 'a', big + 64);
    memcpy(text, "{\"pad\":\"", 8);
    memcpy(text + big, "\",\"workload\":\"w\"}", 17);
    assert_int_equal(kd_forecast_json_parse(text, big + 17, &doc, err, sizeof(err)), 0);
    assert_string_equal(doc->forecasts[0].workload, "w");
    kd_forecast_json_free(doc);
    memcpy(text, "{\"metric\":\"", 11);
    assert_int_equal(kd_forecast_json_parse(text, big + 17, &doc, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "metric: longer than 65536 bytes");
    free(text);

    /* a finished stream's document is taken once */
    assert_int_equal(kd_forecast_json_stream_new(&s), 0);
    assert_int_equal(kd_forecast_json_stream_feed(s, "{}", 2, err, sizeof(err)), 0);
    assert_int_equal(kd_forecast_json_stream_finish(s, &doc, err, sizeof(err)), 0);
    kd_forecast_json_free(doc);
    assert_int_equal(kd_forecast_json_stream_finish(s, &doc, err, sizeof(err)), -EINVAL);
    kd_forecast_json_stream_free(s);
    kd_forecast_json_stream_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_reject_strings),
        cmocka_unit_test(test_reject_structure),
        cmocka_unit_test(test_reject_numbers),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_forecast_splits),
        cmocka_unit_test(test_forecast_bom),
        cmocka_unit_test(test_forecast_limits_while_reading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
