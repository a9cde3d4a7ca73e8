/* SPDX-License-Identifier: Apache-2.0 */
/* plugins/common/http_common: body limits, header checks and token files, the parts both HTTP
 * sources rely on for bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_common.h"

static void test_body_stops_at_the_limit(void **state)
{
    (void)state;
    struct kd_http_body body = {0};
    size_t taken = 99;

    assert_int_equal(kd_http_body_append(&body, "hello", 5, 8, &taken), 0);
    assert_int_equal(taken, 5);
    assert_int_equal(kd_http_body_append(&body, "world", 5, 8, &taken), 0);
    assert_int_equal(taken, 3); /* fewer than offered: the caller sees the limit was hit */
    assert_int_equal(body.len, 8);
    assert_memory_equal(body.data, "hellowor", 8);
    assert_true(body.cap <= 8); /* never allocates past the limit */
    assert_int_equal(kd_http_body_append(&body, "!", 1, 8, &taken), 0);
    assert_int_equal(taken, 0);
    assert_int_equal(body.len, 8);
    free(body.data);

    struct kd_http_body empty = {0};
    assert_int_equal(kd_http_body_append(&empty, "x", 1, 0, &taken), 0);
    assert_int_equal(taken, 0);
    assert_null(empty.data);
}

static void test_header_lines(void **state)
{
    (void)state;
    char err[128];

    assert_int_equal(kd_http_check_header("X-Scope-OrgID: tenant-1", err, sizeof(err)), 0);
    assert_int_equal(kd_http_check_header("no colon", err, sizeof(err)), -22);
    assert_string_equal(err, "expected \"Name: value\"");
    assert_int_equal(kd_http_check_header(": value", err, sizeof(err)), -22);
    assert_int_equal(kd_http_check_header("Bad Name: v", err, sizeof(err)), -22);
    assert_string_equal(err, "the name has a character not allowed in a header name (0x20)");
    assert_int_equal(kd_http_check_header("X: a\r\nInjected: 1", err, sizeof(err)), -22);
    assert_string_equal(err, "the value has a control character (0x0d)");
}

static char *write_file(const char *text)
{
    char *path = strdup("/tmp/kd-http-token-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_token_files(void **state)
{
    (void)state;
    struct kd_http_token token = {0};
    char err[128];

    char *good = write_file("s3cr3t\n");
    assert_int_equal(kd_http_token_load(&token, good, err, sizeof(err)), 0);
    assert_string_equal(token.header, "Authorization: Bearer s3cr3t");

    /* A broken file leaves the token as it was. */
    char *forged = write_file("a\nX-Evil: 1\n");
    assert_int_equal(kd_http_token_load(&token, forged, err, sizeof(err)), -22);
    assert_string_equal(err, "byte 1 is not a printable character (0x0a)");
    assert_string_equal(token.header, "Authorization: Bearer s3cr3t");
    char *blank = write_file(" \n");
    assert_int_equal(kd_http_token_load(&token, blank, err, sizeof(err)), -22);
    assert_string_equal(err, "empty");
    assert_int_equal(kd_http_token_load(&token, "/nonexistent/token", err, sizeof(err)), -2);
    assert_string_equal(token.header, "Authorization: Bearer s3cr3t");

    kd_http_token_fini(&token);
    assert_null(token.header);
    unlink(good);
    unlink(forged);
    unlink(blank);
    free(good);
    free(forged);
    free(blank);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_stops_at_the_limit),
        cmocka_unit_test(test_header_lines),
        cmocka_unit_test(test_token_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
