/* SPDX-License-Identifier: Apache-2.0 */
/* grpc/grpc_router.c: lookups, services, removal, and grpc-go's words for unroutable paths. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "grpc/grpc_router.h"

static void on_message(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    (void)call;
    (void)msg;
    (void)len;
    (void)arg;
}

static const struct kd_grpc_method methods[] = {
    {"/pkg.A/One", KD_GRPC_UNARY, on_message, NULL, NULL, NULL},
    {"/pkg.A/Two", KD_GRPC_SERVER_STREAMING, on_message, NULL, NULL, NULL},
    {"/pkg.AB/One", KD_GRPC_UNARY, on_message, NULL, NULL, NULL}, /* a prefix of no other */
};

static void test_find(void **state)
{
    (void)state;
    struct kd_grpc_router r;

    kd_grpc_router_init(&r);
    assert_null(kd_grpc_router_find(&r, "/pkg.A/One"));
    assert_int_equal(kd_grpc_router_add(&r, methods, 3), 0);
    assert_ptr_equal(kd_grpc_router_find(&r, "/pkg.A/One"), &methods[0]);
    assert_ptr_equal(kd_grpc_router_find(&r, "/pkg.AB/One"), &methods[2]);
    assert_null(kd_grpc_router_find(&r, "/pkg.A/On"));
    assert_null(kd_grpc_router_find(&r, "/pkg.A/One/"));
    assert_null(kd_grpc_router_find(&r, ""));
    assert_ptr_equal(kd_grpc_router_find_n(&r, "/pkg.A/Two+", 10), &methods[1]);
    assert_null(kd_grpc_router_find_n(&r, "/pkg.A/One\0xyz", 14)); /* no NUL inside */
    assert_null(kd_grpc_router_find_n(&r, "/pkg.A/On", 9));
    assert_true(kd_grpc_router_has_service(&r, "pkg.A", 5));
    assert_true(kd_grpc_router_has_service(&r, "pkg.AB", 6));
    assert_false(kd_grpc_router_has_service(&r, "pkg.", 4));
    assert_true(kd_grpc_method_in_service(&methods[0], "pkg.A", 5));
    assert_false(kd_grpc_method_in_service(&methods[2], "pkg.A", 5));
    assert_int_equal(kd_grpc_router_add(&r, methods, 1), -EEXIST);
    kd_grpc_router_fini(&r);
}

static void test_remove_service(void **state)
{
    (void)state;
    struct kd_grpc_router r;

    kd_grpc_router_init(&r);
    assert_int_equal(kd_grpc_router_add(&r, methods, 3), 0);
    assert_int_equal(r.n_services, 2);
    kd_grpc_router_remove_service(&r, "pkg.A");
    assert_null(kd_grpc_router_find(&r, "/pkg.A/One"));
    assert_null(kd_grpc_router_find(&r, "/pkg.A/Two"));
    assert_ptr_equal(kd_grpc_router_find(&r, "/pkg.AB/One"), &methods[2]);
    assert_int_equal(r.n_services, 1);
    assert_string_equal(r.services[0], "pkg.AB");
    kd_grpc_router_remove_service(&r, "pkg.AB");
    kd_grpc_router_remove_service(&r, "pkg.AB"); /* gone already: no-op */
    assert_int_equal(r.n_routes, 0);
    assert_int_equal(r.n_services, 0);
    kd_grpc_router_fini(&r);
}

static void test_explain(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        const char *text;
    } cases[] = {
        {"/pkg.A/Nope", "unknown method Nope for service pkg.A"},
        {"/pkg.B/One", "unknown service pkg.B"},
        {"/pkg.A", "malformed method name: \"/pkg.A\""},
        {"", "malformed method name: \"\""},
        {"/a/b/c", "unknown service a/b"},                     /* splits at the last '/' */
        {"pkg.A/One", "unknown method One for service pkg.A"}, /* no leading '/' */
        {"/x\n", "malformed method name: \"/x\\x0a\""},
    };
    struct kd_grpc_router r;
    char text[256];

    kd_grpc_router_init(&r);
    assert_int_equal(kd_grpc_router_add(&r, methods, 3), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kd_grpc_router_explain(&r, cases[i].path, text, sizeof(text));
        assert_string_equal(text, cases[i].text);
    }
    kd_grpc_router_fini(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_remove_service),
        cmocka_unit_test(test_explain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
