/* SPDX-License-Identifier: Apache-2.0 */
/* Reflection: the pure answer function request by request, and the stream glue on the
 * recording transport (answers per message, errors end the stream, half-close ends with OK). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grpc/reflection/v1/reflection.pb-c.h"

#include "fake_grpc.h"
#include "pb_builder.h"
#include "services/descriptor_index.h"
#include "services/reflection.h"

extern const unsigned char kd_descriptor_set[];
extern const size_t kd_descriptor_set_len;

#define V1_PATH "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
#define V1ALPHA_PATH "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
#define RESP_CASE(x) GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_##x
#define REQ_CASE(x) GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_##x

/* Request field numbers (keda-grpc.md §5.1). */
enum { REQ_HOST = 1, REQ_FILE = 3, REQ_SYMBOL = 4, REQ_EXT = 5, REQ_EXT_NUMS = 6, REQ_LIST = 7 };

struct fixture {
    struct kd_descriptor_index *index;
    bool sent[8];
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    if (!fx ||
        kd_descriptor_index_create(kd_descriptor_set, kd_descriptor_set_len, &fx->index) != 0)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    kd_descriptor_index_destroy(fx->index);
    free(fx);
    return 0;
}

static struct pb request(const char *host, uint32_t field, const char *value)
{
    struct pb b = {0};
    if (host)
        pb_str(&b, REQ_HOST, host);
    if (field)
        pb_str(&b, field, value);
    return b;
}

static const char *const services[] = {"externalscaler.ExternalScaler", "grpc.health.v1.Health"};

static Grpc__Reflection__V1__ServerReflectionResponse *unpack(const uint8_t *data, size_t len)
{
    Grpc__Reflection__V1__ServerReflectionResponse *resp =
        grpc__reflection__v1__server_reflection_response__unpack(NULL, len, data);
    assert_non_null(resp);
    return resp;
}

/* Answer `req` with the fixture's stream state; the caller frees the response. */
static Grpc__Reflection__V1__ServerReflectionResponse *answer(struct fixture *fx,
                                                              const struct pb *req)
{
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal(
        kd_reflection_answer(fx->index, services, 2, fx->sent, req->data, req->len, &out, &len), 0);
    Grpc__Reflection__V1__ServerReflectionResponse *resp = unpack(out, len);
    free(out);
    return resp;
}

static void free_response(Grpc__Reflection__V1__ServerReflectionResponse *resp)
{
    grpc__reflection__v1__server_reflection_response__free_unpacked(resp, NULL);
}

/* The response carries exactly the files `names`, byte for byte as in the embedded set. */
static void assert_files(const struct fixture *fx,
                         const Grpc__Reflection__V1__ServerReflectionResponse *resp,
                         const char *const *names, size_t n)
{
    assert_int_equal(resp->message_response_case, RESP_CASE(FILE_DESCRIPTOR_RESPONSE));
    assert_int_equal(resp->file_descriptor_response->n_file_descriptor_proto, n);
    for (size_t i = 0; i < n; i++) {
        size_t file;
        assert_int_equal(kd_descriptor_index_find_file(fx->index, names[i], &file), 0);
        const struct kd_descriptor_file *f = kd_descriptor_index_file(fx->index, file);
        const ProtobufCBinaryData *got = &resp->file_descriptor_response->file_descriptor_proto[i];
        assert_int_equal(got->len, f->len);
        assert_memory_equal(got->data, f->bytes, f->len);
    }
}

static void assert_error(const Grpc__Reflection__V1__ServerReflectionResponse *resp,
                         const char *needle)
{
    assert_int_equal(resp->message_response_case, RESP_CASE(ERROR_RESPONSE));
    assert_int_equal(resp->error_response->error_code, 5);
    assert_non_null(strstr(resp->error_response->error_message, needle));
}

