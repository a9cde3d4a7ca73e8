/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/self/stat parsing, including a comm with spaces and parentheses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ops/process_stats.h"

static void test_parse_stat(void **state)
{
    (void)state;
    /* fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime(14) stime(15) cutime cstime priority nice threads itrealvalue starttime vsize(23)
     * rss(24) ... */
    const char *text = "4242 (kd (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 150 0 0 "
                       "20 0 1 0 12345 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0\n";
    struct kd_process_stats s = {0};

    assert_int_equal(kd_process_stats_parse_stat(text, 100, 4096, &s), 0);
    assert_true(s.cpu_seconds == 4.0);
    assert_true(s.virtual_bytes == 104857600.0);
    assert_true(s.resident_bytes == 2560.0 * 4096);
}

static void test_parse_stat_malformed(void **state)
{
    (void)state;
    struct kd_process_stats s = {.cpu_seconds = 7};
    const char *bad[] = {"", "4242 kd S 1", "4242 (kd) S 1 2 3",
                         ("4242 (kd) S 1 2 3 4 5 6 7 8 9 "
                          "10 x 12 13 14 15 16 17 18 19 20 21 22")};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(kd_process_stats_parse_stat(bad[i], 100, 4096, &s), -EINVAL);
    assert_true(s.cpu_seconds == 7); /* untouched on failure */
}

static void test_read_self(void **state)
{
    (void)state;
    struct kd_process_stats s = {0};

    assert_int_equal(kd_process_stats_read(&s), 0);
    assert_true(s.resident_bytes > 0);
    assert_true(s.open_fds >= 3);
    assert_true(s.max_fds >= s.open_fds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_stat),
        cmocka_unit_test(test_parse_stat_malformed),
        cmocka_unit_test(test_read_self),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
