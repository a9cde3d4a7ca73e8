/* SPDX-License-Identifier: Apache-2.0 */
/* The recording transport behind fake_grpc.h: every kd_grpc_* symbol the services use. */
#include "fake_grpc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kd_grpc_server *fake_grpc_server_new(void)
{
    return calloc(1, sizeof(struct kd_grpc_server));
}

void fake_grpc_server_free(struct kd_grpc_server *server)
{
    free(server);
}

const struct kd_grpc_method *fake_grpc_method(const struct kd_grpc_server *server, const char *path)
{
    for (size_t i = 0; i < server->n_methods; i++) {
        if (server->methods[i] && strcmp(server->methods[i]->path, path) == 0)
            return server->methods[i];
    }
    return NULL;
}

static void service_of(const char *path, char *buf, size_t size)
{
    const char *slash = strchr(path + 1, '/');
    size_t n = slash ? (size_t)(slash - path - 1) : strlen(path + 1);
    snprintf(buf, size, "%.*s", (int)n, path + 1);
}

static void rebuild_services(struct kd_grpc_server *server)
{
    server->n_services = 0;
    for (size_t i = 0; i < server->n_methods; i++) {
        char name[128];
        bool seen = false;
        if (!server->methods[i])
            continue;
        service_of(server->methods[i]->path, name, sizeof(name));
        for (size_t s = 0; s < server->n_services; s++)
            seen |= strcmp(server->services[s], name) == 0;
        if (seen)
            continue;
        memcpy(server->service_buf[server->n_services], name, sizeof(name));
        server->services[server->n_services] = server->service_buf[server->n_services];
        server->n_services++;
    }
}

void kd_grpc_server_config_init(struct kd_grpc_server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
}

int kd_grpc_server_register(struct kd_grpc_server *server, const struct kd_grpc_method *methods,
                            size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fake_grpc_method(server, methods[i].path))
            return -EEXIST;
    }
    if (server->n_methods + n > FAKE_MAX_METHODS)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        server->methods[server->n_methods++] = &methods[i];
    rebuild_services(server);
    return 0;
}

void kd_grpc_server_unregister_service(struct kd_grpc_server *server, const char *service)
{
    for (size_t i = 0; i < server->n_methods; i++) {
        char name[128];
        if (!server->methods[i])
            continue;
        service_of(server->methods[i]->path, name, sizeof(name));
        if (strcmp(name, service) == 0)
            server->methods[i] = NULL;
    }
    rebuild_services(server);
}

size_t kd_grpc_server_services(const struct kd_grpc_server *server, const char *const **ret_names)
{
    *ret_names = server->services;
    return server->n_services;
}

struct kd_grpc_call *fake_grpc_call_start(const struct kd_grpc_server *server, const char *path,
                                          const uint8_t *msg, size_t len)
{
    struct kd_grpc_call *call = calloc(1, sizeof(*call));
    if (!call)
        return NULL;
    call->method = fake_grpc_method(server, path);
    if (!call->method) {
        free(call);
        return NULL;
    }
    fake_grpc_call_message(call, msg, len);
    return call;
}

void fake_grpc_call_message(struct kd_grpc_call *call, const uint8_t *msg, size_t len)
{
    /* A private copy, so handlers that keep the borrowed pointer show up under ASan. */
    uint8_t *copy = malloc(len ? len : 1);
    if (len)
        memcpy(copy, msg, len);
    call->method->on_message(call, copy, len, call->method->arg);
    free(copy);
}

void fake_grpc_call_half_close(struct kd_grpc_call *call)
{
    if (call->method->on_half_close)
        call->method->on_half_close(call, call->method->arg);
}

void fake_grpc_call_close(struct kd_grpc_call *call)
{
    call->method->on_close(call, call->method->arg);
    for (size_t i = 0; i < call->n_sent; i++)
        free(call->sent[i].data);
    free(call);
}

int kd_grpc_call_send(struct kd_grpc_call *call, const uint8_t *msg, size_t len)
{
    if (call->finished)
        return -EPIPE;
    if (call->n_sent == FAKE_MAX_SENT)
        return -ENOMEM;
    struct fake_msg *m = &call->sent[call->n_sent++];
    m->data = malloc(len ? len : 1);
    if (len)
        memcpy(m->data, msg, len);
    m->len = len;
    return 0;
}

int kd_grpc_call_finish(struct kd_grpc_call *call, enum kd_grpc_status status, const char *message)
{
    if (call->finished)
        return -EALREADY;
    call->finished = true;
    call->status = status;
    snprintf(call->message, sizeof(call->message), "%s", message ? message : "");
    return 0;
}

int kd_grpc_call_finishf(struct kd_grpc_call *call, enum kd_grpc_status status, const char *fmt,
                         ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return kd_grpc_call_finish(call, status, buf);
}

bool kd_grpc_call_is_finished(const struct kd_grpc_call *call)
{
    return call->finished;
}

void kd_grpc_call_set_user(struct kd_grpc_call *call, void *user)
{
    call->user = user;
}

void *kd_grpc_call_user(const struct kd_grpc_call *call)
{
    return call->user;
}
