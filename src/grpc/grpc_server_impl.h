/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the server (grpc_server.c), its connections (grpc_conn.c) and calls (grpc_call.c)
 * share. Private to src/grpc/: services see only grpc_server.h.
 */
#ifndef KD_GRPC_SERVER_IMPL_H
#define KD_GRPC_SERVER_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event_struct.h>
#include <nghttp2/nghttp2.h>

#include "grpc/grpc_router.h"
#include "grpc/grpc_server.h"
#include "util/list.h"
#include "util/log.h"

#define KD_GRPC_LOG_DEBUG(...)                                                                     \
    do {                                                                                           \
        if (kd_log_enabled(KD_LOG_DEBUG))                                                          \
            kd_log_prefixed(KD_LOG_DEBUG, "grpc", __VA_ARGS__);                                    \
    } while (0)
#define KD_GRPC_LOG_WARN(...) kd_log_prefixed(KD_LOG_WARN, "grpc", __VA_ARGS__)
#define KD_GRPC_LOG_INFO(...) kd_log_prefixed(KD_LOG_INFO, "grpc", __VA_ARGS__)

struct evconnlistener;
struct kd_pool;
struct kd_tls;
struct kd_tls_acceptor;

struct kd_grpc_server {
    struct event_base *base;
    struct kd_grpc_server_config cfg;
    nghttp2_session_callbacks *callbacks; /* grpc_conn.c's, shared by every session */
    nghttp2_option *options;
    struct kd_pool *pool; /* calls, connections, nghttp2's blocks (through `mem`) */
    nghttp2_mem mem;
    struct evconnlistener *listener;
    int port;
    struct kd_grpc_router router;
    struct kd_tls *tls;                   /* NULL: h2c */
    struct kd_tls_acceptor *tls_acceptor; /* handshakes before kd_grpc_conn_create */

    struct kd_list conns; /* struct kd_grpc_conn.link */
    /* Inside nghttp2_session_mem_recv: what it submits is sent right after, unscheduled. */
    struct kd_grpc_conn *receiving;
    size_t n_conns;
    size_t bytes;                 /* accounted over every connection (cfg.total_buffer) */
    size_t n_streams_no_deadline; /* cfg.total_streams_without_deadline */

    /* Accepting: paused at max_connections, and backing off while the fd table is full. */
    uint32_t max_connections; /* cfg's, clamped below RLIMIT_NOFILE */
    bool is_accept_paused;
    struct event accept_ev; /* resumes accepting */
    int64_t accept_backoff_ms;
    size_t n_refused; /* refused for want of an fd in this episode */
    int reserve_fd;   /* given up to accept-and-close while the fd table is full */

    bool is_draining;
    struct event goaway_ev;
    struct event drain_ev; /* made active when the last connection goes while draining */
    void (*drain_done)(void *arg);
    void *drain_arg;
};

/* A connection went away: accept again if the listener waits below max_connections. */
void kd_grpc_server_accept_check(struct kd_grpc_server *server);

#endif /* KD_GRPC_SERVER_IMPL_H */
