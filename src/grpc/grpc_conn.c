/* SPDX-License-Identifier: Apache-2.0 */
/* One connection (see grpc_conn.h): bytes in and out (the socket itself when plaintext, the
 * bufferevent for what it would block on and for TLS), nghttp2 callbacks
 * handed on to the calls, and the close. Skeleton: nghttp2's examples/libevent-server.c. */
#include "grpc/grpc_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "grpc/grpc_call.h"
#include "grpc/grpc_server_impl.h"
#include "util/pool.h"

/* Stop handing frames to the socket above this much unsent output; reading stops with it, so
 * what a connection holds follows what the client reads (backpressure). */
#define OUTPUT_HIGH (32 * 1024)
/* Room reserved in the output buffer for one flush: frames are copied in, committed once. */
#define OUTPUT_RESERVE 4096
/* Input is handed to nghttp2 in slices, so a pause takes effect within one slice. */
#define INPUT_SLICE 8192
/* Reading from the socket stops while this much input waits to be processed. */
#define INPUT_HIGH (32 * 1024)
/* At most one read of this much per readiness (libevent's own cap): with the input drained, the
 * space reserved is one chain that fits the pool's 8 KiB class, so a read allocates nothing. */
#define INPUT_READ 4096
/* Per-stream receive window: a 4 MiB request needs a few WINDOW_UPDATEs, not one per 64 KiB. */
#define STREAM_WINDOW_SIZE (1 << 20)
#define CONNECTION_WINDOW_SIZE (16 << 20)
#define CLOSE_FLUSH_TIMEOUT_S 5

/* ---- Budgets and timers --------------------------------------------------------------------- */

