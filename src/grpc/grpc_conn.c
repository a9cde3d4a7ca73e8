/* SPDX-License-Identifier: Apache-2.0 */
/* One connection (see grpc_conn.h): bytes in and out of the bufferevent, nghttp2 callbacks
 * handed on to the calls, and the close. Skeleton: nghttp2's examples/libevent-server.c. */
#include "grpc/grpc_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "grpc/grpc_call.h"
#include "grpc/grpc_server_impl.h"

/* Stop handing frames to the socket above this much unsent output (nghttp2 example value). */
#define OUTPUT_WOULDBLOCK_THRESHOLD (64 * 1024)
/* Per-stream receive window: a 4 MiB request needs a few WINDOW_UPDATEs, not one per 64 KiB. */
#define STREAM_WINDOW_SIZE (1 << 20)
#define CONNECTION_WINDOW_SIZE (16 << 20)
#define CLOSE_FLUSH_TIMEOUT_S 5

/* ---- Bytes in and out ------------------------------------------------------------------------ */

void kd_grpc_conn_schedule_send(struct kd_grpc_conn *conn)
{
    if (conn->session)
        event_active(&conn->send_ev, EV_WRITE, 0);
}

static bool should_close(struct kd_grpc_conn *conn)
{
    return conn->is_closing || (!nghttp2_session_want_read(conn->session) &&
                                !nghttp2_session_want_write(conn->session));
}

/* Hand pending frames to the bufferevent. Returns -1 when the connection was freed. */
static int conn_send(struct kd_grpc_conn *conn)
{
    if (!conn->is_closing) {
        int rv = nghttp2_session_send(conn->session);
        if (rv != 0) {
            KD_GRPC_LOG_DEBUG("send failed: %s", nghttp2_strerror(rv));
            kd_grpc_conn_free(conn);
            return -1;
        }
    }
    if (should_close(conn) && evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0) {
        kd_grpc_conn_free(conn);
        return -1;
    }
    return 0;
}

/* A peer error ends this connection only: flush what nghttp2 queued (often a GOAWAY), close. */
static void conn_fail(struct kd_grpc_conn *conn, int rv)
{
    KD_GRPC_LOG_DEBUG("closing connection: %s", nghttp2_strerror(rv));
    if (rv != NGHTTP2_ERR_BAD_CLIENT_MAGIC)
        nghttp2_session_send(conn->session);
    conn->is_closing = true;
    /* A peer that never reads must not pin the connection: give the flush a bound. */
    struct timeval tv = {CLOSE_FLUSH_TIMEOUT_S, 0};
    bufferevent_set_timeouts(conn->bev, NULL, &tv);
    conn_send(conn);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct kd_grpc_conn *conn = arg;
    struct evbuffer *input = bufferevent_get_input(bev);

    if (conn->is_closing) {
        evbuffer_drain(input, evbuffer_get_length(input));
        return;
    }
    while (evbuffer_get_length(input) > 0) {
        struct evbuffer_iovec v[16];
        int n = evbuffer_peek(input, -1, NULL, v, 16);
        size_t used = 0;
        for (int i = 0; i < n && i < 16; i++) {
            ssize_t rv = nghttp2_session_mem_recv(conn->session, v[i].iov_base, v[i].iov_len);
            if (rv < 0) {
                evbuffer_drain(input, evbuffer_get_length(input));
                conn_fail(conn, (int)rv);
                return;
            }
            used += v[i].iov_len;
        }
        evbuffer_drain(input, used);
    }
    conn_send(conn);
}

/* The output drained: resume what WOULDBLOCK stopped, or finish closing. */
static void on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_send(arg);
}

static void on_event(struct bufferevent *bev, short events, void *arg)
{
    (void)bev;
    if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        if (events & BEV_EVENT_ERROR)
            KD_GRPC_LOG_DEBUG("connection error: %s",
                              evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        kd_grpc_conn_free(arg);
    }
}

static void on_send_ready(evutil_socket_t fd, short events, void *arg)
{
    (void)fd;
    (void)events;
    conn_send(arg);
}

/* ---- nghttp2 callbacks --------------------------------------------------------------------- */

