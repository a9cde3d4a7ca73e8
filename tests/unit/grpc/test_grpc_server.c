/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the server's bookkeeping that needs no peer: config checks, the route table
 * (register, duplicates, services list, unregister), listen-address parsing, and moving the
 * listener and limits on reload. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

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

/* 0 if a TCP connection to 127.0.0.1:port is accepted by the kernel, else -errno. */
static int try_connect(int port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int rc = 0;

    assert_true(fd >= 0);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
        rc = -errno;
    close(fd);
    return rc;
}

static void test_relisten(void **state)
{
    struct fixture *f = *state;
    struct kd_grpc_server *other;
    struct kd_grpc_server_config cfg;
    char address[32];
    int done = 0;

    kd_grpc_server_config_init(&cfg);
    assert_int_equal(kd_grpc_server_relisten(f->server, "127.0.0.1:0"), -EBUSY);
    assert_int_equal(kd_grpc_server_listen(f->server, "127.0.0.1:0"), 0);
    int first = kd_grpc_server_port(f->server);

    /* The address already served, spelled alike or not: kept, no second bind. */
    snprintf(address, sizeof(address), "127.0.0.1:%d", first);
    assert_int_equal(kd_grpc_server_relisten(f->server, address), 0);
    assert_int_equal(kd_grpc_server_port(f->server), first);

    /* A new address that cannot be bound leaves the old listener serving. */
    assert_int_equal(kd_grpc_server_create(f->base, &cfg, &other), 0);
    assert_int_equal(kd_grpc_server_listen(other, "127.0.0.1:0"), 0);
    snprintf(address, sizeof(address), "127.0.0.1:%d", kd_grpc_server_port(other));
    assert_int_equal(kd_grpc_server_relisten(f->server, address), -EADDRINUSE);
    assert_int_equal(kd_grpc_server_relisten(f->server, "127.0.0.1:port"), -EINVAL);
    assert_int_equal(kd_grpc_server_port(f->server), first);
    assert_int_equal(try_connect(first), 0);
    kd_grpc_server_destroy(other);

    /* Moved: the new port accepts, the old one refuses. */
    assert_int_equal(kd_grpc_server_relisten(f->server, "127.0.0.1:0"), 0);
    int second = kd_grpc_server_port(f->server);
    assert_true(second > 0 && second != first);
    assert_int_equal(try_connect(second), 0);
    assert_int_equal(try_connect(first), -ECONNREFUSED);

    kd_grpc_server_drain(f->server, 0, on_done, &done);
    assert_int_equal(kd_grpc_server_relisten(f->server, "127.0.0.1:0"), -EBUSY);
    event_base_loop(f->base, EVLOOP_NONBLOCK);
}

static void test_reconfigure(void **state)
{
    struct fixture *f = *state;
    struct kd_grpc_server_config cfg;

    kd_grpc_server_config_init(&cfg);
    cfg.max_message_size = 0;
    assert_int_equal(kd_grpc_server_reconfigure(f->server, &cfg), -EINVAL);
    kd_grpc_server_config_init(&cfg);
    cfg.max_concurrent_streams = 0;
    assert_int_equal(kd_grpc_server_reconfigure(f->server, &cfg), -EINVAL);
    kd_grpc_server_config_init(&cfg);
    cfg.max_message_size = 1024;
    cfg.default_deadline_ms = 500;
    assert_int_equal(kd_grpc_server_reconfigure(f->server, &cfg), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_in_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_without_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relisten, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconfigure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