static void test_list_services(void **state)
{
    struct fixture *fx = *state;
    struct pb req = request("example:50051", REQ_LIST, "*");
    Grpc__Reflection__V1__ServerReflectionResponse *resp = answer(fx, &req);

    assert_int_equal(resp->message_response_case, RESP_CASE(LIST_SERVICES_RESPONSE));
    assert_int_equal(resp->list_services_response->n_service, 2);
    assert_string_equal(resp->list_services_response->service[0]->name, services[0]);
    assert_string_equal(resp->list_services_response->service[1]->name, services[1]);
    /* valid_host and original_request are echoed, as grpc-go does. */
    assert_string_equal(resp->valid_host, "example:50051");
    assert_non_null(resp->original_request);
    assert_int_equal(resp->original_request->message_request_case, REQ_CASE(LIST_SERVICES));
    assert_string_equal(resp->original_request->list_services, "*");
    free_response(resp);

    /* An empty list_services string still selects the oneof. */
    req = request(NULL, REQ_LIST, "");
    resp = answer(fx, &req);
    assert_int_equal(resp->message_response_case, RESP_CASE(LIST_SERVICES_RESPONSE));
    assert_string_equal(resp->valid_host, "");
    free_response(resp);
}

static void test_file_by_filename(void **state)
{
    struct fixture *fx = *state;
    static const char *const health[] = {"grpc/health/v1/health.proto"};
    struct pb req = request(NULL, REQ_FILE, health[0]);
    Grpc__Reflection__V1__ServerReflectionResponse *resp = answer(fx, &req);

    assert_files(fx, resp, health, 1);
    assert_string_equal(resp->original_request->file_by_filename, health[0]);
    free_response(resp);

    /* Asked again on the same stream: the requested file is always included. */
    resp = answer(fx, &req);
    assert_files(fx, resp, health, 1);
    free_response(resp);
}

static void test_file_containing_symbol(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        const char *symbol, *file;
    } cases[] = {
        {"externalscaler.ExternalScaler", "externalscaler.proto"},
        {"externalscaler.ExternalScaler.GetMetrics", "externalscaler.proto"},
        {"externalscaler.ScaledObjectRef.ScalerMetadataEntry", "externalscaler.proto"},
        {"grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"},
        {"grpc.reflection.v1.ServerReflection", "grpc/reflection/v1/reflection.proto"},
        {"grpc.reflection.v1alpha.ServerReflection", "grpc/reflection/v1alpha/reflection.proto"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pb req = request("h", REQ_SYMBOL, cases[i].symbol);
        Grpc__Reflection__V1__ServerReflectionResponse *resp = answer(fx, &req);
        assert_files(fx, resp, &cases[i].file, 1);
        assert_string_equal(resp->original_request->file_containing_symbol, cases[i].symbol);
        free_response(resp);
    }
}

static void test_unknown_and_extensions(void **state)
{
    struct fixture *fx = *state;
    struct pb req = request(NULL, REQ_SYMBOL, "externalscaler.Nope");
    Grpc__Reflection__V1__ServerReflectionResponse *resp = answer(fx, &req);
    assert_error(resp, "externalscaler.Nope");
    free_response(resp);

    req = request(NULL, REQ_FILE, "nope.proto");
    resp = answer(fx, &req);
    assert_error(resp, "nope.proto");
    free_response(resp);

    /* ExtensionRequest{containing_type, extension_number}: proto3 files have none. */
    struct pb ext = {0};
    pb_str(&ext, 1, "externalscaler.ScaledObjectRef");
    pb_uint(&ext, 2, 100);
    memset(&req, 0, sizeof(req));
    pb_msg(&req, REQ_EXT, &ext);
    resp = answer(fx, &req);
    assert_error(resp, "externalscaler.ScaledObjectRef");
    free_response(resp);

    req = request(NULL, REQ_EXT_NUMS, "externalscaler.ScaledObjectRef");
    resp = answer(fx, &req);
    assert_error(resp, "externalscaler.ScaledObjectRef");
    free_response(resp);
}

