/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Server reflection: a pure request -> response core over the descriptor index, and the glue
 * that answers each message of a ServerReflectionInfo stream as soon as it arrives.
 */
#include "services/reflection.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/reflection/v1/reflection.pb-c.h"

#include "grpc/grpc_server.h"
#include "services/descriptor_index.h"
#include "util/log.h"

extern const unsigned char kd_descriptor_set[];
extern const size_t kd_descriptor_set_len;

#define REQUEST_CASE(x) GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_##x
#define RESPONSE_CASE(x) GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_##x

static const char *const kd_reflection_services[] = {
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
};

struct kd_reflection {
    struct kd_grpc_server *server;
    struct kd_descriptor_index *index;
    struct kd_grpc_method methods[2];
    size_t open_calls;
    bool destroyed;
};

/* What one answer points into until it is packed. */
struct answer {
    char *error_message;
    size_t *files;
    ProtobufCBinaryData *blobs;
    Grpc__Reflection__V1__ServiceResponse *service_items;
    Grpc__Reflection__V1__ServiceResponse **service_ptrs;
    Grpc__Reflection__V1__FileDescriptorResponse fd;
    Grpc__Reflection__V1__ListServiceResponse list;
    Grpc__Reflection__V1__ErrorResponse error;
};

static int answer_error(struct answer *a, Grpc__Reflection__V1__ServerReflectionResponse *resp,
                        const char *what, const char *name)
{
    if (asprintf(&a->error_message, "%s not found: %s", what, name) < 0) {
        a->error_message = NULL;
        return -ENOMEM;
    }
    grpc__reflection__v1__error_response__init(&a->error);
    a->error.error_code = 5; /* NOT_FOUND, as grpc-go */
    a->error.error_message = a->error_message;
    resp->message_response_case = RESPONSE_CASE(ERROR_RESPONSE);
    resp->error_response = &a->error;
    return 0;
}

static int answer_files(struct answer *a, Grpc__Reflection__V1__ServerReflectionResponse *resp,
                        const struct kd_descriptor_index *index, size_t file, bool *sent)
{
    size_t count = kd_descriptor_index_count(index), n;

    a->files = malloc(count * sizeof(*a->files));
    a->blobs = malloc(count * sizeof(*a->blobs));
    if (!a->files || !a->blobs)
        return -ENOMEM;
    kd_descriptor_index_closure(index, file, sent, a->files, &n);
    for (size_t i = 0; i < n; i++) {
        const struct kd_descriptor_file *f = kd_descriptor_index_file(index, a->files[i]);
        /* The exact bytes from the set: protobuf-c only reads them while packing. */
        a->blobs[i] = (ProtobufCBinaryData){.len = f->len, .data = (uint8_t *)f->bytes};
    }
    grpc__reflection__v1__file_descriptor_response__init(&a->fd);
    a->fd.n_file_descriptor_proto = n;
    a->fd.file_descriptor_proto = a->blobs;
    resp->message_response_case = RESPONSE_CASE(FILE_DESCRIPTOR_RESPONSE);
    resp->file_descriptor_response = &a->fd;
    return 0;
}

static int answer_services(struct answer *a, Grpc__Reflection__V1__ServerReflectionResponse *resp,
                           const char *const *services, size_t n_services)
{
    size_t n = n_services ? n_services : 1;

    a->service_items = malloc(n * sizeof(*a->service_items));
    a->service_ptrs = malloc(n * sizeof(*a->service_ptrs));
    if (!a->service_items || !a->service_ptrs)
        return -ENOMEM;
    for (size_t i = 0; i < n_services; i++) {
        grpc__reflection__v1__service_response__init(&a->service_items[i]);
        a->service_items[i].name = (char *)services[i];
        a->service_ptrs[i] = &a->service_items[i];
    }
    grpc__reflection__v1__list_service_response__init(&a->list);
    a->list.n_service = n_services;
    a->list.service = a->service_ptrs;
    resp->message_response_case = RESPONSE_CASE(LIST_SERVICES_RESPONSE);
    resp->list_services_response = &a->list;
    return 0;
}

static int answer_request(struct answer *a, Grpc__Reflection__V1__ServerReflectionResponse *resp,
                          const struct kd_descriptor_index *index, const char *const *services,
                          size_t n_services, bool *sent,
                          const Grpc__Reflection__V1__ServerReflectionRequest *req)
{
    size_t file;

    switch (req->message_request_case) {
    case REQUEST_CASE(FILE_BY_FILENAME):
        if (kd_descriptor_index_find_file(index, req->file_by_filename, &file) != 0)
            return answer_error(a, resp, "file", req->file_by_filename);
        return answer_files(a, resp, index, file, sent);
    case REQUEST_CASE(FILE_CONTAINING_SYMBOL):
        if (kd_descriptor_index_find_symbol(index, req->file_containing_symbol, &file) != 0)
            return answer_error(a, resp, "symbol", req->file_containing_symbol);
        return answer_files(a, resp, index, file, sent);
    case REQUEST_CASE(FILE_CONTAINING_EXTENSION):
        /* The served files are proto3 and declare no extensions. */
        return answer_error(a, resp, "extension of type",
                            req->file_containing_extension &&
                                    req->file_containing_extension->containing_type
                                ? req->file_containing_extension->containing_type
                                : "");
    case REQUEST_CASE(ALL_EXTENSION_NUMBERS_OF_TYPE):
        return answer_error(a, resp, "extensions of type", req->all_extension_numbers_of_type);
    case REQUEST_CASE(LIST_SERVICES):
        return answer_services(a, resp, services, n_services);
    default:
        return -EINVAL;
    }
}

