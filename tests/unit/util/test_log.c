/* SPDX-License-Identifier: Apache-2.0 */
/* util/log.c: the level and format names accepted from config, flags and env; JSON lines
 * read back with cJSON, one parsed object per event whatever the message holds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "config/settings.h"
#include "util/log.h"

/* The settings table parses log_level and log_format into indexes that are these enums:
 * the words and the enum order must line up (the text and JSON lines print the same words). */
static void test_setting_words_match(void **state)
{
    (void)state;
    const struct kd_setting *level = kd_setting_find("log_level");
    const struct kd_setting *format = kd_setting_find("log_format");
    assert_non_null(level);
    assert_non_null(format);
    assert_string_equal(level->choices, "error|warn|info|debug");
    assert_int_equal(KD_LOG_ERROR, 0);
    assert_int_equal(KD_LOG_WARN, 1);
    assert_int_equal(KD_LOG_INFO, 2);
    assert_int_equal(KD_LOG_DEBUG, 3);
    assert_string_equal(format->choices, "text|json");
    assert_int_equal(KD_LOG_TEXT, 0);
    assert_int_equal(KD_LOG_JSON, 1);
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

/* Everything the logger writes to stderr while `fn` runs, as one NUL-terminated string. */
static char *capture_stderr(void (*fn)(void))
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    fn();
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);

    long n = ftell(tmp);
    assert_true(n >= 0);
    char *text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    rewind(tmp);
    assert_int_equal(fread(text, 1, (size_t)n, tmp), (size_t)n);
    fclose(tmp);
    return text;
}

/* The i-th line of `text` parsed as one JSON object; fails on anything else. */
static cJSON *json_line(const char *text, int i, size_t *ret_len)
{
    const char *line = text;
    for (int k = 0; k < i; k++) {
        line = strchr(line, '\n');
        assert_non_null(line);
        line++;
    }
    const char *end = strchr(line, '\n');
    assert_non_null(end); /* every line ends with a newline */
    const char *parse_end = NULL;
    cJSON *obj = cJSON_ParseWithLengthOpts(line, (size_t)(end - line), &parse_end, false);
    if (!obj)
        fail_msg("line %d is not JSON: %.*s", i, (int)(end - line), line);
    assert_ptr_equal(parse_end, end); /* nothing after the object */
    assert_true(cJSON_IsObject(obj));
    *ret_len = (size_t)(end - line) + 1;
    return obj;
}

static const char *field(const cJSON *obj, const char *name)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(f) ? f->valuestring : NULL;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

#define U_FFFD "\xef\xbf\xbd"

static const struct {
    const char *msg, *want;
} json_cases[] = {
    {"plain", "plain"},
    {"he said \"hi\" to C:\\dir\\", "he said \"hi\" to C:\\dir\\"},
    {"two\nlines\r\tand\x01\x1f\x7f controls", "two\nlines\r\tand\x01\x1f\x7f controls"},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"bad \xff\xfe|\xc3(|\xe0\x80\xaf|\xed\xa0\x80|\xe2\x82",
     "bad " U_FFFD U_FFFD "|" U_FFFD "(|" U_FFFD U_FFFD U_FFFD "|" U_FFFD U_FFFD U_FFFD
     "|" U_FFFD U_FFFD},
};

static void log_json_cases(void)
{
    static const enum kd_log_level levels[] = {KD_LOG_ERROR, KD_LOG_WARN, KD_LOG_INFO,
                                               KD_LOG_DEBUG};
    kd_log_setup(KD_LOG_DEBUG, KD_LOG_JSON);
    for (size_t i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++)
        kd_log_prefixed(levels[i % 4], i % 2 ? "plug\"in\n" : NULL, "%s", json_cases[i].msg);
}