static void test_dependency_dedup(void **state)
{
    (void)state;
    /* A set where a.proto imports b.proto: the first answer carries both, later ones only the
     * requested file. */
    static struct pb set, f, m;
    struct kd_descriptor_index *index = NULL;
    bool sent[2] = {false};
    uint8_t *out;
    size_t len;

    memset(&set, 0, sizeof(set));
    memset(&f, 0, sizeof(f));
    memset(&m, 0, sizeof(m));
    pb_str(&f, 1, "b.proto");
    pb_str(&f, 2, "p");
    pb_str(&m, 1, "B");
    pb_msg(&f, 4, &m);
    pb_msg(&set, 1, &f);
    memset(&f, 0, sizeof(f));
    memset(&m, 0, sizeof(m));
    pb_str(&f, 1, "a.proto");
    pb_str(&f, 2, "p");
    pb_str(&f, 3, "b.proto");
    pb_str(&m, 1, "A");
    pb_msg(&f, 4, &m);
    pb_msg(&set, 1, &f);
    assert_int_equal(kd_descriptor_index_create(set.data, set.len, &index), 0);

    static const struct {
        const char *symbol;
        size_t n;
        const char *first;
    } steps[] = {
        {"p.A", 2, "a.proto"}, /* a + its import b */
        {"p.A", 1, "a.proto"}, /* b already sent on this stream */
        {"p.B", 1, "b.proto"}, /* requested file always included */
    };
    for (size_t i = 0; i < 3; i++) {
        struct pb req = request(NULL, REQ_SYMBOL, steps[i].symbol);
        assert_int_equal(kd_reflection_answer(index, NULL, 0, sent, req.data, req.len, &out, &len),
                         0);
        Grpc__Reflection__V1__ServerReflectionResponse *resp = unpack(out, len);
        free(out);
        assert_int_equal(resp->message_response_case, RESP_CASE(FILE_DESCRIPTOR_RESPONSE));
        assert_int_equal(resp->file_descriptor_response->n_file_descriptor_proto, steps[i].n);
        const struct kd_descriptor_file *first = kd_descriptor_index_file(index, i == 2 ? 0 : 1);
        assert_string_equal(first->name, steps[i].first);
        assert_memory_equal(resp->file_descriptor_response->file_descriptor_proto[0].data,
                            first->bytes, first->len);
        free_response(resp);
    }
    kd_descriptor_index_destroy(index);
}

static void test_bad_requests(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        const char *what;
        const char *bytes;
        size_t len;
        int rc;
    } cases[] = {
        {"empty request: no oneof", "", 0, -EINVAL},
        {"only host", "\x0a\x01h", 3, -EINVAL},
        {"garbage", "\xff\xff\xff", 3, -EBADMSG},
        {"length past the end",
         "\x22\x10"
         "abc",
         5, -EBADMSG},
        {"symbol as varint", "\x20\x01", 2, -EBADMSG},
        {"field number 0", "\x00\x01", 2, -EBADMSG},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t *out = (uint8_t *)"untouched";
        size_t len = 7;
        print_message("case: %s\n", cases[i].what);
        assert_int_equal(kd_reflection_answer(fx->index, services, 2, fx->sent,
                                              (const uint8_t *)cases[i].bytes, cases[i].len, &out,
                                              &len),
                         cases[i].rc);
        assert_string_equal((const char *)out, "untouched");
        assert_int_equal(len, 7);
    }
}

/* ---- glue on the recording transport ---------------------------------------------------- */