static int64_t loop_now_ms(const struct kd_grpc_conn *conn)
{
    struct timeval tv;
    event_base_gettimeofday_cached(conn->server->base, &tv);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static struct timeval ms_tv(int64_t ms)
{
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

static bool server_over_budget(const struct kd_grpc_server *server)
{
    return server->bytes > server->cfg.total_buffer;
}

bool kd_grpc_conn_over_budget(const struct kd_grpc_conn *conn)
{
    return conn->bytes > conn->server->cfg.connection_buffer || server_over_budget(conn->server);
}

void kd_grpc_conn_account(struct kd_grpc_conn *conn, long delta)
{
    conn->bytes = (size_t)((long)conn->bytes + delta);
    conn->server->bytes = (size_t)((long)conn->server->bytes + delta);
}

void kd_grpc_conn_set_active(struct kd_grpc_conn *conn, bool active)
{
    if (active) {
        conn->n_active++;
        return;
    }
    if (--conn->n_active == 0)
        conn->idle_since_ms = loop_now_ms(conn);
}

/* Handshake, then idle: one timer. An idle connection is told GOAWAY and closes once the
 * GOAWAY is out (nghttp2 then wants neither to read nor to write). */
static void on_timer(evutil_socket_t fd, short events, void *arg)
{
    struct kd_grpc_conn *conn = arg;
    const struct kd_grpc_server_config *cfg = &conn->server->cfg;
    (void)fd;
    (void)events;

    if (!conn->is_handshake_done) {
        KD_GRPC_LOG_DEBUG("no HTTP/2 preface and SETTINGS within %lld ms: closing",
                          (long long)cfg->handshake_timeout_ms);
        kd_grpc_conn_free(conn);
        return;
    }
    int64_t idle = loop_now_ms(conn) - conn->idle_since_ms;
    if (conn->n_active > 0 || idle < cfg->idle_timeout_ms) {
        struct timeval tv =
            ms_tv(conn->n_active > 0 ? cfg->idle_timeout_ms : cfg->idle_timeout_ms - idle);
        evtimer_add(&conn->timer_ev, &tv);
        return;
    }
    KD_GRPC_LOG_DEBUG("idle for %lld ms: GOAWAY", (long long)idle);
    nghttp2_submit_goaway(conn->session, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(conn->session), NGHTTP2_NO_ERROR,
                          NULL, 0);
    kd_grpc_conn_schedule_send(conn);
}

static void on_handshake_done(struct kd_grpc_conn *conn)
{
    struct timeval tv = ms_tv(conn->server->cfg.idle_timeout_ms);
    conn->is_handshake_done = true;
    conn->idle_since_ms = loop_now_ms(conn);
    evtimer_add(&conn->timer_ev, &tv);
}

/* A client that leaves our output backed up over the budget for write_timeout is dropped:
 * what it holds must not be held forever. */
static void on_write_timeout(evutil_socket_t fd, short events, void *arg)
{
    struct kd_grpc_conn *conn = arg;
    (void)fd;
    (void)events;
    KD_GRPC_LOG_INFO("a client kept %zu bytes unsent for %lld ms: closing its connection",
                     conn->bytes + evbuffer_get_length(bufferevent_get_output(conn->bev)),
                     (long long)conn->server->cfg.write_timeout_ms);
    nghttp2_session_terminate_session(conn->session, NGHTTP2_ENHANCE_YOUR_CALM);
    kd_grpc_conn_free(conn);
}

/* Armed over the budget, disarmed only once the connection is back under 3/4 of it, so a
 * connection held just at its budget is still timed. */
static void update_write_timer(struct kd_grpc_conn *conn)
{
    const struct kd_grpc_server_config *cfg = &conn->server->cfg;
    bool backed_up = conn->is_send_blocked || kd_grpc_conn_over_budget(conn) ||
                     (conn->is_write_timer_armed && conn->bytes > cfg->connection_buffer / 4 * 3);
    if (backed_up == conn->is_write_timer_armed)
        return;
    conn->is_write_timer_armed = backed_up;
    if (backed_up) {
        struct timeval tv = ms_tv(conn->server->cfg.write_timeout_ms);
        evtimer_add(&conn->write_ev, &tv);
    } else {
        evtimer_del(&conn->write_ev);
    }
}

/* ---- Bytes in and out ------------------------------------------------------------------------ */

/* Not while the input is processed: process_input flushes after each slice anyway (saves an
 * event_active per answer and a loop pass per batch). */
void kd_grpc_conn_schedule_send(struct kd_grpc_conn *conn)
{
    if (conn->session && conn->server->receiving != conn)
        event_active(&conn->send_ev, EV_WRITE, 0);
}

static bool should_close(struct kd_grpc_conn *conn)
{
    return conn->is_closing || (!nghttp2_session_want_read(conn->session) &&
                                !nghttp2_session_want_write(conn->session));
}

/* What is not yet on the wire: the frames of this flush and what the bufferevent holds. */
static size_t output_pending(const struct kd_grpc_conn *conn)
{
    return evbuffer_get_length(conn->staged) +
           evbuffer_get_length(bufferevent_get_output(conn->bev));
}

/* Make the frames copied into the reserved space part of the staged output. */
static void output_commit(struct kd_grpc_conn *conn)
{
    if (!conn->has_reserve)
        return;
    conn->reserve.iov_len = conn->reserve_used;
    evbuffer_commit_space(conn->staged, &conn->reserve, 1);
    conn->has_reserve = false;
}

/* A plaintext connection writes its staged frames to the socket itself, so that libevent waits
 * for EPOLLOUT only when the socket would block: bytes handed to the bufferevent cost two
 * epoll_ctl per flush (EV_WRITE armed, then disarmed once written). Only while the bufferevent
 * holds nothing, or bytes would overtake it. On any error the bytes stay staged: the
 * bufferevent's own write meets the error again and reports it to on_event (the one close). */
static void output_write(struct kd_grpc_conn *conn)
{
    if (conn->fd < 0 || evbuffer_get_length(bufferevent_get_output(conn->bev)) > 0)
        return;
    evbuffer_write(conn->staged, conn->fd);
}

/* End of a flush: what the socket did not take goes to the bufferevent (chains move, no copy),
 * so outside a flush the staged buffer is empty and the bufferevent's output is all there is.
 * Not after a WOULDBLOCK: were the socket to take everything now, no on_write would come to
 * resume the send, and the connection would sit until its write timeout. */
static void output_flush(struct kd_grpc_conn *conn)
{
    output_commit(conn);
    if (evbuffer_get_length(conn->staged) == 0)
        return;
    if (!conn->is_send_blocked)
        output_write(conn);
    if (evbuffer_get_length(conn->staged) > 0)
        evbuffer_add_buffer(bufferevent_get_output(conn->bev), conn->staged);
}

/* nghttp2_session_send into the staged buffer; one commit, one write per flush. */
static int session_send(struct kd_grpc_conn *conn)
{
    conn->is_send_blocked = false;
    int rv = nghttp2_session_send(conn->session);
    output_flush(conn);
    return rv;
}

/* Hand pending frames to the bufferevent. Returns -1 when the connection was freed. */
static int conn_send(struct kd_grpc_conn *conn)
{
    if (!conn->is_closing) {
        int rv = session_send(conn);
        if (rv != 0) {
            KD_GRPC_LOG_DEBUG("send failed: %s", nghttp2_strerror(rv));
            kd_grpc_conn_free(conn);
            return -1;
        }
        update_write_timer(conn);
    }
    if (should_close(conn) && evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0) {
        kd_grpc_conn_free(conn);
        return -1;
    }
    return 0;
}

/* Read while under INPUT_HIGH, as the bufferevent's read watermark did: the event is taken off
 * only at the mark (an epoll_ctl each way), not per read. */
static void input_watch(struct kd_grpc_conn *conn)
{
    if (conn->fd < 0)
        return;
    bool want = evbuffer_get_length(bufferevent_get_input(conn->bev)) < INPUT_HIGH;
    if (want == conn->is_reading)
        return;
    conn->is_reading = want;
    if (want)
        event_add(&conn->read_ev, NULL);
    else
        event_del(&conn->read_ev);
}

/* A peer error ends this connection only: flush what nghttp2 queued (often a GOAWAY), close. */
static void conn_fail(struct kd_grpc_conn *conn, int rv)
{
    KD_GRPC_LOG_DEBUG("closing connection: %s", nghttp2_strerror(rv));
    if (rv != NGHTTP2_ERR_BAD_CLIENT_MAGIC)
        session_send(conn);
    conn->is_closing = true;
    /* A peer that never reads must not pin the connection: give the flush a bound. */
    struct timeval tv = {CLOSE_FLUSH_TIMEOUT_S, 0};
    bufferevent_set_timeouts(conn->bev, NULL, &tv);
    input_watch(conn); /* the input was dropped: read on, up to the EOF */
    conn_send(conn);
}

/* The calls of this slice still open after its flush get their deadline timer now (see
 * start_deadline in grpc_call.c); the others never needed one. */
static void arm_deadlines(struct kd_grpc_conn *conn)
{
    struct kd_list *node;

    while ((node = kd_list_first(&conn->deadlines)))
        kd_grpc_call_arm_deadline(KD_CONTAINER_OF(node, struct kd_grpc_call, deadline_link));
}

/* Feed input to nghttp2 slice by slice, answering as we go, until it is used up or the client
 * stops reading what we send (then on_write resumes). Returns -1 when the connection was
 * freed. */
static int process_input(struct kd_grpc_conn *conn)
{
    struct evbuffer *input = bufferevent_get_input(conn->bev);

    while (evbuffer_get_length(input) > 0) {
        if (conn->is_send_blocked) {
            conn->is_read_paused = true;
            input_watch(conn);
            return 0;
        }
        struct evbuffer_iovec v;
        if (evbuffer_peek(input, INPUT_SLICE, NULL, &v, 1) < 1)
            break;
        size_t len = v.iov_len < INPUT_SLICE ? v.iov_len : INPUT_SLICE;
        conn->server->receiving = conn;
        ssize_t rv = nghttp2_session_mem_recv(conn->session, v.iov_base, len);
        conn->server->receiving = NULL;
        if (rv < 0) {
            evbuffer_drain(input, evbuffer_get_length(input));
            conn_fail(conn, (int)rv);
            return -1;
        }
        evbuffer_drain(input, len);
        if (conn_send(conn) < 0)
            return -1;
        arm_deadlines(conn);
    }
    conn->is_read_paused = false;
    input_watch(conn);
    return 0;
}

/* New input: processed, or dropped while closing. Returns -1 when the connection was freed. */
static int take_input(struct kd_grpc_conn *conn)
{
    if (conn->is_closing) {
        struct evbuffer *input = bufferevent_get_input(conn->bev);
        evbuffer_drain(input, evbuffer_get_length(input));
        return 0;
    }
    if (!conn->is_read_paused)
        return process_input(conn);
    return 0;
}

static void on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    take_input(arg);
}

/* Flush, then take up the input held back if the output drained. Reading never stops for the
 * budget (control frames such as WINDOW_UPDATE must get through, or a big answer deadlocks):
 * over it, new calls are refused and growing requests reset instead. */
static void resume(struct kd_grpc_conn *conn)
{
    if (conn_send(conn) < 0)
        return;
    if (conn->is_read_paused && !conn->is_send_blocked)
        process_input(conn);
}

/* The output drained: resume what WOULDBLOCK stopped (and the input it held back), or finish
 * closing. */
static void on_write(struct bufferevent *bev, void *arg)
{
    struct kd_grpc_conn *conn = arg;
    (void)bev;
    resume(conn);
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
    resume(arg);
}

/* One readv into the input, at most up to INPUT_HIGH. EOF and errors other than a retry end
 * the connection as the bufferevent reports them (on_event). Returns -1 when it was freed. */
static int input_read(struct kd_grpc_conn *conn)
{
    struct evbuffer *input = bufferevent_get_input(conn->bev);
    size_t len = evbuffer_get_length(input);
    if (len >= INPUT_HIGH)
        return 0;
    size_t want = INPUT_HIGH - len < INPUT_READ ? INPUT_HIGH - len : INPUT_READ;
    struct evbuffer_iovec v[2];
    int n = evbuffer_reserve_space(input, (ev_ssize_t)want, v, 2);
    ssize_t got = -1;
    if (n > 0) {
        struct iovec iov[2];
        for (int i = 0; i < n; i++)
            iov[i] = (struct iovec){.iov_base = v[i].iov_base, .iov_len = v[i].iov_len};
        got = readv(conn->fd, iov, n);
    }
    if (got > 0) {
        size_t rest = (size_t)got;
        int used = 0;
        while (rest > 0) {
            if (v[used].iov_len > rest)
                v[used].iov_len = rest;
            rest -= v[used++].iov_len;
        }
        evbuffer_commit_space(input, v, used);
        return 0;
    }
    if (got < 0 && n > 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    on_event(conn->bev, BEV_EVENT_READING | (got == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), conn);
    return -1;
}

/* A plaintext connection reads its socket itself: libevent's evbuffer_read asks FIONREAD (one
 * ioctl) before every read. */
static void on_readable(evutil_socket_t fd, short events, void *arg)
{
    struct kd_grpc_conn *conn = arg;
    (void)fd;
    (void)events;
    if (input_read(conn) < 0 || take_input(conn) < 0)
        return;
    input_watch(conn);
}

/* ---- nghttp2 callbacks --------------------------------------------------------------------- */

/* Frames are copied into space reserved in the staged buffer and committed once per flush
 * (output_commit), not added one evbuffer_add each. */
static ssize_t send_callback(nghttp2_session *session, const uint8_t *data, size_t length,
                             int flags, void *user_data)
{
    struct kd_grpc_conn *conn = user_data;
    (void)session;
    (void)flags;

    if (!conn->has_reserve || conn->reserve_used + length > conn->reserve.iov_len) {
        output_commit(conn);
        /* A big flush goes out as it grows, blocking only once the socket does: were the
         * socket to take it all at the end, no on_write would come to resume it. */
        if (output_pending(conn) >= OUTPUT_HIGH)
            output_write(conn);
        if (output_pending(conn) >= OUTPUT_HIGH) {
            conn->is_send_blocked = true;
            return NGHTTP2_ERR_WOULDBLOCK;
        }
        size_t want = length > OUTPUT_RESERVE ? length : OUTPUT_RESERVE;
        if (evbuffer_reserve_space(conn->staged, (ev_ssize_t)want, &conn->reserve, 1) != 1)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        conn->has_reserve = true;
        conn->reserve_used = 0;
    }
    memcpy((uint8_t *)conn->reserve.iov_base + conn->reserve_used, data, length);
    conn->reserve_used += length;
    return (ssize_t)length;
}

/* The call of `stream_id`: most callbacks in a row are for the same stream, so the last one
 * found is kept (nghttp2's lookup is a hash probe per header otherwise). */
static struct kd_grpc_call *stream_call(struct kd_grpc_conn *conn, int32_t stream_id)
{
    if (conn->last_call && conn->last_call->stream_id == stream_id)
        return conn->last_call;
    struct kd_grpc_call *call = nghttp2_session_get_stream_user_data(conn->session, stream_id);
    if (call)
        conn->last_call = call;
    return call;
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
    ((struct kd_grpc_conn *)user_data)->last_call = call;
    return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    (void)session;
    (void)flags;
    if (!is_request_headers(frame))
        return 0;
    struct kd_grpc_call *call = stream_call(user_data, frame->hd.stream_id);
    if (call && kd_grpc_call_on_header(call, name, namelen, value, valuelen) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user_data)
{
    (void)session;
    (void)flags;
    struct kd_grpc_call *call = stream_call(user_data, stream_id);
    if (call)
        kd_grpc_call_on_data(call, data, len);
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    struct kd_grpc_conn *conn = user_data;
    (void)session;
    if (frame->hd.type == NGHTTP2_SETTINGS && !(frame->hd.flags & NGHTTP2_FLAG_ACK) &&
        !conn->is_handshake_done)
        on_handshake_done(conn);
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    struct kd_grpc_call *call = stream_call(conn, frame->hd.stream_id);
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
    if (frame->hd.type != NGHTTP2_HEADERS || !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    struct kd_grpc_call *call = stream_call(user_data, frame->hd.stream_id);
    if (call && !nghttp2_session_get_stream_remote_close(session, frame->hd.stream_id))
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, call->rst_code);
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    struct kd_grpc_conn *conn = user_data;
    (void)error_code;
    struct kd_grpc_call *call = stream_call(conn, stream_id);
    if (call) {
        if (conn->last_call == call)
            conn->last_call = NULL;
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
    if (conn->fd >= 0)
        event_del(&conn->read_ev);
    evtimer_del(&conn->timer_ev);
    evtimer_del(&conn->write_ev);
    conn->last_call = NULL;
    while ((node = kd_list_first(&conn->calls)))
        kd_grpc_call_free(KD_CONTAINER_OF(node, struct kd_grpc_call, link));
    bufferevent_free(conn->bev);
    evbuffer_free(conn->staged);

    kd_list_remove(&conn->link);
    server->n_conns--;
    kd_pool_free(server->pool, conn);
    kd_grpc_server_accept_check(server);

    if (server->is_draining && server->n_conns == 0)
        event_active(&server->drain_ev, EV_TIMEOUT, 0);
}

static int start_session(struct kd_grpc_conn *conn)
{
    struct kd_grpc_server *server = conn->server;
    nghttp2_settings_entry iv[3] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, server->cfg.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW_SIZE},
        /* No priority tree: cheaper streams, and nothing for a client to build up. */
        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
    };
    int rv = nghttp2_session_server_new3(&conn->session, server->callbacks, conn, server->options,
                                         &server->mem);
    if (rv != 0)
        return -ENOMEM;
    rv = nghttp2_submit_settings(conn->session, NGHTTP2_FLAG_NONE, iv, 3);
    if (rv == 0)
        rv = nghttp2_session_set_local_window_size(conn->session, NGHTTP2_FLAG_NONE, 0,
                                                   CONNECTION_WINDOW_SIZE);
    if (rv != 0)
        return -ENOMEM;
    if (server->is_draining)
        nghttp2_submit_shutdown_notice(conn->session);
    return 0;
}

int kd_grpc_conn_create(struct kd_grpc_server *server, struct bufferevent *bev, bool is_socket)
{
    struct kd_grpc_conn *conn = kd_pool_calloc(server->pool, 1, sizeof(*conn));
    if (!conn)
        goto fail_conn;
    conn->server = server;
    conn->bev = bev;
    conn->fd = is_socket ? bufferevent_getfd(bev) : -1;
    conn->staged = evbuffer_new();
    if (!conn->staged)
        goto fail_staged;
    kd_list_init(&conn->calls);
    kd_list_init(&conn->deadlines);
    event_assign(&conn->send_ev, server->base, -1, 0, on_send_ready, conn);
    evtimer_assign(&conn->timer_ev, server->base, on_timer, conn);
    evtimer_assign(&conn->write_ev, server->base, on_write_timeout, conn);
    if (start_session(conn) != 0)
        goto fail_session;
    bufferevent_setcb(bev, on_read, on_write, on_event, conn);
    if (conn->fd >= 0) {
        /* The bufferevent writes what the socket did not take; the reads are ours, into its
         * input, whose end it keeps frozen outside its own reads (which never run here). */
        evbuffer_unfreeze(bufferevent_get_input(bev), 0);
        event_assign(&conn->read_ev, server->base, conn->fd, EV_READ | EV_PERSIST, on_readable,
                     conn);
        if (event_add(&conn->read_ev, NULL) != 0)
            goto fail_session;
        conn->is_reading = true;
        bufferevent_enable(bev, EV_WRITE);
    } else {
        bufferevent_setwatermark(bev, EV_READ, 0, INPUT_HIGH);
        bufferevent_enable(bev, EV_READ | EV_WRITE);
    }
    kd_list_push_front(&server->conns, &conn->link);
    server->n_conns++;
    struct timeval tv = ms_tv(server->cfg.handshake_timeout_ms);
    evtimer_add(&conn->timer_ev, &tv);
    conn_send(conn);
    return 0;

fail_session:
    nghttp2_session_del(conn->session);
    evbuffer_free(conn->staged);
fail_staged:
    kd_pool_free(server->pool, conn);
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
