/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of grpc-timeout parsing: every unit, rounding up, clamping, and malformed values. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "grpc/grpc_timeout.h"

static void test_valid(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ms;
    } cases[] = {
        {"1H", 3600000},
        {"2M", 120000},
        {"3S", 3000},
        {"250m", 250},
        {"1500u", 2}, /* 1.5 ms rounds up */
        {"1000u", 1},
        {"1u", 1}, /* never shorter than asked */
        {"1n", 1},
        {"1000000n", 1},
        {"1000001n", 2},
        {"2999870u", 3000}, /* what grpc-go sends for a 3 s deadline */
        {"0S", 0},          /* already expired */
        {"0n", 0},
        {"00000001M", 60000}, /* leading zeros, 8 digits */
        {"99999999m", 99999999},
        {"99999999S", 99999999000},
        {"99999999H", KD_GRPC_TIMEOUT_MAX_MS}, /* clamped */
        {"99999999M", KD_GRPC_TIMEOUT_MAX_MS},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = -1;
        int rc = kd_grpc_timeout_parse(cases[i].text, strlen(cases[i].text), &ms);
        if (rc != 0 || ms != cases[i].ms)
            fail_msg("%s: rc=%d ms=%lld", cases[i].text, rc, (long long)ms);
    }
}

static void test_invalid(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "",                  /* empty */
        "S",                 /* no digits */
        "1",                 /* no unit */
        "10",                /* no unit */
        "1s",                /* units are case-sensitive */
        "1h",         "1x",  /* unknown unit */
        "123456789S",        /* 9 digits */
        "-1S",               /* signs */
        "+1S",        " 1S", /* spaces */
        "1 S",        "1S ", "1.5S", "0x1S", "1SS",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = -7;
        int rc = kd_grpc_timeout_parse(cases[i], strlen(cases[i]), &ms);
        if (rc != -EINVAL || ms != -7)
            fail_msg("\"%s\": rc=%d ms=%lld (want -EINVAL, untouched)", cases[i], rc,
                     (long long)ms);
    }
}

static void test_length_not_nul(void **state)
{
    (void)state;
    int64_t ms = 0;
    /* Header values are not NUL-terminated: only `len` bytes count. */
    assert_int_equal(kd_grpc_timeout_parse("5SXYZ", 2, &ms), 0);
    assert_int_equal(ms, 5000);
    assert_int_equal(kd_grpc_timeout_parse("5S", 1, &ms), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_length_not_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
