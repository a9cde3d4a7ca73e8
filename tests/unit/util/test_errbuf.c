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
    assert_string_equal(err, "long me"); /* an origin that would fill it gives way */
    kd_errbuf_at(err, sizeof(err), "a", 1, "message");
    assert_string_equal(err, "message");
    kd_errbuf_at(err, sizeof(err), "a", 1, "m");
    assert_string_equal(err, "a:1: m"); /* both fit */
}

/* The message is kept before the origin: a long path gives way to its basename, then goes. */
static void test_long_origin_keeps_message(void **state)
{
    char err[64];
    char path[200];

    (void)state;
    memset(path, 'd', sizeof(path));
    memcpy(path + sizeof(path) - 8, "/x.cfg", 7); /* "ddd.../x.cfg" */
    kd_errbuf_at(err, sizeof(err), path, 3, "bad value %d", 7);
    assert_string_equal(err, "x.cfg:3: bad value 7");
    kd_errbuf_at(err, sizeof(err), "/etc/kd/a.cfg", 3, "bad value");
    assert_string_equal(err, "/etc/kd/a.cfg:3: bad value"); /* fits: the whole path */

    path[sizeof(path) - 8] = 'd'; /* no slash: no basename to fall back to */
    kd_errbuf_at(err, sizeof(err), path, 3, "bad value");
    assert_string_equal(err, "bad value");

    char msg[100];
    memset(msg, 'm', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    kd_errbuf_at(err, sizeof(err), "/etc/kd/a.cfg", 3, "%s", msg);
    assert_int_equal(strlen(err), sizeof(err) - 1); /* a short origin stays, message cut */
    assert_memory_equal(err, "a.cfg:3: mmm", 12);

    struct kd_error e;
    kd_error_at(&e, path, 9, "unknown option");
    kd_error_format(&e, err, sizeof(err));
    assert_string_equal(err, "unknown option");
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
        cmocka_unit_test(test_long_origin_keeps_message),
        cmocka_unit_test(test_error_origin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
