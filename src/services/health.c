/* SPDX-License-Identifier: Apache-2.0 */
/*
 * grpc.health.v1.Health: every known name shares one serving flag; Watch streams are kept in a
 * list and get a message only when the status they last saw changes.
 */
#include "services/health.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"

#include "grpc/grpc_server.h"
#include "util/list.h"

#define HEALTH_SERVICE "grpc.health.v1.Health"

enum { M_CHECK, M_WATCH, M_LIST, M_COUNT };

struct watch {
    struct kd_list link; /* in kd_health.watches, newest first */
    struct kd_grpc_call *call;
    char *service;
    int last_status; /* last ServingStatus sent on this stream */
};

struct kd_health {
    struct kd_grpc_server *server;
    const char **names; /* "" first, then the services given to create */
    size_t n_names;
    bool serving;
    struct kd_list watches; /* struct watch, by link */
    struct kd_grpc_method methods[M_COUNT];
    size_t open_calls;
    bool destroyed;
};

static bool is_known(const struct kd_health *h, const char *service)
{
    for (size_t i = 0; i < h->n_names; i++) {
        if (strcmp(h->names[i], service) == 0)
            return true;
    }
    return false;
}

static int current_status(const struct kd_health *h, const char *service)
{
    if (!is_known(h, service))
        return GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
    return h->serving ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                      : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
}

/* A HealthCheckResponse is at most 2 bytes (tag + one-byte enum); UNKNOWN would be 0 bytes and
 * is still a message. */
static int send_status(struct kd_grpc_call *call, int status)
{
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    uint8_t buf[8];

    resp.status = status;
    size_t len = grpc__health__v1__health_check_response__pack(&resp, buf);
    return kd_grpc_call_send(call, buf, len);
}

static void health_free(struct kd_health *h)
{
    free(h->names);
    free(h);
}

static void on_check(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    struct kd_health *h = arg;
    Grpc__Health__V1__HealthCheckRequest *req;

    h->open_calls++;
    req = grpc__health__v1__health_check_request__unpack(NULL, len, msg);
    if (!req) {
        kd_grpc_call_finish(call, KD_GRPC_INVALID_ARGUMENT, "malformed HealthCheckRequest");
        return;
    }
    if (!is_known(h, req->service)) {
        kd_grpc_call_finishf(call, KD_GRPC_NOT_FOUND, "unknown service %s", req->service);
    } else if (send_status(call, current_status(h, req->service)) == 0) {
        kd_grpc_call_finish(call, KD_GRPC_OK, NULL);
    } else {
        kd_grpc_call_finish(call, KD_GRPC_RESOURCE_EXHAUSTED, "out of memory");
    }
    grpc__health__v1__health_check_request__free_unpacked(req, NULL);
}

