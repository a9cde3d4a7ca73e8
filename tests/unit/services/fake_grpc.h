/* SPDX-License-Identifier: Apache-2.0 */
/* A recording stand-in for src/grpc/grpc_server.h, so the service glue (health watches,
 * reflection streams) is unit-tested without sockets. */
#ifndef KD_FAKE_GRPC_H
#define KD_FAKE_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grpc/grpc_server.h"

#define FAKE_MAX_SENT 16
#define FAKE_MAX_METHODS 16

struct fake_msg {
    uint8_t *data;
    size_t len;
};

struct kd_grpc_call {
    const struct kd_grpc_method *method;
    void *user;
    size_t n_sent;
    struct fake_msg sent[FAKE_MAX_SENT];
    bool finished;
    enum kd_grpc_status status;
    char message[256];
};

struct kd_grpc_server {
    size_t n_methods;
    const struct kd_grpc_method *methods[FAKE_MAX_METHODS];
    size_t n_services;
    const char *services[FAKE_MAX_METHODS];
    char service_buf[FAKE_MAX_METHODS][128];
};

/* A server with nothing registered. */
struct kd_grpc_server *fake_grpc_server_new(void);
void fake_grpc_server_free(struct kd_grpc_server *server);

/* The registered method for `path`, or NULL. */
const struct kd_grpc_method *fake_grpc_method(const struct kd_grpc_server *server,
                                              const char *path);

/* Start a call of `path` and deliver one message (on_message). */
struct kd_grpc_call *fake_grpc_call_start(const struct kd_grpc_server *server, const char *path,
                                          const uint8_t *msg, size_t len);
void fake_grpc_call_message(struct kd_grpc_call *call, const uint8_t *msg, size_t len);
void fake_grpc_call_half_close(struct kd_grpc_call *call);
/* on_close (cancel or after finish), then free the call. */
void fake_grpc_call_close(struct kd_grpc_call *call);

#endif /* KD_FAKE_GRPC_H */