int kd_reflection_answer(const struct kd_descriptor_index *index, const char *const *services,
                         size_t n_services, bool *sent, const uint8_t *req, size_t req_len,
                         uint8_t **ret_resp, size_t *ret_resp_len)
{
    Grpc__Reflection__V1__ServerReflectionRequest *request;
    Grpc__Reflection__V1__ServerReflectionResponse resp =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
    struct answer a = {0};
    uint8_t *out;
    size_t len;
    int rc;

    request = grpc__reflection__v1__server_reflection_request__unpack(NULL, req_len, req);
    if (!request)
        return -EBADMSG;
    resp.valid_host = request->host;
    resp.original_request = request;
    rc = answer_request(&a, &resp, index, services, n_services, sent, request);
    if (rc != 0)
        goto fail;

    len = grpc__reflection__v1__server_reflection_response__get_packed_size(&resp);
    out = malloc(len ? len : 1);
    if (!out) {
        rc = -ENOMEM;
        goto fail;
    }
    grpc__reflection__v1__server_reflection_response__pack(&resp, out);
    *ret_resp = out;
    *ret_resp_len = len;

fail:
    free(a.error_message);
    free(a.files);
    free(a.blobs);
    free(a.service_items);
    free(a.service_ptrs);
    grpc__reflection__v1__server_reflection_request__free_unpacked(request, NULL);
    return rc;
}

/* ---- glue ------------------------------------------------------------------------------- */

static void reflection_free(struct kd_reflection *r)
{
    kd_descriptor_index_destroy(r->index);
    free(r);
}

static void on_message(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    struct kd_reflection *r = arg;
    bool *sent = kd_grpc_call_user(call);
    const char *const *services;
    size_t n_services;
    uint8_t *resp;
    size_t resp_len;
    int rc;

    if (kd_grpc_call_is_finished(call))
        return;
    if (!sent) {
        /* First message: on_close will follow exactly once. */
        r->open_calls++;
        sent = calloc(kd_descriptor_index_count(r->index) + 1, sizeof(*sent));
        if (!sent) {
            kd_grpc_call_finish(call, KD_GRPC_RESOURCE_EXHAUSTED, "out of memory");
            return;
        }
        kd_grpc_call_set_user(call, sent);
    }

    n_services = kd_grpc_server_services(r->server, &services);
    rc = kd_reflection_answer(r->index, services, n_services, sent, msg, len, &resp, &resp_len);
    if (rc == -EBADMSG) {
        kd_grpc_call_finish(call, KD_GRPC_INVALID_ARGUMENT, "malformed ServerReflectionRequest");
        return;
    }
    if (rc == -EINVAL) {
        kd_grpc_call_finish(call, KD_GRPC_INVALID_ARGUMENT, "invalid MessageRequest: none set");
        return;
    }
    if (rc != 0) {
        kd_grpc_call_finish(call, KD_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    rc = kd_grpc_call_send(call, resp, resp_len);
    free(resp);
    if (rc != 0 && rc != -EPIPE)
        kd_grpc_call_finish(call, KD_GRPC_RESOURCE_EXHAUSTED, "cannot queue the response");
}

static void on_half_close(struct kd_grpc_call *call, void *arg)
{
    (void)arg;
    kd_grpc_call_finish(call, KD_GRPC_OK, NULL);
}

static void on_close(struct kd_grpc_call *call, void *arg)
{
    struct kd_reflection *r = arg;

    free(kd_grpc_call_user(call));
    r->open_calls--;
    if (r->destroyed && r->open_calls == 0)
        reflection_free(r);
}

int kd_reflection_create(struct kd_grpc_server *server, struct kd_reflection **ret_reflection)
{
    struct kd_reflection *r;
    int rc;

    r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->server = server;
    rc = kd_descriptor_index_create(kd_descriptor_set, kd_descriptor_set_len, &r->index);
    if (rc != 0) {
        KD_ERROR("reflection: cannot index the embedded descriptor set: %s", strerror(-rc));
        goto fail_index;
    }
    for (size_t i = 0; i < 2; i++) {
        r->methods[i] = (struct kd_grpc_method){
            .path = i == 0 ? "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
                           : "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            .kind = KD_GRPC_BIDI_STREAMING,
            .on_message = on_message,
            .on_half_close = on_half_close,
            .on_close = on_close,
            .arg = r,
        };
    }
    rc = kd_grpc_server_register(server, r->methods, 2);
    if (rc != 0)
        goto fail_register;
    *ret_reflection = r;
    return 0;

fail_register:
    kd_descriptor_index_destroy(r->index);
fail_index:
    free(r);
    return rc;
}

void kd_reflection_destroy(struct kd_reflection *reflection)
{
    if (!reflection)
        return;
    for (size_t i = 0; i < 2; i++)
        kd_grpc_server_unregister_service(reflection->server, kd_reflection_services[i]);
    reflection->destroyed = true;
    if (reflection->open_calls == 0)
        reflection_free(reflection);
}
