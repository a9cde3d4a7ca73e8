/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gRPC transport: h2c (later TLS, ALPN h2) on libevent + nghttp2. It frames and unframes
 * messages, enforces limits and deadlines, and routes "/pkg.Service/Method" to handlers that
 * services register. It knows nothing about what the messages mean.
 */
#ifndef KD_GRPC_SERVER_H
#define KD_GRPC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct kd_grpc_server;
struct kd_grpc_call; /* one RPC = one HTTP/2 stream; transport-owned */

/* The gRPC status codes: one table, from which the enum, the names and the decimal strings
 * come (grpc_status.h). */
#define KD_GRPC_STATUS_MAP(X)                                                                      \
    X(OK, 0)                                                                                       \
    X(CANCELLED, 1)                                                                                \
    X(UNKNOWN, 2)                                                                                  \
    X(INVALID_ARGUMENT, 3)                                                                         \
    X(DEADLINE_EXCEEDED, 4)                                                                        \
    X(NOT_FOUND, 5)                                                                                \
    X(ALREADY_EXISTS, 6)                                                                           \
    X(PERMISSION_DENIED, 7)                                                                        \
    X(RESOURCE_EXHAUSTED, 8)                                                                       \
    X(FAILED_PRECONDITION, 9)                                                                      \
    X(ABORTED, 10)                                                                                 \
    X(OUT_OF_RANGE, 11)                                                                            \
    X(UNIMPLEMENTED, 12)                                                                           \
    X(INTERNAL, 13)                                                                                \
    X(UNAVAILABLE, 14)                                                                             \
    X(DATA_LOSS, 15)                                                                               \
    X(UNAUTHENTICATED, 16)

enum kd_grpc_status {
#define KD_GRPC_STATUS_ENUM(name, code) KD_GRPC_##name = code,
    KD_GRPC_STATUS_MAP(KD_GRPC_STATUS_ENUM)
#undef KD_GRPC_STATUS_ENUM
};

enum kd_grpc_method_kind {
    KD_GRPC_UNARY,            /* one request message, one response message */
    KD_GRPC_SERVER_STREAMING, /* one request message, any number of responses */
    KD_GRPC_BIDI_STREAMING,   /* requests delivered one by one as they are parsed */
};

/*
 * A handler table entry. Lifetimes:
 *  - on_message: UNARY and SERVER_STREAMING get exactly one call, after the client half-closed
 *    with exactly one message (0 or 2+ messages are answered INTERNAL by the transport).
 *    BIDI_STREAMING gets one call per message, as soon as it is complete.
 *    `msg` is borrowed for the duration of the call.
 *  - on_half_close (optional, BIDI only): the client sent END_STREAM. A BIDI call that ends
 *    without any message is finished OK by the transport and reaches no handler.
 *  - on_close: exactly once for every call that reached on_message, when the stream is gone
 *    (finished, cancelled by RST_STREAM, deadline, connection loss, shutdown). Free per-call
 *    state here; `call` is invalid afterwards. Never call kd_grpc_call_* from on_close.
 */
struct kd_grpc_method {
    const char *path; /* "/externalscaler.ExternalScaler/GetMetrics"; borrowed, static */
    enum kd_grpc_method_kind kind;
    void (*on_message)(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg);
    void (*on_half_close)(struct kd_grpc_call *call, void *arg);
    void (*on_close)(struct kd_grpc_call *call, void *arg);
    void *arg;
};

/* Limits: what a client sees when it hits one is in the README ("Limits and hardening"). */
struct kd_grpc_server_config {
    size_t max_message_size;         /* request messages above this: RESOURCE_EXHAUSTED; 4 MiB */
    int64_t default_deadline_ms;     /* unary calls without grpc-timeout; e.g. 30000 */
    uint32_t max_concurrent_streams; /* advertised in SETTINGS; >= 1000 */
    size_t connection_buffer;        /* a connection's calls and buffered bytes; 8 MiB */
    size_t total_buffer;             /* the same over every connection; 64 MiB */
    uint32_t max_connections;        /* open connections (clamped below the fd limit); 1000 */
    int64_t handshake_timeout_ms;    /* accept -> client preface and SETTINGS; 10 s */
    int64_t idle_timeout_ms;         /* no call in progress -> GOAWAY; 5 min */
    int64_t write_timeout_ms;        /* output backed up over the budget -> closed; 30 s */
    int64_t max_deadline_ms;         /* cap on a client's grpc-timeout; 1 h */
    uint32_t max_streams_without_deadline;   /* per connection; 1000 */
    uint32_t total_streams_without_deadline; /* over every connection; 10000 */
};

/* Default values for the config above. */
void kd_grpc_server_config_init(struct kd_grpc_server_config *cfg);