static void test_stream_glue(void **state)
{
    (void)state;
    struct kd_grpc_server *server = fake_grpc_server_new();
    struct kd_reflection *reflection = NULL;
    static const struct kd_grpc_method dummy = {.path = "/externalscaler.ExternalScaler/IsActive"};

    assert_int_equal(kd_grpc_server_register(server, &dummy, 1), 0);
    assert_int_equal(kd_reflection_create(server, &reflection), 0);
    assert_non_null(fake_grpc_method(server, V1_PATH));
    assert_non_null(fake_grpc_method(server, V1ALPHA_PATH));
    assert_int_equal(fake_grpc_method(server, V1_PATH)->kind, KD_GRPC_BIDI_STREAMING);

    for (int v = 0; v < 2; v++) {
        struct pb req = request(NULL, REQ_LIST, "*");
        struct kd_grpc_call *call =
            fake_grpc_call_start(server, v ? V1ALPHA_PATH : V1_PATH, req.data, req.len);
        /* Answered at once, before any half-close. */
        assert_int_equal(call->n_sent, 1);
        assert_false(call->finished);
        Grpc__Reflection__V1__ServerReflectionResponse *resp =
            unpack(call->sent[0].data, call->sent[0].len);
        assert_int_equal(resp->list_services_response->n_service, 3);
        assert_string_equal(resp->list_services_response->service[0]->name,
                            "externalscaler.ExternalScaler");
        assert_string_equal(resp->list_services_response->service[1]->name,
                            "grpc.reflection.v1.ServerReflection");
        assert_string_equal(resp->list_services_response->service[2]->name,
                            "grpc.reflection.v1alpha.ServerReflection");
        free_response(resp);

        /* Every listed service resolves on the same stream. */
        const char *const names[] = {"externalscaler.ExternalScaler",
                                     "grpc.reflection.v1.ServerReflection",
                                     "grpc.reflection.v1alpha.ServerReflection"};
        for (size_t i = 0; i < 3; i++) {
            req = request(NULL, REQ_SYMBOL, names[i]);
            fake_grpc_call_message(call, req.data, req.len);
            assert_int_equal(call->n_sent, 2 + i);
            resp = unpack(call->sent[1 + i].data, call->sent[1 + i].len);
            assert_int_equal(resp->message_response_case, RESP_CASE(FILE_DESCRIPTOR_RESPONSE));
            free_response(resp);
        }
        fake_grpc_call_half_close(call);
        assert_true(call->finished);
        assert_int_equal(call->status, KD_GRPC_OK);
        fake_grpc_call_close(call);
    }
    kd_reflection_destroy(reflection);
    assert_null(fake_grpc_method(server, V1_PATH));
    fake_grpc_server_free(server);
}

static void test_stream_errors(void **state)
{
    (void)state;
    struct kd_grpc_server *server = fake_grpc_server_new();
    struct kd_reflection *reflection = NULL;
    struct kd_grpc_call *call;
    struct pb ok = request(NULL, REQ_LIST, "*");

    assert_int_equal(kd_reflection_create(server, &reflection), 0);
    assert_int_equal(kd_reflection_create(server, &(struct kd_reflection *){NULL}), -EEXIST);

    /* A malformed message after a good one ends the stream; later messages are ignored. */
    call = fake_grpc_call_start(server, V1_PATH, ok.data, ok.len);
    fake_grpc_call_message(call, (const uint8_t *)"\xff\xff", 2);
    assert_true(call->finished);
    assert_int_equal(call->status, KD_GRPC_INVALID_ARGUMENT);
    assert_string_equal(call->message, "malformed ServerReflectionRequest");
    fake_grpc_call_message(call, ok.data, ok.len);
    assert_int_equal(call->n_sent, 1);
    fake_grpc_call_close(call);

    /* No oneof set: INVALID_ARGUMENT, nothing sent. 0-byte messages are still messages. */
    call = fake_grpc_call_start(server, V1ALPHA_PATH, (const uint8_t *)"", 0);
    assert_true(call->finished);
    assert_int_equal(call->status, KD_GRPC_INVALID_ARGUMENT);
    assert_int_equal(call->n_sent, 0);
    fake_grpc_call_close(call);

    /* Unknown symbol: in-band, the stream stays open. */
    struct pb bad = request(NULL, REQ_SYMBOL, "no.Such");
    call = fake_grpc_call_start(server, V1_PATH, bad.data, bad.len);
    assert_false(call->finished);
    Grpc__Reflection__V1__ServerReflectionResponse *resp =
        unpack(call->sent[0].data, call->sent[0].len);
    assert_error(resp, "no.Such");
    free_response(resp);

    /* Destroyed while the stream is open (shutdown order in main): freed at on_close. */
    kd_reflection_destroy(reflection);
    fake_grpc_call_close(call);
    kd_reflection_destroy(NULL);
    fake_grpc_server_free(server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_services, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_by_filename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_containing_symbol, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_and_extensions, setup, teardown),
        cmocka_unit_test(test_dependency_dedup),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test(test_stream_glue),
        cmocka_unit_test(test_stream_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
