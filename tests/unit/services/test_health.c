/* SPDX-License-Identifier: Apache-2.0 */
/* Health on the recording transport: Check/List answers, Watch pushes only real changes,
 * drain ends watches with OK, cancelled watches are forgotten. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grpc/health/v1/health.pb-c.h"

#include "fake_grpc.h"
#include "pb_builder.h"
#include "services/health.h"

#define CHECK "/grpc.health.v1.Health/Check"
#define WATCH "/grpc.health.v1.Health/Watch"
#define LIST "/grpc.health.v1.Health/List"
#define SCALER "externalscaler.ExternalScaler"

struct fixture {
    struct kd_grpc_server *server;
    struct kd_health *health;
};

static int setup(void **state)
{
    static const char *const served[] = {SCALER, NULL};
    struct fixture *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    fx->server = fake_grpc_server_new();
    if (kd_health_create(fx->server, served, &fx->health) != 0)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    kd_health_destroy(fx->health);
    fake_grpc_server_free(fx->server);
    free(fx);
    return 0;
}

static struct kd_grpc_call *call_service(struct fixture *fx, const char *path, const char *service)
{
    struct pb req = {0};
    if (service && *service)
        pb_str(&req, 1, service);
    struct kd_grpc_call *call = fake_grpc_call_start(fx->server, path, req.data, req.len);
    assert_non_null(call);
    return call;
}

/* Sent message `i` is exactly HealthCheckResponse{status} (independent of protobuf-c). */
static void assert_status_msg(const struct kd_grpc_call *call, size_t i, int status)
{
    assert_true(call->n_sent > i);
    assert_int_equal(call->sent[i].len, 2);
    assert_int_equal(call->sent[i].data[0], 0x08);
    assert_int_equal(call->sent[i].data[1], status);
}

static void test_registered(void **state)
{
    struct fixture *fx = *state;
    const struct kd_grpc_method *m;
    assert_non_null(m = fake_grpc_method(fx->server, CHECK));
    assert_int_equal(m->kind, KD_GRPC_UNARY);
    assert_non_null(m = fake_grpc_method(fx->server, WATCH));
    assert_int_equal(m->kind, KD_GRPC_SERVER_STREAMING);
    assert_non_null(m = fake_grpc_method(fx->server, LIST));
    assert_int_equal(m->kind, KD_GRPC_UNARY);
}

static void test_check(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        const char *service;
        bool serving;
        int status; /* ServingStatus, or -1 for NOT_FOUND */
    } cases[] = {
        {"", true, 1}, /* overall health: the 0-byte request */
        {SCALER, true, 1},
        {"", false, 2},
        {SCALER, false, 2},
        {"nope", true, -1},
        {"externalscaler", true, -1}, /* exact match only */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kd_health_set_serving(fx->health, cases[i].serving);
        struct kd_grpc_call *call = call_service(fx, CHECK, cases[i].service);
        assert_true(call->finished);
        if (cases[i].status < 0) {
            assert_int_equal(call->status, KD_GRPC_NOT_FOUND);
            assert_int_equal(call->n_sent, 0);
            char want[64];
            snprintf(want, sizeof(want), "unknown service %s", cases[i].service);
            assert_string_equal(call->message, want);
        } else {
            assert_int_equal(call->status, KD_GRPC_OK);
            assert_int_equal(call->n_sent, 1);
            assert_status_msg(call, 0, cases[i].status);
        }
        fake_grpc_call_close(call);
    }
}

static void test_malformed(void **state)
{
    struct fixture *fx = *state;
    static const char *const paths[] = {CHECK, WATCH, LIST};
    for (size_t i = 0; i < 3; i++) {
        struct kd_grpc_call *call =
            fake_grpc_call_start(fx->server, paths[i], (const uint8_t *)"\x0a\x05x", 3);
        assert_true(call->finished);
        assert_int_equal(call->status, KD_GRPC_INVALID_ARGUMENT);
        assert_int_equal(call->n_sent, 0);
        fake_grpc_call_close(call);
    }
}

static void test_watch(void **state)
{
    struct fixture *fx = *state;
    struct kd_grpc_call *known = call_service(fx, WATCH, SCALER);
    struct kd_grpc_call *overall = call_service(fx, WATCH, "");
    struct kd_grpc_call *unknown = call_service(fx, WATCH, "nope");

    /* The current status at once; the unknown one stays open. */
    assert_int_equal(known->n_sent, 1);
    assert_status_msg(known, 0, 1);
    assert_status_msg(overall, 0, 1);
    assert_int_equal(unknown->n_sent, 1);
    assert_status_msg(unknown, 0, 3);
    assert_false(known->finished || overall->finished || unknown->finished);

    kd_health_set_serving(fx->health, false);
    assert_int_equal(known->n_sent, 2);
    assert_status_msg(known, 1, 2);
    assert_status_msg(overall, 1, 2);
    assert_int_equal(unknown->n_sent, 1); /* SERVICE_UNKNOWN did not change */

    /* No change, no message. */
    kd_health_set_serving(fx->health, false);
    assert_int_equal(known->n_sent, 2);

    /* A cancelled watch (RST_STREAM) is forgotten. */
    fake_grpc_call_close(overall);
    kd_health_set_serving(fx->health, true);
    assert_int_equal(known->n_sent, 3);
    assert_status_msg(known, 2, 1);

    kd_health_drain(fx->health);
    assert_true(known->finished && unknown->finished);
    assert_int_equal(known->status, KD_GRPC_OK);
    assert_int_equal(unknown->status, KD_GRPC_OK);
    assert_int_equal(known->n_sent, 3);
    fake_grpc_call_close(known);
    fake_grpc_call_close(unknown);
}

static void test_list(void **state)
{
    struct fixture *fx = *state;
    kd_health_set_serving(fx->health, false);
    struct kd_grpc_call *call = fake_grpc_call_start(fx->server, LIST, (const uint8_t *)"", 0);
    assert_true(call->finished);
    assert_int_equal(call->status, KD_GRPC_OK);
    assert_int_equal(call->n_sent, 1);
    Grpc__Health__V1__HealthListResponse *resp =
        grpc__health__v1__health_list_response__unpack(NULL, call->sent[0].len, call->sent[0].data);
    assert_non_null(resp);
    assert_int_equal(resp->n_statuses, 2);
    assert_string_equal(resp->statuses[0]->key, "");
    assert_string_equal(resp->statuses[1]->key, SCALER);
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(resp->statuses[i]->value->status, 2);
    grpc__health__v1__health_list_response__free_unpacked(resp, NULL);
    fake_grpc_call_close(call);
}

static void test_destroy_with_open_watch(void **state)
{
    (void)state;
    struct kd_grpc_server *server = fake_grpc_server_new();
    struct kd_health *health = NULL;
    struct kd_grpc_call *call;

    assert_int_equal(kd_health_create(server, NULL, &health), 0);
    assert_int_equal(kd_health_create(server, NULL, &(struct kd_health *){NULL}), -EEXIST);
    call = fake_grpc_call_start(server, WATCH, (const uint8_t *)"", 0);
    assert_status_msg(call, 0, 1);
    /* main destroys services before the server; the watch's on_close comes later. */
    kd_health_destroy(health);
    assert_null(fake_grpc_method(server, CHECK));
    fake_grpc_call_close(call);
    kd_health_destroy(NULL);
    fake_grpc_server_free(server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test(test_destroy_with_open_watch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
