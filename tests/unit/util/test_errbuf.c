/* SPDX-License-Identifier: Apache-2.0 */
/* util/errbuf: "file:line: message" written once, origins kept apart, truncation, NULL buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "util/errbuf.h"

static void test_printf_and_at(void **state)
{
    char err[64];

    (void)state;
    kd_errbuf_printf(err, sizeof(err), "bad %s", "thing");
    assert_string_equal(err, "bad thing");
    kd_errbuf_at(err, sizeof(err), "a.cfg", 7, "bad %d", 3);
    assert_string_equal(err, "a.cfg:7: bad 3");
    kd_errbuf_at(err, sizeof(err), NULL, 7, "no origin");
    assert_string_equal(err, "no origin");
    kd_errbuf_printf(NULL, 0, "ignored");
    kd_errbuf_at(err, 0, "a.cfg", 1, "ignored");
    assert_string_equal(err, "no origin");
}

static void test_truncation(void **state)
{
    char err[8];

    (void)state;
    kd_errbuf_at(err, sizeof(err), "a.cfg", 12, "long message");
    assert_string_equal(err, "a.cfg:1"); /* the origin itself is cut: still NUL-terminated */
    kd_errbuf_at(err, sizeof(err), "a", 1, "message");
    assert_string_equal(err, "a:1: me");
}

static void test_error_origin(void **state)
{
    struct kd_error e;
    char err[128];

    (void)state;
    kd_error_clear(&e);
    kd_error_format(&e, err, sizeof(err));
    assert_string_equal(err, "");

    kd_error_set(&e, "%s: out of memory", "source \"x\"");
    kd_error_origin(&e, "group.cfg", 3); /* none yet: the group's */
    kd_error_format(&e, err, sizeof(err));
    assert_string_equal(err, "group.cfg:3: source \"x\": out of memory");

    kd_error_at(&e, "key.cfg", 9, "unknown option \"%s\"", "pth");
    kd_error_origin(&e, "group.cfg", 3); /* the key's own line wins */
    kd_error_origin(&e, NULL, 0);
    kd_error_format(&e, err, sizeof(err));
    assert_string_equal(err, "key.cfg:9: unknown option \"pth\"");

    kd_error_set(&e, "plain"); /* a new message drops the old origin */
    kd_error_format(&e, err, sizeof(err));
    assert_string_equal(err, "plain");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_printf_and_at),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_error_origin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
