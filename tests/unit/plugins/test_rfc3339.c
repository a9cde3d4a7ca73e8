/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 3339 parsing; expected values computed independently with GNU date -d. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rfc3339.h"

static int parse(const char *s, int64_t *ret_ms)
{
    return kd_rfc3339_parse(s, strlen(s), ret_ms);
}

static void test_accepts(void **state)
{
    static const struct {
        const char *text;
        int64_t ms;
    } rows[] = {
        {"2026-06-24T10:15:30Z", 1782296130000},                      /* the forecaster's form */
        {"2025-10-16T19:35:00.123456789+02:00", 1760636100123},       /* upstream §2.6 example */
        {"2025-10-16T12:05:00-05:30", 1760636100000},                 /* half-hour west offset */
        {"2025-10-16T17:35:00.9Z", 1760636100900},                    /* one fraction digit */
        {"2025-10-16T17:35:00.99999999999999999999Z", 1760636100999}, /* many, truncated */
        {"2025-10-16t17:35:00z", 1760636100000},                      /* lower case, RFC 3339 5.6 */
        {"1970-01-01T00:00:00Z", 0},
        {"1969-12-31T23:59:59.5Z", -500},            /* before the epoch */
        {"0001-01-01T00:00:00Z", -62135596800000},   /* Go's zero time */
        {"2024-02-29T23:59:59.999Z", 1709251199999}, /* leap day */
        {"9999-12-31T23:59:59Z", 253402300799000},
        {"2000-03-01T00:00:00+23:59", 951782460000}, /* largest offset */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int64_t ms = 42;
        assert_int_equal(parse(rows[i].text, &ms), 0);
        assert_int_equal(ms, rows[i].ms);
    }
}

static void test_rejects(void **state)
{
    static const struct {
        const char *text;
        int rc;
    } rows[] = {
        {"2025-10-16 17:35:00", -EINVAL},      /* space, no zone: upstream's bad example */
        {"2025-10-16 17:35:00Z", -EINVAL},     /* space separator */
        {"2025-10-16T17:35:00", -EINVAL},      /* no zone */
        {"2025-10-16T17:35Z", -EINVAL},        /* no seconds */
        {"2025-10-16T17:35:00.Z", -EINVAL},    /* empty fraction */
        {"2025-10-16T17:35:00+0200", -EINVAL}, /* offset without colon */
        {"2025-10-16T17:35:00+02", -EINVAL},
        {"2025-10-16T17:35:00Z ", -EINVAL}, /* trailing space */
        {"2025-10-16T17:35:00ZZ", -EINVAL},
        {"25-10-16T17:35:00Z", -EINVAL}, /* two-digit year */
        {"2025-1-16T17:35:00Z", -EINVAL},
        {"+2025-10-16T17:35:00Z", -EINVAL},
        {"", -EINVAL},
        {"2025-13-01T00:00:00Z", -ERANGE}, /* month 13 */
        {"2025-00-01T00:00:00Z", -ERANGE},
        {"2025-02-29T00:00:00Z", -ERANGE}, /* not a leap year */
        {"1900-02-29T00:00:00Z", -ERANGE}, /* century rule */
        {"2025-04-31T00:00:00Z", -ERANGE},
        {"2025-10-16T24:00:00Z", -ERANGE},
        {"2025-10-16T23:60:00Z", -ERANGE},
        {"2016-12-31T23:59:60Z", -ERANGE}, /* leap second: Go refuses it too */
        {"2025-10-16T17:35:00+24:00", -ERANGE},
        {"2025-10-16T17:35:00+02:60", -ERANGE},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int64_t ms = 42;
        assert_int_equal(parse(rows[i].text, &ms), rows[i].rc);
        assert_int_equal(ms, 42); /* untouched on failure */
    }
}

/* The length bounds the read: the same bytes followed by more must not be looked at. */
static void test_length_bounded(void **state)
{
    const char text[] = "2025-10-16T17:35:00Z+garbage";
    int64_t ms = 0;

    (void)state;
    assert_int_equal(kd_rfc3339_parse(text, 20, &ms), 0);
    assert_int_equal(ms, 1760636100000);
    assert_int_equal(kd_rfc3339_parse(text, 19, &ms), -EINVAL);
    assert_int_equal(kd_rfc3339_parse("2025-10-16T17:35:00.5", 21, &ms), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_length_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
