/* SPDX-License-Identifier: Apache-2.0 */
/* Admin HTTP server: address forms, bind errors. Requests are covered by test_ops.py. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>
#include <event2/event.h>

#include "ops/admin_http.h"
#include "ops/metrics.h"

static void test_addresses(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct kd_metrics *m;
    struct kd_admin_http *h, *h2;
    const char *bad[] = {"",    "8082",      "host", ":",     ":abc",         ":70000",
                         ":-1", "[::1]8082", "[::1", "a:b:c", "127.0.0.1:80x"};

    assert_non_null(base);
    assert_int_equal(kd_metrics_create(&m), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(kd_admin_http_create(base, bad[i], m, NULL, &h), -EINVAL);

    assert_int_equal(kd_admin_http_create(base, "127.0.0.1:0", m, NULL, &h), 0);
    int port = kd_admin_http_port(h);
    assert_true(port > 0);
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    assert_int_equal(kd_admin_http_create(base, addr, m, NULL, &h2), -EADDRINUSE);
    kd_admin_http_destroy(h);

    assert_int_equal(kd_admin_http_create(base, "[::1]:0", m, NULL, &h), 0);
    kd_admin_http_destroy(h);
    assert_int_equal(kd_admin_http_create(base, ":0", m, NULL, &h), 0);
    kd_admin_http_destroy(h);
    kd_admin_http_destroy(NULL);
    kd_metrics_destroy(m);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
