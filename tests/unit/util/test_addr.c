/* SPDX-License-Identifier: Apache-2.0 */
/* util/addr.c: the listen address syntax both servers accept, resolution, bound ports. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <netdb.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "util/addr.h"

struct addr_case {
    const char *address;
    int rc;
    const char *host;
    uint16_t port;
};

static const struct addr_case addr_cases[] = {
    {"127.0.0.1:50051", 0, "127.0.0.1", 50051},
    {":8080", 0, "0.0.0.0", 8080}, /* every IPv4 interface */
    {"[::1]:0", 0, "::1", 0},
    {"[::]:65535", 0, "::", 65535},
    {"localhost:1", 0, "localhost", 1},
    {"", -EINVAL, NULL, 0},
    {"50051", -EINVAL, NULL, 0},           /* no colon */
    {"127.0.0.1:", -EINVAL, NULL, 0},      /* no port */
    {"127.0.0.1:port", -EINVAL, NULL, 0},  /* not digits */
    {"127.0.0.1:70000", -EINVAL, NULL, 0}, /* out of range */
    {"127.0.0.1:99999999999999999999", -EINVAL, NULL, 0},
    {"127.0.0.1:-1", -EINVAL, NULL, 0},
    {"127.0.0.1:+80", -EINVAL, NULL, 0}, /* digits only, no sign */
    {"127.0.0.1:80x", -EINVAL, NULL, 0},
    {"::1:50051", -EINVAL, NULL, 0}, /* IPv6 needs brackets */
    {"a:b:c", -EINVAL, NULL, 0},
    {"[::1]", -EINVAL, NULL, 0},
    {"[::1]50051", -EINVAL, NULL, 0},
    {"[::1", -EINVAL, NULL, 0},
};

static void test_split(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
        const struct addr_case *c = &addr_cases[i];
        char host[KD_ADDR_HOST_MAX + 1];
        uint16_t port = 12345;
        int rc = kd_addr_split(c->address, host, sizeof(host), &port);
        if (rc != c->rc)
            fail_msg("\"%s\": rc %d, want %d", c->address, rc, c->rc);
        if (rc == 0) {
            assert_string_equal(host, c->host);
            assert_int_equal(port, c->port);
        } else {
            assert_int_equal(port, 12345); /* untouched */
        }
    }
}

static void test_host_too_long(void **state)
{
    (void)state;
    char address[KD_ADDR_HOST_MAX + 8];
    char host[KD_ADDR_HOST_MAX + 1];
    uint16_t port;

    memset(address, 'a', KD_ADDR_HOST_MAX + 1);
    strcpy(address + KD_ADDR_HOST_MAX + 1, ":80");
    assert_int_equal(kd_addr_split(address, host, sizeof(host), &port), -EINVAL);
    strcpy(address + KD_ADDR_HOST_MAX, ":80");
    assert_int_equal(kd_addr_split(address, host, sizeof(host), &port), 0);
    assert_int_equal(strlen(host), KD_ADDR_HOST_MAX);
    assert_int_equal(kd_addr_split("127.0.0.1:80", host, 4, &port), -EINVAL); /* small buffer */
}

static void test_resolve_bind_and_port(void **state)
{
    (void)state;
    struct addrinfo *res, *other;

    assert_int_equal(kd_addr_resolve("127.0.0.1:bad", &res), -EINVAL);
    assert_int_equal(kd_addr_resolve("no-such-host.invalid:80", &res), -EADDRNOTAVAIL);
    assert_int_equal(kd_addr_resolve("127.0.0.1:0", &res), 0);
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, res->ai_addr, res->ai_addrlen), 0);
    int port = kd_addr_local_port(fd);
    assert_true(port > 0);
    assert_false(kd_addr_is_bound_to(fd, res)); /* port 0 asked, another one bound */

    char address[32];
    snprintf(address, sizeof(address), "127.0.0.1:%d", port);
    assert_int_equal(kd_addr_resolve(address, &other), 0);
    assert_true(kd_addr_is_bound_to(fd, other));
    freeaddrinfo(other);
    snprintf(address, sizeof(address), ":%d", port); /* 0.0.0.0 is another address */
    assert_int_equal(kd_addr_resolve(address, &other), 0);
    assert_false(kd_addr_is_bound_to(fd, other));
    freeaddrinfo(other);
    close(fd);
    assert_int_equal(kd_addr_local_port(fd), -1);
    freeaddrinfo(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_host_too_long),
        cmocka_unit_test(test_resolve_bind_and_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
