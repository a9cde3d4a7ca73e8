/* SPDX-License-Identifier: Apache-2.0 */
/* util/duration.c: Go durations (plus d, w) in milliseconds, their rendering, byte sizes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/duration.h"

struct duration_case {
    const char *text;
    int rc;
    int64_t ms;
};

static const struct duration_case duration_cases[] = {
    {"0", 0, 0}, /* the only unit-less value */
    {"-0", 0, 0},
    {"+0", 0, 0},
    {"250ms", 0, 250},
    {"30s", 0, 30000},
    {"5m", 0, 300000},
    {"1h30m", 0, 5400000},
    {"1.5d", 0, 129600000}, /* decimals on any unit */
    {"1w2d", 0, 777600000},
    {"1w2d3h", 0, 788400000}, /* upstream's own example */
    {"2d", 0, 172800000},
    {"-1.5h", 0, -5400000}, /* sign applies to the whole value */
    {"+5m", 0, 300000},
    {".5s", 0, 500},         /* Go accepts a bare fraction ... */
    {"5.s", 0, 5000},        /* ... and a bare point after digits */
    {"1500us", 0, 1},        /* truncated toward zero */
    {"1500\xc2\xb5s", 0, 1}, /* U+00B5 micro sign */
    {"1500\xce\xbcs", 0, 1}, /* U+03BC mu */
    {"999999ns", 0, 0},
    {"-1500us", 0, -1}, /* truncation toward zero when negative too */
    {"1h0m0s", 0, 3600000},
    {"0s", 0, 0},
    {"2562047h", 0, INT64_C(9223369200000)}, /* near Go's 2^63 ns bound */
    {"106751d", 0, INT64_C(9223286400000)},
    {"", -EINVAL, 0},
    {"5", -EINVAL, 0},  /* missing unit */
    {"5x", -EINVAL, 0}, /* unknown unit */
    {"m", -EINVAL, 0},  /* missing number */
    {"-", -EINVAL, 0},
    {".", -EINVAL, 0},
    {".s", -EINVAL, 0},
    {"5m ", -EINVAL, 0}, /* no spaces */
    {" 5m", -EINVAL, 0},
    {"5M", -EINVAL, 0},    /* units are case-sensitive */
    {"1h-5m", -EINVAL, 0}, /* sign only at the start */
    {"5mm", -EINVAL, 0},
    {"3000000h", -ERANGE, 0},              /* over 2^63 ns */
    {"9223372036854775808ns", -ERANGE, 0}, /* 2^63 ns: one past the positive bound */
    {"-9223372036854775808ns", 0, -INT64_C(9223372036854)},
    {"99999999999999999999s", -ERANGE, 0},
    {"15251w", -ERANGE, 0},
    {"15250w", 0, INT64_C(9223200000000)},
    {"200000d200000d", -ERANGE, 0}, /* each term fits, the sum does not */
};

static void test_duration_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(duration_cases) / sizeof(duration_cases[0]); i++) {
        const struct duration_case *c = &duration_cases[i];
        int64_t ms = 424242;
        int rc = kd_duration_parse(c->text, &ms);
        if (rc != c->rc || (rc == 0 && ms != c->ms))
            fail_msg("\"%s\": got rc %d ms %lld, want rc %d ms %lld", c->text, rc, (long long)ms,
                     c->rc, (long long)c->ms);
        if (rc != 0 && ms != 424242)
            fail_msg("\"%s\": ret_ms written on error", c->text);
    }
}

static void test_duration_format(void **state)
{
    (void)state;
    static const struct {
        int64_t ms;
        const char *text;
    } cases[] = {
        {0, "0s"},          {250, "250ms"},
        {30000, "30s"},     {300000, "5m"},
        {5400000, "1h30m"}, {-5400000, "-1h30m"},
        {172800000, "2d"},  {777600000, "1w2d"},
        {61001, "1m1s1ms"}, {INT64_MIN, "-15250284452w3d7h12m55s808ms"},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kd_duration_format(cases[i].ms, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].text);
    }
}

static void test_duration_format_truncates_and_terminates(void **state)
{
    (void)state;
    char buf[4] = "xxx";
    kd_duration_format(5400000, buf, sizeof(buf));
    assert_string_equal(buf, "1h3");
    kd_duration_format(5400000, buf, 0); /* must not write at all */
    assert_string_equal(buf, "1h3");
}

static void test_duration_round_trip(void **state)
{
    (void)state;
    static const int64_t values[] = {1,
                                     999,
                                     1000,
                                     59999,
                                     3600000,
                                     86400001,
                                     604800000,
                                     INT64_C(9223372036854),
                                     -INT64_C(9223372036854),
                                     -1};
    char buf[64];
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        int64_t back = 0;
        kd_duration_format(values[i], buf, sizeof(buf));
        assert_int_equal(kd_duration_parse(buf, &back), 0);
        assert_int_equal(back, values[i]);
    }
}

static void test_size_parse(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int rc;
        int64_t bytes;
    } cases[] = {
        {"1048576", 0, 1048576},
        {"0", 0, 0},
        {"64KiB", 0, 65536},
        {"4MiB", 0, 4194304},
        {"1GiB", 0, 1073741824},
        {"10MB", 0, 10000000},
        {"2KB", 0, 2000},
        {"3GB", 0, 3000000000},
        {"512B", 0, 512},
        {"9223372036854775807", 0, INT64_MAX},
        {"9223372036854775808", -ERANGE, 0},
        {"8589934592GiB", -ERANGE, 0},
        {"", -EINVAL, 0},
        {"MiB", -EINVAL, 0},
        {"-1", -EINVAL, 0},
        {"4 MiB", -EINVAL, 0},
        {"4mib", -EINVAL, 0},
        {"1.5MiB", -EINVAL, 0},
        {"4TiB", -EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t bytes = 77;
        int rc = kd_size_parse(cases[i].text, &bytes);
        if (rc != cases[i].rc || bytes != (rc == 0 ? cases[i].bytes : 77))
            fail_msg("\"%s\": got rc %d bytes %lld", cases[i].text, rc, (long long)bytes);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_parse_table),
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_duration_format_truncates_and_terminates),
        cmocka_unit_test(test_duration_round_trip),
        cmocka_unit_test(test_size_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
