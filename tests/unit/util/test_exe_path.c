/* SPDX-License-Identifier: Apache-2.0 */
/* util/exe_path.c: the running program's path, paths beside it, and what a miss leaves. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/exe_path.h"

static void test_self_and_beside(void **state)
{
    (void)state;
    char self[4096], beside[4096];
    assert_int_equal(kd_exe_path_self(self, sizeof(self)), 0);
    assert_true(self[0] == '/');
    const char *base = strrchr(self, '/');
    assert_string_equal(base, "/test_exe_path");

    /* The program itself, found through its own directory. */
    assert_int_equal(kd_exe_path_beside("/test_exe_path", X_OK, beside, sizeof(beside)), 0);
    assert_string_equal(beside, self);
}

static void test_misses_leave_the_buffer(void **state)
{
    (void)state;
    char buf[4096];
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(kd_exe_path_beside("/no-such-file-here", R_OK, buf, sizeof(buf)), -ENOENT);
    assert_int_equal(buf[0], 'x');

    char small[4];
    memset(small, 'x', sizeof(small));
    assert_int_equal(kd_exe_path_self(small, sizeof(small)), -ENAMETOOLONG);
    assert_int_equal(kd_exe_path_beside("/test_exe_path", X_OK, small, sizeof(small)),
                     -ENAMETOOLONG);
    assert_memory_equal(small, "xxxx", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_and_beside),
        cmocka_unit_test(test_misses_leave_the_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