static void on_watch(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    struct kd_health *h = arg;
    Grpc__Health__V1__HealthCheckRequest *req;
    struct watch *w;

    h->open_calls++;
    req = grpc__health__v1__health_check_request__unpack(NULL, len, msg);
    if (!req) {
        kd_grpc_call_finish(call, KD_GRPC_INVALID_ARGUMENT, "malformed HealthCheckRequest");
        return;
    }
    w = calloc(1, sizeof(*w));
    if (w)
        w->service = strdup(req->service);
    grpc__health__v1__health_check_request__free_unpacked(req, NULL);
    if (!w || !w->service) {
        free(w);
        kd_grpc_call_finish(call, KD_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    w->call = call;
    w->last_status = current_status(h, w->service);
    kd_list_push_front(&h->watches, &w->link);
    kd_grpc_call_set_user(call, w);
    if (send_status(call, w->last_status) != 0)
        kd_grpc_call_finish(call, KD_GRPC_RESOURCE_EXHAUSTED, "out of memory");
}

static void on_list(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    struct kd_health *h = arg;
    Grpc__Health__V1__HealthListRequest *req;
    Grpc__Health__V1__HealthCheckResponse *statuses;
    Grpc__Health__V1__HealthListResponse__StatusesEntry *entries, **ptrs;
    Grpc__Health__V1__HealthListResponse resp = GRPC__HEALTH__V1__HEALTH_LIST_RESPONSE__INIT;
    uint8_t *out = NULL;

    h->open_calls++;
    req = grpc__health__v1__health_list_request__unpack(NULL, len, msg);
    if (!req) {
        kd_grpc_call_finish(call, KD_GRPC_INVALID_ARGUMENT, "malformed HealthListRequest");
        return;
    }
    grpc__health__v1__health_list_request__free_unpacked(req, NULL);

    statuses = calloc(h->n_names, sizeof(*statuses));
    entries = calloc(h->n_names, sizeof(*entries));
    ptrs = calloc(h->n_names, sizeof(*ptrs));
    if (!statuses || !entries || !ptrs)
        goto fail_alloc;
    for (size_t i = 0; i < h->n_names; i++) {
        grpc__health__v1__health_check_response__init(&statuses[i]);
        statuses[i].status = current_status(h, h->names[i]);
        grpc__health__v1__health_list_response__statuses_entry__init(&entries[i]);
        entries[i].key = (char *)h->names[i];
        entries[i].value = &statuses[i];
        ptrs[i] = &entries[i];
    }
    resp.n_statuses = h->n_names;
    resp.statuses = ptrs;
    size_t out_len = grpc__health__v1__health_list_response__get_packed_size(&resp);
    out = malloc(out_len ? out_len : 1);
    if (!out)
        goto fail_alloc;
    grpc__health__v1__health_list_response__pack(&resp, out);
    if (kd_grpc_call_send(call, out, out_len) != 0)
        goto fail_alloc;
    kd_grpc_call_finish(call, KD_GRPC_OK, NULL);
    goto done;

fail_alloc:
    kd_grpc_call_finish(call, KD_GRPC_RESOURCE_EXHAUSTED, "out of memory");
done:
    free(out);
    free(ptrs);
    free(entries);
    free(statuses);
}

static void on_close(struct kd_grpc_call *call, void *arg)
{
    struct kd_health *h = arg;
    struct watch *w = kd_grpc_call_user(call);

    if (w) {
        kd_list_remove(&w->link);
        free(w->service);
        free(w);
    }
    h->open_calls--;
    if (h->destroyed && h->open_calls == 0)
        health_free(h);
}

int kd_health_create(struct kd_grpc_server *server, const char *const *services,
                     struct kd_health **ret_health)
{
    struct kd_health *h;
    size_t n = 1;
    int rc;

    while (services && services[n - 1])
        n++;
    h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->names = calloc(n, sizeof(*h->names));
    if (!h->names) {
        rc = -ENOMEM;
        goto fail_names;
    }
    h->names[0] = "";
    for (size_t i = 1; i < n; i++)
        h->names[i] = services[i - 1];
    h->n_names = n;
    h->server = server;
    h->serving = true;
    kd_list_init(&h->watches);

    h->methods[M_CHECK] = (struct kd_grpc_method){
        .path = "/" HEALTH_SERVICE "/Check",
        .kind = KD_GRPC_UNARY,
        .on_message = on_check,
        .on_close = on_close,
        .arg = h,
    };
    h->methods[M_WATCH] = (struct kd_grpc_method){
        .path = "/" HEALTH_SERVICE "/Watch",
        .kind = KD_GRPC_SERVER_STREAMING,
        .on_message = on_watch,
        .on_close = on_close,
        .arg = h,
    };
    h->methods[M_LIST] = (struct kd_grpc_method){
        .path = "/" HEALTH_SERVICE "/List",
        .kind = KD_GRPC_UNARY,
        .on_message = on_list,
        .on_close = on_close,
        .arg = h,
    };
    rc = kd_grpc_server_register(server, h->methods, M_COUNT);
    if (rc != 0)
        goto fail_register;
    *ret_health = h;
    return 0;

fail_register:
    free(h->names);
fail_names:
    free(h);
    return rc;
}

void kd_health_set_serving(struct kd_health *health, bool serving)
{
    struct kd_list *node, *tmp;

    health->serving = serving;
    /* Safe: a failed send finishes the call, which the transport may close (on_close) at once. */
    KD_LIST_FOR_EACH_SAFE(node, tmp, &health->watches) {
        struct watch *w = KD_CONTAINER_OF(node, struct watch, link);
        int status = current_status(health, w->service);
        if (status == w->last_status || kd_grpc_call_is_finished(w->call))
            continue;
        w->last_status = status;
        /* A watcher that cannot be told must not keep believing the old status. */
        if (send_status(w->call, status) != 0)
            kd_grpc_call_finish(w->call, KD_GRPC_UNAVAILABLE, "cannot queue the status");
    }
}

void kd_health_drain(struct kd_health *health)
{
    struct kd_list *node, *tmp;

    /* The transport may close the stream (and run on_close, freeing w) inside finish. */
    KD_LIST_FOR_EACH_SAFE(node, tmp, &health->watches)
        kd_grpc_call_finish(KD_CONTAINER_OF(node, struct watch, link)->call, KD_GRPC_OK, NULL);
}

void kd_health_destroy(struct kd_health *health)
{
    if (!health)
        return;
    kd_grpc_server_unregister_service(health->server, HEALTH_SERVICE);
    health->destroyed = true;
    if (health->open_calls == 0)
        health_free(health);
}
