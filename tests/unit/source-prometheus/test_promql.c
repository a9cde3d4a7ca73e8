/* SPDX-License-Identifier: Apache-2.0 */
/* plugins/source-prometheus/promql.c: template checks, escaping, expansion, the range URL. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "promql.h"

static void check_accepts_placeholders_in_quoted_literals(void **state)
{
    static const char *ok[] = {
        "sum(rate(http_requests_total{job=\"$workload\"}[5m]))",
        "sum(x{job='$workload'})",
        "sum(x{job=\"$workload\", ns=\"$workload\"})",
        "sum(x{job=\"pre-$workload-post\"})",
        "x{a=\"\\\"$workload\"}",       /* an escaped quote does not end the literal */
        "x # $workload in a comment\n", /* never replaced, so harmless */
        "sum(up)",                      /* no placeholder at all: one series for everyone */
    };
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(kd_promql_check(ok[i], err, sizeof(err)), 0);
}

static void check_refuses_placeholders_outside_literals(void **state)
{
    static const struct {
        const char *query;
        const char *words;
    } bad[] = {
        {"sum by ($workload) (x)", "outside a string literal"},
        {"x{job=`$workload`}", "raw"},
        {"x{job=\"a\"} + $workload", "outside"},
        {"x{job=\"$workload}", "never closed"},
        {"", "empty"},
    };
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(kd_promql_check(bad[i].query, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, bad[i].words));
    }
}

static void escape_backslash_quotes_and_controls(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(kd_promql_escape("a\"b\\c", '"', out, sizeof(out)), 7);
    assert_string_equal(out, "a\\\"b\\\\c");
    /* In a single-quoted literal the double quote stays, the single one is escaped. */
    kd_promql_escape("a'b\"c", '\'', out, sizeof(out));
    assert_string_equal(out, "a\\'b\"c");
    kd_promql_escape("l1\nl2\t\r\x01\x7f", '"', out, sizeof(out));
    assert_string_equal(out, "l1\\nl2\\t\\r\\x01\\x7f");
    kd_promql_escape("\xc3\xbc"
                     "ber",
                     '"', out, sizeof(out));
    assert_string_equal(out, "\xc3\xbc"
                             "ber");
    /* snprintf's rule: the length it needs, truncated output still terminated. */
    assert_int_equal(kd_promql_escape("a\"b", '"', out, 3), 4);
    assert_string_equal(out, "a\\");
}

static void expand_replaces_every_placeholder(void **state)
{
    char *q = NULL;

    (void)state;
    assert_int_equal(kd_promql_expand("x{a=\"$workload\",b='$workload'} # $workload", "w\"'\\", &q),
                     0);
    assert_string_equal(q, "x{a=\"w\\\"'\\\\\",b='w\"\\'\\\\'} # $workload");
    free(q);
    assert_int_equal(kd_promql_expand("sum(up)", "w", &q), 0);
    assert_string_equal(q, "sum(up)");
    free(q);
    assert_int_equal(kd_promql_expand("x{job=\"$workload\"}", "", &q), 0);
    assert_string_equal(q, "x{job=\"\"}");
    free(q);
    assert_int_equal(kd_promql_expand("sum by ($workload) (x)", "w", &q), -EINVAL);
}

/* The break-out attempt: whatever the name, the expanded query has exactly one literal whose
 * unescaped content is the name. */
static void expand_cannot_break_out(void **state)
{
    static const char *names[] = {"a\"b\\c", "\"} or vector(1) or x{a=\"", "\\", "\\\"", "a\"\"\"",
                                  "\n\"\n"};
    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *q = NULL;
        assert_int_equal(kd_promql_expand("x{job=\"$workload\"}", names[i], &q), 0);
        /* Walk the literal as PromQL does and unescape it. */
        const char *p = q + strlen("x{job=\"");
        char value[64];
        size_t n = 0;
        for (; *p && *p != '"'; p++) {
            if (*p == '\\') {
                p++;
                value[n++] = *p == 'n' ? '\n' : *p;
            } else {
                value[n++] = *p;
            }
        }
        value[n] = '\0';
        assert_string_equal(value, names[i]);
        assert_string_equal(p, "\"}");
        free(q);
    }
}

static void range_url(void **state)
{
    char *url = NULL;

    (void)state;
    assert_int_equal(kd_promql_range_url("http://p:9090//", "sum(x{job=\"a b&c\"})", 1700000000250,
                                         1700000060250, 60000, &url),
                     0);
    assert_string_equal(url, "http://p:9090/api/v1/query_range?query=sum%28x%7Bjob%3D%22a%20b%"
                             "26c%22%7D%29&start=1700000000.250&end=1700000060.250&step=60.000");
    free(url);
    assert_int_equal(kd_promql_range_url("https://p/prefix", "up", -1500, 0, 1, &url), 0);
    assert_string_equal(url, "https://p/prefix/api/v1/query_range?query=up&start=-1.500&end=0.000"
                             "&step=0.001");
    free(url);
    assert_int_equal(kd_promql_range_url("///", "up", 0, 0, 1, &url), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_accepts_placeholders_in_quoted_literals),
        cmocka_unit_test(check_refuses_placeholders_outside_literals),
        cmocka_unit_test(escape_backslash_quotes_and_controls),
        cmocka_unit_test(expand_replaces_every_placeholder),
        cmocka_unit_test(expand_cannot_break_out),
        cmocka_unit_test(range_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