static ssize_t send_callback(nghttp2_session *session, const uint8_t *data, size_t length,
                             int flags, void *user_data)
{
    struct kd_grpc_conn *conn = user_data;
    struct evbuffer *output = bufferevent_get_output(conn->bev);
    (void)session;
    (void)flags;
    if (evbuffer_get_length(output) >= OUTPUT_WOULDBLOCK_THRESHOLD)
        return NGHTTP2_ERR_WOULDBLOCK;
    if (evbuffer_add(output, data, length) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return (ssize_t)length;
}

static bool is_request_headers(const nghttp2_frame *frame)
{
    return frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST;
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    if (!is_request_headers(frame))
        return 0;
    struct kd_grpc_call *call = kd_grpc_call_new(user_data, frame->hd.stream_id);
    if (!call)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, call);
    return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    (void)flags;
    (void)user_data;
    if (!is_request_headers(frame))
        return 0;
    struct kd_grpc_call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (call && kd_grpc_call_on_header(call, name, namelen, value, valuelen) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user_data)
{
    (void)flags;
    (void)user_data;
    struct kd_grpc_call *call = nghttp2_session_get_stream_user_data(session, stream_id);
    if (call)
        kd_grpc_call_on_data(call, data, len);
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    struct kd_grpc_call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!call)
        return 0;
    if (is_request_headers(frame))
        kd_grpc_call_on_headers_end(call);
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        kd_grpc_call_on_end_stream(call);
    return 0;
}

/* Our END_STREAM went out while the client is still sending: tell it to stop (RFC says
 * RST_STREAM NO_ERROR after early trailers; CANCEL after a deadline). */
static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    struct kd_grpc_call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (call && !nghttp2_session_get_stream_remote_close(session, frame->hd.stream_id))
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, call->rst_code);
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    (void)error_code;
    (void)user_data;
    struct kd_grpc_call *call = nghttp2_session_get_stream_user_data(session, stream_id);
    if (call) {
        nghttp2_session_set_stream_user_data(session, stream_id, NULL);
        kd_grpc_call_free(call);
    }
    return 0;
}

int kd_grpc_conn_callbacks_new(nghttp2_session_callbacks **ret_callbacks)
{
    nghttp2_session_callbacks *cb;

    if (nghttp2_session_callbacks_new(&cb) != 0)
        return -ENOMEM;
    nghttp2_session_callbacks_set_send_callback(cb, send_callback);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    *ret_callbacks = cb;
    return 0;
}

/* ---- Lifetime ------------------------------------------------------------------------------ */

void kd_grpc_conn_free(struct kd_grpc_conn *conn)
{
    struct kd_grpc_server *server = conn->server;
    struct kd_list *node;

    /* nghttp2_session_del() runs no callbacks: calls are released from our own list. The
     * session goes first so that kd_grpc_call_* from a stray on_close see -EPIPE. */
    nghttp2_session_del(conn->session);
    conn->session = NULL;
    event_del(&conn->send_ev);
    while ((node = kd_list_first(&conn->calls)))
        kd_grpc_call_free(KD_CONTAINER_OF(node, struct kd_grpc_call, link));
    bufferevent_free(conn->bev);

    kd_list_remove(&conn->link);
    server->n_conns--;
    free(conn);

    if (server->is_draining && server->n_conns == 0)
        event_active(&server->drain_ev, EV_TIMEOUT, 0);
}

static int start_session(struct kd_grpc_conn *conn)
{
    struct kd_grpc_server *server = conn->server;
    nghttp2_settings_entry iv[2] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, server->cfg.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW_SIZE},
    };
    int rv = nghttp2_session_server_new2(&conn->session, server->callbacks, conn, server->options);
    if (rv != 0)
        return -ENOMEM;
    rv = nghttp2_submit_settings(conn->session, NGHTTP2_FLAG_NONE, iv, 2);
    if (rv == 0)
        rv = nghttp2_session_set_local_window_size(conn->session, NGHTTP2_FLAG_NONE, 0,
                                                   CONNECTION_WINDOW_SIZE);
    if (rv != 0)
        return -ENOMEM;
    if (server->is_draining)
        nghttp2_submit_shutdown_notice(conn->session);
    return 0;
}

int kd_grpc_conn_create(struct kd_grpc_server *server, struct bufferevent *bev)
{
    struct kd_grpc_conn *conn = calloc(1, sizeof(*conn));
    if (!conn)
        goto fail_conn;
    conn->server = server;
    conn->bev = bev;
    kd_list_init(&conn->calls);
    event_assign(&conn->send_ev, server->base, -1, 0, on_send_ready, conn);
    if (start_session(conn) != 0)
        goto fail_session;
    bufferevent_setcb(bev, on_read, on_write, on_event, conn);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    kd_list_push_front(&server->conns, &conn->link);
    server->n_conns++;
    conn_send(conn);
    return 0;

fail_session:
    nghttp2_session_del(conn->session);
    free(conn);
fail_conn:
    bufferevent_free(bev);
    return -ENOMEM;
}

void kd_grpc_conn_shutdown_notice(struct kd_grpc_conn *conn)
{
    nghttp2_submit_shutdown_notice(conn->session);
    kd_grpc_conn_schedule_send(conn);
}

void kd_grpc_conn_goaway(struct kd_grpc_conn *conn)
{
    nghttp2_submit_goaway(conn->session, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(conn->session), NGHTTP2_NO_ERROR,
                          NULL, 0);
    kd_grpc_conn_schedule_send(conn);
}
