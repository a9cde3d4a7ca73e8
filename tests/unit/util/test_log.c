/* SPDX-License-Identifier: Apache-2.0 */
/* util/log.c: the level and format names accepted from config, flags and env. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/log.h"

static void test_parse_level(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        enum kd_log_level level;
    } ok[] = {
        {"debug", KD_LOG_DEBUG},
        {"info", KD_LOG_INFO},
        {"warn", KD_LOG_WARN},
        {"error", KD_LOG_ERROR},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        enum kd_log_level level = (enum kd_log_level)99;
        assert_int_equal(kd_log_parse_level(ok[i].text, &level), 0);
        assert_int_equal(level, ok[i].level);
    }

    static const char *const bad[] = {"", "INFO", "warning", "trace", "info ", "fatal"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum kd_log_level level = KD_LOG_WARN;
        assert_int_equal(kd_log_parse_level(bad[i], &level), -EINVAL);
        assert_int_equal(level, KD_LOG_WARN); /* untouched on error */
    }
}

static void test_parse_format(void **state)
{
    (void)state;
    enum kd_log_format format = KD_LOG_JSON;
    assert_int_equal(kd_log_parse_format("text", &format), 0);
    assert_int_equal(format, KD_LOG_TEXT);
    assert_int_equal(kd_log_parse_format("json", &format), 0);
    assert_int_equal(format, KD_LOG_JSON);

    static const char *const bad[] = {"", "JSON", "logfmt", "text\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        format = KD_LOG_JSON;
        assert_int_equal(kd_log_parse_format(bad[i], &format), -EINVAL);
        assert_int_equal(format, KD_LOG_JSON);
    }
}

static void test_enabled_follows_setup(void **state)
{
    (void)state;
    kd_log_setup(KD_LOG_WARN, KD_LOG_TEXT);
    assert_true(kd_log_enabled(KD_LOG_ERROR));
    assert_true(kd_log_enabled(KD_LOG_WARN));
    assert_false(kd_log_enabled(KD_LOG_INFO));
    kd_log_setup(KD_LOG_DEBUG, KD_LOG_TEXT);
    assert_true(kd_log_enabled(KD_LOG_DEBUG));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_level),
        cmocka_unit_test(test_parse_format),
        cmocka_unit_test(test_enabled_follows_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
