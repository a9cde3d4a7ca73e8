/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A whole HTTP/2 session, bytes in: the input (after the client preface, which the harness
 * sends so that the fuzzer reaches frames) goes through a bufferevent pair into a real
 * connection of the gRPC transport, with nghttp2's callbacks, the call state machine, the
 * health and reflection services and an echo method behind it. Output is read and dropped;
 * then the server is destroyed, so every call's on_close and every free runs.
 */
#include <stdint.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "grpc/grpc_conn.h"
#include "grpc/grpc_server.h"
#include "services/health.h"
#include "services/reflection.h"

static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static void echo(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    (void)arg;
    kd_grpc_call_send(call, msg, len);
    if (len > 0 && msg[0] == 'f')
        kd_grpc_call_finish(call, KD_GRPC_OK, NULL); /* 'f...': finish at once */
}

static void half_close(struct kd_grpc_call *call, void *arg)
{
    (void)arg;
    kd_grpc_call_finishf(call, KD_GRPC_NOT_FOUND, "bye %s", "\xff");
}

static const struct kd_grpc_method methods[] = {
    {"/test.Echo/Unary", KD_GRPC_UNARY, echo, NULL, NULL, NULL},
    {"/test.Echo/Stream", KD_GRPC_SERVER_STREAMING, echo, NULL, NULL, NULL},
    {"/test.Echo/Bidi", KD_GRPC_BIDI_STREAMING, echo, half_close, NULL, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"test.Echo", NULL};
    struct event_base *base = event_base_new();
    struct kd_grpc_server_config cfg;
    struct kd_grpc_server *server;
    struct kd_health *health = NULL;
    struct kd_reflection *reflection = NULL;
    struct bufferevent *pair[2];

    kd_grpc_server_config_init(&cfg);
    cfg.max_message_size = 1 << 16;
    cfg.connection_buffer = 1 << 18;
    if (!base || kd_grpc_server_create(base, &cfg, &server) != 0)
        return 0;
    kd_grpc_server_register(server, methods, sizeof(methods) / sizeof(methods[0]));
    kd_health_create(server, names, &health);
    kd_reflection_create(server, &reflection);
    if (bufferevent_pair_new(base, 0, pair) == 0 &&
        kd_grpc_conn_create(server, pair[0], false) == 0) {
        bufferevent_enable(pair[1], EV_READ | EV_WRITE);
        bufferevent_write(pair[1], preface, sizeof(preface) - 1);
        /* Fed in slices, so frames also arrive split across reads. */
        for (size_t off = 0; off < size; off += 4096) {
            size_t n = size - off < 4096 ? size - off : 4096;
            bufferevent_write(pair[1], data + off, n);
            for (int i = 0; i < 4; i++)
                event_base_loop(base, EVLOOP_NONBLOCK);
            struct evbuffer *in = bufferevent_get_input(pair[1]);
            evbuffer_drain(in, evbuffer_get_length(in));
        }
        for (int i = 0; i < 16; i++)
            event_base_loop(base, EVLOOP_NONBLOCK);
        bufferevent_free(pair[1]);
    }
    event_base_loop(base, EVLOOP_NONBLOCK); /* the peer's EOF */
    /* Services first (they free themselves when their last call closes), then the server,
     * which closes those calls. */
    kd_health_drain(health);
    kd_reflection_destroy(reflection);
    kd_health_destroy(health);
    kd_grpc_server_destroy(server);
    event_base_free(base);
    return 0;
}
