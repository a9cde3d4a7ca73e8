/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the server's bookkeeping that needs no peer: config checks, the route table
 * (register, duplicates, services list, unregister) and listen-address parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "grpc/grpc_server.h"

static void on_message(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    (void)call;
    (void)msg;
    (void)len;
    (void)arg;
}

struct fixture {
    struct event_base *base;
    struct kd_grpc_server *server;
};

static int setup(void **state)
{
    static struct fixture f;
    struct kd_grpc_server_config cfg;
    kd_grpc_server_config_init(&cfg);
    f.base = event_base_new();
    if (!f.base || kd_grpc_server_create(f.base, &cfg, &f.server) != 0)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    kd_grpc_server_destroy(f->server);
    event_base_free(f->base);
    return 0;
}

static void test_config(void **state)
{
    struct fixture *f = *state;
    struct kd_grpc_server_config cfg;
    struct kd_grpc_server *untouched = (struct kd_grpc_server *)&cfg;

    kd_grpc_server_config_init(&cfg);
    assert_int_equal(cfg.max_message_size, 4 << 20);
    assert_true(cfg.max_concurrent_streams >= 1000);
    assert_true(cfg.default_deadline_ms > 0);

    cfg.max_message_size = 0;
    assert_int_equal(kd_grpc_server_create(f->base, &cfg, &untouched), -EINVAL);
    kd_grpc_server_config_init(&cfg);
    cfg.max_concurrent_streams = 0;
    assert_int_equal(kd_grpc_server_create(f->base, &cfg, &untouched), -EINVAL);
    assert_ptr_equal(untouched, (struct kd_grpc_server *)&cfg);
    kd_grpc_server_destroy(NULL);
}

static void test_routes(void **state)
{
    struct fixture *f = *state;
    static const struct kd_grpc_method a[] = {
        {"/pkg.A/One", KD_GRPC_UNARY, on_message, NULL, NULL, NULL},
        {"/pkg.A/Two", KD_GRPC_SERVER_STREAMING, on_message, NULL, NULL, NULL},
        {"/pkg.B/One", KD_GRPC_BIDI_STREAMING, on_message, NULL, NULL, NULL},
    };
    static const struct kd_grpc_method dup[] = {
        {"/pkg.A/Two", KD_GRPC_UNARY, on_message, NULL, NULL, NULL},
    };
    static const struct kd_grpc_method dup_in_table[] = {
        {"/pkg.C/X", KD_GRPC_UNARY, on_message, NULL, NULL, NULL},
        {"/pkg.C/X", KD_GRPC_UNARY, on_message, NULL, NULL, NULL},
    };
    static const struct kd_grpc_method bad[][1] = {
        {{"pkg.A/NoSlash", KD_GRPC_UNARY, on_message, NULL, NULL, NULL}},
        {{"/NoMethod", KD_GRPC_UNARY, on_message, NULL, NULL, NULL}},
        {{"//Empty", KD_GRPC_UNARY, on_message, NULL, NULL, NULL}},
        {{"/pkg.A/", KD_GRPC_UNARY, on_message, NULL, NULL, NULL}},
        {{"/pkg.A/NoHandler", KD_GRPC_UNARY, NULL, NULL, NULL, NULL}},
    };
    const char *const *names;

    assert_int_equal(kd_grpc_server_register(f->server, a, 3), 0);
    assert_int_equal(kd_grpc_server_register(f->server, dup, 1), -EEXIST);
    assert_int_equal(kd_grpc_server_register(f->server, dup_in_table, 2), -EEXIST);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(kd_grpc_server_register(f->server, bad[i], 1), -EINVAL);

    /* Failed registrations added nothing. */
    assert_int_equal(kd_grpc_server_services(f->server, &names), 2);
    assert_string_equal(names[0], "pkg.A");
    assert_string_equal(names[1], "pkg.B");

    kd_grpc_server_unregister_service(f->server, "pkg.A");
    assert_int_equal(kd_grpc_server_services(f->server, &names), 1);
    assert_string_equal(names[0], "pkg.B");
    /* Its paths are free again. */
    assert_int_equal(kd_grpc_server_register(f->server, dup, 1), 0);
    kd_grpc_server_unregister_service(f->server, "no.Such");
    assert_int_equal(kd_grpc_server_services(f->server, &names), 2);
}

static void test_listen_addresses(void **state)
{
    struct fixture *f = *state;
    static const char *const bad[] = {
        "",      "50051",      "127.0.0.1", "127.0.0.1:",   "127.0.0.1:port", "127.0.0.1:70000",
        "[::1]", "[::1]50051", "::1:50051", "127.0.0.1:-1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (kd_grpc_server_listen(f->server, bad[i]) != -EINVAL)
            fail_msg("\"%s\" accepted", bad[i]);
    }
    assert_int_equal(kd_grpc_server_port(f->server), -1);
    assert_int_equal(kd_grpc_server_listen(f->server, "127.0.0.1:0"), 0);
    assert_true(kd_grpc_server_port(f->server) > 0);
    assert_int_equal(kd_grpc_server_listen(f->server, "127.0.0.1:0"), -EBUSY);
}

static void test_listen_in_use(void **state)
{
    struct fixture *f = *state;
    struct kd_grpc_server *other;
    struct kd_grpc_server_config cfg;
    char address[32];

    kd_grpc_server_config_init(&cfg);
    assert_int_equal(kd_grpc_server_listen(f->server, ":0"), 0);
    assert_int_equal(kd_grpc_server_create(f->base, &cfg, &other), 0);
    snprintf(address, sizeof(address), "127.0.0.1:%d", kd_grpc_server_port(f->server));
    assert_int_equal(kd_grpc_server_listen(other, address), -EADDRINUSE);
    kd_grpc_server_destroy(other);
}

static void on_done(void *arg)
{
    (*(int *)arg)++;
}

static void test_drain_without_connections(void **state)
{
    struct fixture *f = *state;
    int done = 0;
    assert_int_equal(kd_grpc_server_listen(f->server, "127.0.0.1:0"), 0);
    kd_grpc_server_drain(f->server, 1000, on_done, &done);
    kd_grpc_server_drain(f->server, 1000, on_done, &done); /* second call: ignored */
    event_base_loop(f->base, EVLOOP_NONBLOCK);
    assert_int_equal(done, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_in_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_without_connections, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
