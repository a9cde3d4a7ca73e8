/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of status strings and grpc-message percent-encoding (grpc-go's rules) with
 * truncation that never splits a %XX triple or a UTF-8 sequence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "grpc/grpc_status.h"

static void test_code_strings(void **state)
{
    (void)state;
    assert_string_equal(kd_grpc_status_code_str(KD_GRPC_OK), "0");
    assert_string_equal(kd_grpc_status_code_str(KD_GRPC_DEADLINE_EXCEEDED), "4");
    assert_string_equal(kd_grpc_status_code_str(KD_GRPC_UNIMPLEMENTED), "12");
    assert_string_equal(kd_grpc_status_code_str(KD_GRPC_UNAUTHENTICATED), "16");
    assert_string_equal(kd_grpc_status_code_str((enum kd_grpc_status)17), "2");
    assert_string_equal(kd_grpc_status_code_str((enum kd_grpc_status) - 1), "2");
    assert_string_equal(kd_grpc_status_name(KD_GRPC_RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
    assert_string_equal(kd_grpc_status_name(KD_GRPC_OK), "OK");
    assert_string_equal(kd_grpc_status_name((enum kd_grpc_status)99), "UNKNOWN");
}

static void test_encode(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"", ""},
        {"plain text, no change: ~!@#$^&*()[]{}", "plain text, no change: ~!@#$^&*()[]{}"},
        {"100%", "100%25"},
        {"%%", "%25%25"},
        {"tab\there", "tab%09here"},
        {"line\nbreak\r", "line%0Abreak%0D"},
        {"\x7f", "%7F"},
        {"caf\xc3\xa9", "caf%C3%A9"}, /* UTF-8 bytes, upper-case hex */
        {"\xe2\x82\xac 5", "%E2%82%AC 5"},
        {"\xff\xfe", "%FF%FE"}, /* invalid UTF-8 still encoded bytewise */
        {" ", " "},
        {"~", "~"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[128];
        size_t n = kd_grpc_status_encode_message(cases[i].in, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].out);
        assert_int_equal(n, strlen(cases[i].out));
    }
}

static void test_truncate(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t size;
        const char *out;
    } cases[] = {
        {"abcdef", 4, "abc"},
        {"ab%", 5, "ab"}, /* "%25" needs 3, only 2 left: dropped whole */
        {"ab%", 6, "ab%25"},
        {"a\xc3\xa9", 6, "a"}, /* a 2-byte sequence needs 6: not split */
        {"a\xc3\xa9", 8, "a%C3%A9"},
        {"\xe2\x82\xac", 9, ""}, /* 3-byte sequence needs 9 */
        {"\xe2\x82\xac", 10, "%E2%82%AC"},
        {"\xc3", 4, "%C3"}, /* lone lead byte at the end: bytewise */
        {"xyz", 1, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[64];
        memset(buf, 'Q', sizeof(buf));
        size_t n = kd_grpc_status_encode_message(cases[i].in, buf, cases[i].size);
        assert_string_equal(buf, cases[i].out);
        assert_int_equal(n, strlen(cases[i].out));
        assert_true(n < cases[i].size);
    }
}

static void test_truncate_long(void **state)
{
    (void)state;
    char in[4000];
    char buf[KD_GRPC_STATUS_MESSAGE_MAX + 1];
    /* 3000 bytes of '%' encode to 9000: cut to whole triples below 1 KiB. */
    memset(in, '%', sizeof(in) - 1);
    in[sizeof(in) - 1] = '\0';
    size_t n = kd_grpc_status_encode_message(in, buf, sizeof(buf));
    assert_int_equal(n, 1023);
    assert_int_equal(n % 3, 0);
    assert_memory_equal(buf + n - 3, "%25", 3);
}

static void test_quote(void **state)
{
    (void)state;
    char buf[16];

    kd_grpc_status_quote("a\"b\\c", buf, sizeof(buf));
    assert_string_equal(buf, "\"a\\\"b\\\\c\"");
    kd_grpc_status_quote(NULL, buf, sizeof(buf));
    assert_string_equal(buf, "\"\"");
    kd_grpc_status_quote("\x01\xff", buf, sizeof(buf));
    assert_string_equal(buf, "\"\\x01\\xff\"");
    kd_grpc_status_quote("0123456789abcdef", buf, sizeof(buf)); /* cut, still quoted */
    assert_string_equal(buf, "\"0123456789abc\"");
    kd_grpc_status_quote("\x01", buf, 6); /* an escape that does not fit is left out */
    assert_string_equal(buf, "\"\"");
    kd_grpc_status_quote("x", buf, 2);
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_strings),  cmocka_unit_test(test_quote),
        cmocka_unit_test(test_encode),        cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_truncate_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