static void test_json_lines(void **state)
{
    static const char *const level_names[] = {"error", "warn", "info", "debug"};
    (void)state;
    char *text = capture_stderr(log_json_cases);
    size_t n = sizeof(json_cases) / sizeof(json_cases[0]);

    assert_int_equal(count_lines(text), (int)n); /* one line per event */
    for (size_t i = 0; i < n; i++) {
        size_t len;
        cJSON *obj = json_line(text, (int)i, &len);
        const char *t = field(obj, "time");
        assert_non_null(t); /* 2026-12-02T15:41:56.123Z */
        assert_int_equal(strlen(t), 24);
        assert_true(t[4] == '-' && t[10] == 'T' && t[19] == '.' && t[23] == 'Z');
        assert_string_equal(field(obj, "level"), level_names[i % 4]);
        assert_string_equal(field(obj, "msg"), json_cases[i].want);
        if (i % 2)
            assert_string_equal(field(obj, "src"), "plug\"in\n");
        else
            assert_null(cJSON_GetObjectItemCaseSensitive(obj, "src"));
        assert_int_equal(cJSON_GetArraySize(obj), i % 2 ? 4 : 3);
        cJSON_Delete(obj);
    }
    free(text);
}

/* Messages whose escaped form is past the line buffer: cut between characters, never inside
 * an escape or a UTF-8 sequence, and still closed. */
static char long_msg[3][2100];

static void log_long(void)
{
    memset(long_msg[0], '"', 2099);    /* 2 bytes each escaped */
    memset(long_msg[1], '\x01', 2099); /* 6 bytes each */
    for (int i = 0; i + 1 < 2099; i += 2)
        memcpy(long_msg[2] + i, "\xc3\xa9", 2); /* cut by the 2 KiB message buffer mid-way */
    kd_log_setup(KD_LOG_INFO, KD_LOG_JSON);
    for (int i = 0; i < 3; i++)
        kd_log_prefixed(KD_LOG_WARN, "p", "%s", long_msg[i]);
    kd_log_prefixed(KD_LOG_DEBUG, NULL, "not written at info");
}

static void test_json_long_lines(void **state)
{
    (void)state;
    char *text = capture_stderr(log_long);

    assert_int_equal(count_lines(text), 3);
    for (int i = 0; i < 3; i++) {
        size_t len;
        cJSON *obj = json_line(text, i, &len);
        const char *msg = field(obj, "msg");
        assert_non_null(msg);
        assert_true(len < 4096);
        size_t m = strlen(msg);
        if (i < 2) {
            assert_true(m > 500);
            assert_memory_equal(msg, long_msg[i], m); /* a prefix, whole characters */
        } else {
            assert_int_equal(m, 2046 + 3); /* 1023 x U+00E9, then the cut one */
            assert_memory_equal(msg, long_msg[2], 2046);
            assert_string_equal(msg + 2046, U_FFFD);
        }
        cJSON_Delete(obj);
    }
    free(text);
}

static char newlines[2100];

static void log_text_cases(void)
{
    kd_log_setup(KD_LOG_DEBUG, KD_LOG_TEXT);
    kd_log_prefixed(KD_LOG_INFO, NULL, "a\nb\r\tc\x01\\d\x7f end");
    kd_log_prefixed(KD_LOG_WARN, "plug\nin", "forged\n2026-01-01T00:00:00.000Z error fake");
    memset(newlines, '\n', sizeof(newlines) - 1); /* twice the line's room once escaped */
    kd_log_prefixed(KD_LOG_ERROR, NULL, "%s", newlines);
    kd_log_setup(KD_LOG_INFO, KD_LOG_TEXT);
}

/* Text lines: one call is one line whatever the message holds; control bytes are escaped. */
static void test_text_lines(void **state)
{
    (void)state;
    char *text = capture_stderr(log_text_cases);

    assert_int_equal(count_lines(text), 3);
    assert_non_null(strstr(text, " info  a\\nb\\r\\tc\\x01\\\\d\\x7f end\n"));
    assert_non_null(
        strstr(text, " warn  [plug\\nin] forged\\n2026-01-01T00:00:00.000Z error fake\n"));
    const char *third = strstr(text, " error ");
    assert_non_null(third);
    assert_true(strlen(third) > 4000); /* cut at the line's size, ending in its newline */
    assert_int_equal(third[strlen(third) - 1], '\n');
    assert_int_equal(third[strlen(third) - 2], 'n');
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setting_words_match), cmocka_unit_test(test_enabled_follows_setup),
        cmocka_unit_test(test_json_lines),          cmocka_unit_test(test_json_long_lines),
        cmocka_unit_test(test_text_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