int kd_grpc_server_create(struct event_base *base, const struct kd_grpc_server_config *cfg,
                          struct kd_grpc_server **ret_server);

/* Register `n` methods; the table is borrowed and must outlive the server. -EEXIST on a
 * duplicate path. A service is "known" once any of its methods is registered: other methods
 * of it get "unknown method M for service S", other services "unknown service S". */
int kd_grpc_server_register(struct kd_grpc_server *server, const struct kd_grpc_method *methods,
                            size_t n);

/* Remove every method of `service` ("grpc.reflection.v1.ServerReflection"). Calls already
 * dispatched keep their method (and its on_close); calls whose request is still arriving are
 * routed again when it is complete, to whatever serves their path then (live reload). */
void kd_grpc_server_unregister_service(struct kd_grpc_server *server, const char *service);

/* Reload: every path of `methods` (each registered already, e.g. by the previous instance of
 * the service) is served by its entry in `methods` from now on, in one step that allocates
 * nothing. Calls already dispatched keep their method; calls whose request is still arriving
 * are routed when it is complete, as after unregister. -ENOENT if a path is not registered:
 * then nothing changed. */
int kd_grpc_server_replace(struct kd_grpc_server *server, const struct kd_grpc_method *methods,
                           size_t n);

/* Names of registered services, in registration order; valid until the next (un)register. */
size_t kd_grpc_server_services(const struct kd_grpc_server *server, const char *const **ret_names);

/* Listen on "host:port", "[v6]:port" or ":port". Returns 0 or -errno (bind/parse failure).
 * With port 0 the chosen port can be read back with kd_grpc_server_port(). */
int kd_grpc_server_listen(struct kd_grpc_server *server, const char *address);
int kd_grpc_server_port(const struct kd_grpc_server *server);

/*
 * Reload: move the listener to `address`. The new address is bound first; if that fails
 * (-errno as for kd_grpc_server_listen) the old listener keeps accepting. Then the old one is
 * closed: connections it accepted go on until they end. Another spelling of the address
 * already served (same family, address and port) keeps the listener and returns 0. -EBUSY
 * before listen or while draining.
 */
int kd_grpc_server_relisten(struct kd_grpc_server *server, const char *address);

/* Reload: apply `cfg` (validated as by kd_grpc_server_create, else -EINVAL). Message size and
 * default deadline hold for calls that start from now on, max_concurrent_streams for
 * connections accepted from now on; running calls keep theirs. */
int kd_grpc_server_reconfigure(struct kd_grpc_server *server,
                               const struct kd_grpc_server_config *cfg);

/* Serve TLS with ALPN h2 (grpc/tls.h) on connections accepted from now on, or h2c again with
 * NULL. `tls` is borrowed until the next call or destroy; connections and handshakes already
 * under way keep the material they started with, so the previous one may be destroyed at
 * once. -ENOMEM. */
struct kd_tls;
int kd_grpc_server_set_tls(struct kd_grpc_server *server, struct kd_tls *tls);

/* Open connections, for metrics. */
size_t kd_grpc_server_connections(const struct kd_grpc_server *server);

/*
 * Graceful drain: stop accepting, send GOAWAY (two-step), let running calls finish. `done` is
 * called once every connection is closed or after `grace_ms`, whichever is first (remaining
 * connections are then dropped). Services should finish their long-lived streams first.
 */
void kd_grpc_server_drain(struct kd_grpc_server *server, int64_t grace_ms, void (*done)(void *arg),
                          void *arg);

void kd_grpc_server_destroy(struct kd_grpc_server *server);

/* ---- Per-call API (only between on_message and on_close) -------------------------------- */

/* Queue one response message (the transport frames it). Returns 0, -ENOMEM, or -EPIPE if the
 * call already finished. The first send also sends the response HEADERS. */
int kd_grpc_call_send(struct kd_grpc_call *call, const uint8_t *msg, size_t len);

/*
 * End the call with `status` and `message` (may be NULL; percent-encoded and truncated by the
 * transport). If nothing was sent yet this is one Trailers-Only HEADERS block; otherwise the
 * queued messages go out, then the trailers. Idempotent: later calls return -EALREADY.
 */
int kd_grpc_call_finish(struct kd_grpc_call *call, enum kd_grpc_status status, const char *message);

/* printf-style convenience around kd_grpc_call_finish(). */
int kd_grpc_call_finishf(struct kd_grpc_call *call, enum kd_grpc_status status, const char *fmt,
                         ...) __attribute__((format(printf, 3, 4)));

bool kd_grpc_call_is_finished(const struct kd_grpc_call *call);

/* One opaque pointer for the handler. */
void kd_grpc_call_set_user(struct kd_grpc_call *call, void *user);
void *kd_grpc_call_user(const struct kd_grpc_call *call);

#endif /* KD_GRPC_SERVER_H */
