/* SPDX-License-Identifier: Apache-2.0 */
/*
 * grpc/grpc_conn.c: one client connection, a bufferevent and an nghttp2 server session, the
 * nghttp2 callbacks that feed calls (grpc_call.c), and the connection's part of the drain.
 * The connection does not care what kind of bufferevent it is given: a socket right after
 * accept (h2c), or a TLS one once its handshake selected h2.
 */
#ifndef KD_GRPC_CONN_H
#define KD_GRPC_CONN_H

#include <stdbool.h>

#include <event2/buffer.h>
#include <event2/event_struct.h>
#include <event2/util.h>
#include <nghttp2/nghttp2.h>

#include "util/list.h"

struct bufferevent;
struct kd_grpc_call;
struct kd_grpc_server;

struct kd_grpc_conn {
    struct kd_grpc_server *server;
    struct kd_list link; /* server->conns */
    struct bufferevent *bev;
    nghttp2_session *session;       /* NULL once the connection is being freed */
    struct kd_list calls;           /* struct kd_grpc_call.link, for teardown */
    struct kd_list deadlines;       /* .deadline_link: calls whose timer is not armed yet */
    struct kd_grpc_call *last_call; /* the call of the last stream looked up (stream_call) */
    struct event send_ev;           /* deferred nghttp2_session_send, so handlers never re-enter */
    struct evbuffer *staged;        /* a flush's frames; empty between flushes (output_flush) */
    evutil_socket_t fd;             /* read and written directly when plaintext; -1: TLS, the bev */
    struct event read_ev;           /* fd readable (plaintext), while is_reading */
    struct evbuffer_iovec reserve;  /* staged space frames are copied into during a flush */
    size_t reserve_used;
    bool has_reserve;
    size_t bytes;      /* calls and their buffers, accounted (cfg.connection_buffer) */
    unsigned n_active; /* calls past their headers */
    unsigned n_streams_no_deadline;
    int64_t idle_since_ms;  /* loop time the last active call ended */
    struct event timer_ev;  /* handshake timeout, then the idle timeout */
    struct event write_ev;  /* output backed up over the budget for write_timeout */
    bool is_handshake_done; /* the client's SETTINGS arrived */
    bool is_write_timer_armed;
    bool is_send_blocked; /* output over its mark: nghttp2 holds the rest */
    bool is_read_paused;  /* input left unprocessed until the output drains */
    bool is_reading;      /* read_ev added: the input is under its mark (input_watch) */
    bool is_closing;      /* flush what is buffered, then free */
};

/* A call's memory grew or shrank by `delta` bytes (connection and server totals). */
void kd_grpc_conn_account(struct kd_grpc_conn *conn, long delta);

/* Over cfg.connection_buffer, or the server over cfg.total_buffer. */
bool kd_grpc_conn_over_budget(const struct kd_grpc_conn *conn);

/* A call passed its headers (true) or an active call ended (false): the idle clock. */
void kd_grpc_conn_set_active(struct kd_grpc_conn *conn, bool active);

/* The callbacks every session of a server shares; the caller frees them with
 * nghttp2_session_callbacks_del(). -ENOMEM. */
int kd_grpc_conn_callbacks_new(nghttp2_session_callbacks **ret_callbacks);

/*
 * Start serving HTTP/2 on `bev` (which the connection owns from now on, also on failure: it
 * is freed then). `is_socket`: bev is a plain socket bufferevent (not a TLS one), whose fd the
 * connection reads itself (bev's EV_READ stays off) and writes to directly while bev's output
 * is empty. Sends our SETTINGS, links the
 * connection into the server. -ENOMEM.
 */
int kd_grpc_conn_create(struct kd_grpc_server *server, struct bufferevent *bev, bool is_socket);

/* Release the connection and every call on it (their on_close run). */
void kd_grpc_conn_free(struct kd_grpc_conn *conn);

/* Flush what nghttp2 has queued, from the loop (never re-entering a handler). */
void kd_grpc_conn_schedule_send(struct kd_grpc_conn *conn);

/* Drain, first step: GOAWAY with the last stream id 2^31-1 (new streams still accepted). */
void kd_grpc_conn_shutdown_notice(struct kd_grpc_conn *conn);

/* Drain, second step: GOAWAY with the last stream id processed; running calls go on. */
void kd_grpc_conn_goaway(struct kd_grpc_conn *conn);

#endif /* KD_GRPC_CONN_H */
