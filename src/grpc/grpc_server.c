/* SPDX-License-Identifier: Apache-2.0 */
/* The gRPC transport glue: evconnlistener + one bufferevent and one nghttp2 server session per
 * connection (h2c prior knowledge), request validation, routing, deadlines and graceful drain.
 * Framing, timeouts and status strings live in the pure grpc_frame/timeout/status files. */
#include "grpc/grpc_server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/listener.h>
#include <nghttp2/nghttp2.h>

#include "grpc/grpc_frame.h"
#include "grpc/grpc_status.h"
#include "grpc/grpc_timeout.h"
#include "util/log.h"
#include "util/time.h"

#define LOG_DEBUG(...)                                                                             \
    do {                                                                                           \
        if (kd_log_enabled(KD_LOG_DEBUG))                                                          \
            kd_log_prefixed(KD_LOG_DEBUG, "grpc", __VA_ARGS__);                                    \
    } while (0)
#define LOG_WARN(...) kd_log_prefixed(KD_LOG_WARN, "grpc", __VA_ARGS__)
#define LOG_INFO(...) kd_log_prefixed(KD_LOG_INFO, "grpc", __VA_ARGS__)

/* Stop handing frames to the socket above this much unsent output (nghttp2 example value). */
#define OUTPUT_WOULDBLOCK_THRESHOLD (64 * 1024)
/* Per-stream receive window: a 4 MiB request needs a few WINDOW_UPDATEs, not one per 64 KiB. */
#define STREAM_WINDOW_SIZE (1 << 20)
#define CONNECTION_WINDOW_SIZE (16 << 20)
/* Between the shutdown notice and the real GOAWAY: at least one round trip. */
#define GOAWAY_DELAY_MS 500
#define CLOSE_FLUSH_TIMEOUT_S 5

struct kd_grpc_conn;

struct kd_grpc_call {
    struct kd_grpc_conn *conn;
    struct kd_grpc_call *prev, *next; /* the connection's calls, for teardown */
    int32_t stream_id;
    const struct kd_grpc_method *method;
    char *path;

    /* Request header facts, gathered by on_header and judged at the end of the headers. */
    bool is_post;
    bool has_content_type;
    bool is_grpc_content_type;
    bool has_timeout;
    bool is_timeout_bad;
    bool is_identity_encoding; /* no grpc-encoding, or "identity" */
    int64_t timeout_ms;
    char *bad_value; /* offending :method, content-type or grpc-timeout, for the error text */
    char *encoding;

    bool is_validated;  /* headers accepted; DATA is parsed from now on */
    bool is_dispatched; /* on_message ran: on_close is owed */
    bool is_finished;   /* status decided; nothing more may be sent */
    bool is_response_submitted;
    bool is_deferred; /* the data provider is waiting for kd_grpc_call_send */
    bool is_trailer_submitted;
    bool has_deadline;
    uint32_t rst_code; /* sent after our END_STREAM if the client is still sending */

    struct kd_grpc_frame_decoder dec;
    unsigned n_messages;
    uint8_t *request; /* the single message of UNARY / SERVER_STREAMING, until EOS */
    size_t request_len;

    struct evbuffer *out; /* framed response messages not yet given to nghttp2 */
    enum kd_grpc_status status;
    char *message; /* encoded grpc-message for the trailers, or NULL */
    struct event deadline_ev;
    int64_t deadline_ms;
    void *user;
};

struct kd_grpc_conn {
    struct kd_grpc_server *server;
    struct kd_grpc_conn *prev, *next;
    struct bufferevent *bev;
    nghttp2_session *session;
    struct kd_grpc_call *calls;
    struct event send_ev; /* deferred nghttp2_session_send, so handlers never re-enter */
    bool is_closing;      /* flush what is buffered, then free */
};

struct route {
    const struct kd_grpc_method *method;
    size_t service_len; /* "/svc/M": service is path[1 .. 1 + service_len) */
};

struct kd_grpc_server {
    struct event_base *base;
    struct kd_grpc_server_config cfg;
    nghttp2_session_callbacks *callbacks;
    nghttp2_option *options;
    struct evconnlistener *listener;
    int port;

    struct route *routes;
    size_t n_routes, routes_cap;
    char **services;
    size_t n_services, services_cap;

    struct kd_grpc_conn *conns;
    size_t n_conns;

    bool is_draining;
    struct event goaway_ev;
    struct event drain_ev;
    void (*drain_done)(void *arg);
    void *drain_arg;
};

/* ---- Small helpers --------------------------------------------------------------------- */

#define MAKE_NV(name, value)                                                                       \
    {                                                                                              \
        (uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, strlen(value),                    \
            NGHTTP2_NV_FLAG_NONE                                                                   \
    }

static char *dup_n(const uint8_t *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Go's %q, close enough for error texts: quotes, escapes '"', '\\' and non-printable bytes. */
static void quote(const char *s, char *buf, size_t size)
{
    size_t out = 0;
    if (size < 3) {
        buf[0] = '\0';
        return;
    }
    buf[out++] = '"';
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        char tmp[5];
        size_t n;
        if (*p == '"' || *p == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)*p;
            n = 2;
        } else if (*p < 0x20 || *p > 0x7e) {
            snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
            n = 4;
        } else {
            tmp[0] = (char)*p;
            n = 1;
        }
        if (out + n + 2 > size)
            break;
        memcpy(buf + out, tmp, n);
        out += n;
    }
    buf[out++] = '"';
    buf[out] = '\0';
}

static bool is_grpc_content_type(const uint8_t *v, size_t n)
{
    static const char base[] = "application/grpc";
    size_t blen = sizeof(base) - 1;
    if (n < blen || memcmp(v, base, blen) != 0)
        return false;
    return n == blen || v[blen] == '+' || v[blen] == ';';
}

/* ---- Connection plumbing --------------------------------------------------------------- */

static void conn_free(struct kd_grpc_conn *conn);

static void conn_schedule_send(struct kd_grpc_conn *conn)
{
    if (conn->session)
        event_active(&conn->send_ev, EV_WRITE, 0);
}

static bool conn_should_close(struct kd_grpc_conn *conn)
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
            LOG_DEBUG("send failed: %s", nghttp2_strerror(rv));
            conn_free(conn);
            return -1;
        }
    }
    if (conn_should_close(conn) && evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0) {
        conn_free(conn);
        return -1;
    }
    return 0;
}

/* A peer error ends this connection only: flush what nghttp2 queued (often a GOAWAY), close. */
static void conn_fail(struct kd_grpc_conn *conn, int rv)
{
    LOG_DEBUG("closing connection: %s", nghttp2_strerror(rv));
    if (rv != NGHTTP2_ERR_BAD_CLIENT_MAGIC)
        nghttp2_session_send(conn->session);
    conn->is_closing = true;
    /* A peer that never reads must not pin the connection: give the flush a bound. */
    struct timeval tv = {CLOSE_FLUSH_TIMEOUT_S, 0};
    bufferevent_set_timeouts(conn->bev, NULL, &tv);
    conn_send(conn);
}

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
    struct kd_grpc_conn *conn = arg;
    (void)bev;
    conn_send(conn);
}

static void on_event(struct bufferevent *bev, short events, void *arg)
{
    struct kd_grpc_conn *conn = arg;
    (void)bev;
    if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        if (events & BEV_EVENT_ERROR)
            LOG_DEBUG("connection error: %s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        conn_free(conn);
    }
}

static void on_send_ready(evutil_socket_t fd, short events, void *arg)
{
    (void)fd;
    (void)events;
    conn_send(arg);
}

/* ---- Calls ------------------------------------------------------------------------------- */

static void call_free(struct kd_grpc_call *call)
{
    struct kd_grpc_conn *conn = call->conn;
    if (call->has_deadline)
        evtimer_del(&call->deadline_ev);
    if (call->prev)
        call->prev->next = call->next;
    else
        conn->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    if (call->is_dispatched && call->method->on_close)
        call->method->on_close(call, call->method->arg);
    kd_grpc_frame_decoder_fini(&call->dec);
    if (call->out)
        evbuffer_free(call->out);
    free(call->request);
    free(call->message);
    free(call->bad_value);
    free(call->encoding);
    free(call->path);
    free(call);
}

static void submit_trailer(struct kd_grpc_call *call)
{
    nghttp2_nv nva[2] = {
        MAKE_NV("grpc-status", kd_grpc_status_code_str(call->status)),
        MAKE_NV("grpc-message", call->message ? call->message : ""),
    };
    call->is_trailer_submitted = true;
    int rv =
        nghttp2_submit_trailer(call->conn->session, call->stream_id, nva, call->message ? 2 : 1);
    if (rv != 0)
        LOG_DEBUG("stream %d: trailer: %s", call->stream_id, nghttp2_strerror(rv));
}

static ssize_t read_response(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                             size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                             void *user_data)
{
    struct kd_grpc_call *call = source->ptr;
    (void)session;
    (void)stream_id;
    (void)user_data;

    int n = call->out ? evbuffer_remove(call->out, buf, length) : 0;
    if (n < 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    bool is_empty = !call->out || evbuffer_get_length(call->out) == 0;
    if (is_empty && call->is_finished) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        if (!call->is_trailer_submitted)
            submit_trailer(call);
        return n;
    }
    if (n == 0) {
        call->is_deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return n;
}

static int submit_headers(struct kd_grpc_call *call)
{
    nghttp2_nv nva[2] = {
        MAKE_NV(":status", "200"),
        MAKE_NV("content-type", "application/grpc"),
    };
    nghttp2_data_provider dp = {.source = {.ptr = call}, .read_callback = read_response};
    int rv = nghttp2_submit_response(call->conn->session, call->stream_id, nva, 2, &dp);
    if (rv != 0) {
        LOG_DEBUG("stream %d: response: %s", call->stream_id, nghttp2_strerror(rv));
        return -EPIPE;
    }
    call->is_response_submitted = true;
    return 0;
}

static void resume(struct kd_grpc_call *call)
{
    if (call->is_deferred) {
        call->is_deferred = false;
        nghttp2_session_resume_data(call->conn->session, call->stream_id);
    }
}

/* Decide the status of a call. Before any response this is one Trailers-Only HEADERS block
 * (with `http_status`, which is "200" except for the early HTTP-level rejections). */
static int finish(struct kd_grpc_call *call, const char *http_status, enum kd_grpc_status status,
                  const char *message, bool with_accept_encoding)
{
    if (call->is_finished)
        return -EALREADY;
    if (!call->conn->session)
        return -EPIPE;
    call->is_finished = true;
    call->status = status;

    char encoded[KD_GRPC_STATUS_MESSAGE_MAX + 1];
    size_t enc_len = 0;
    if (message && *message)
        enc_len = kd_grpc_status_encode_message(message, encoded, sizeof(encoded));

    if (call->is_response_submitted) {
        if (enc_len > 0) {
            call->message = strdup(encoded);
            if (!call->message)
                LOG_WARN("stream %d: out of memory for grpc-message", call->stream_id);
        }
        resume(call);
        conn_schedule_send(call->conn);
        return 0;
    }

    nghttp2_nv nva[5] = {
        MAKE_NV(":status", http_status),
        MAKE_NV("content-type", "application/grpc"),
        MAKE_NV("grpc-status", kd_grpc_status_code_str(status)),
    };
    size_t n = 3;
    if (enc_len > 0)
        nva[n++] = (nghttp2_nv)MAKE_NV("grpc-message", encoded);
    if (with_accept_encoding)
        nva[n++] = (nghttp2_nv)MAKE_NV("grpc-accept-encoding", "identity");
    call->is_response_submitted = true;
    call->is_trailer_submitted = true;
    int rv = nghttp2_submit_response(call->conn->session, call->stream_id, nva, n, NULL);
    if (rv != 0)
        LOG_DEBUG("stream %d: trailers-only: %s", call->stream_id, nghttp2_strerror(rv));
    conn_schedule_send(call->conn);
    return 0;
}

static void on_deadline(evutil_socket_t fd, short events, void *arg)
{
    struct kd_grpc_call *call = arg;
    (void)fd;
    (void)events;
    call->rst_code = NGHTTP2_CANCEL;
    if (finish(call, "200", KD_GRPC_DEADLINE_EXCEEDED, "deadline exceeded", false) == -EALREADY) {
        /* Finished but its output is stuck behind flow control: stop waiting. */
        nghttp2_submit_rst_stream(call->conn->session, NGHTTP2_FLAG_NONE, call->stream_id,
                                  NGHTTP2_CANCEL);
        conn_schedule_send(call->conn);
    }
}

static void start_deadline(struct kd_grpc_call *call, int64_t timeout_ms)
{
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    call->deadline_ms = kd_time_mono_ms() + timeout_ms;
    evtimer_assign(&call->deadline_ev, call->conn->server->base, on_deadline, call);
    evtimer_add(&call->deadline_ev, &tv);
    call->has_deadline = true;
}

/* ---- Routing ------------------------------------------------------------------------------ */

static const struct kd_grpc_method *find_method(const struct kd_grpc_server *server,
                                                const char *path)
{
    for (size_t i = 0; i < server->n_routes; i++) {
        if (strcmp(server->routes[i].method->path, path) == 0)
            return server->routes[i].method;
    }
    return NULL;
}

static bool is_known_service(const struct kd_grpc_server *server, const char *svc, size_t len)
{
    for (size_t i = 0; i < server->n_services; i++) {
        if (strlen(server->services[i]) == len && memcmp(server->services[i], svc, len) == 0)
            return true;
    }
    return false;
}

/* Answer an unroutable path with grpc-go's words; the path splits at its last '/'. */
static void reject_path(struct kd_grpc_call *call)
{
    const struct kd_grpc_server *server = call->conn->server;
    const char *sm = call->path[0] == '/' ? call->path + 1 : call->path;
    const char *slash = strrchr(sm, '/');
    char text[1024];

    if (!slash) {
        char q[512];
        quote(call->path, q, sizeof(q));
        snprintf(text, sizeof(text), "malformed method name: %s", q);
    } else {
        int svc_len = (int)(slash - sm);
        if (is_known_service(server, sm, (size_t)svc_len))
            snprintf(text, sizeof(text), "unknown method %s for service %.*s", slash + 1, svc_len,
                     sm);
        else
            snprintf(text, sizeof(text), "unknown service %.*s", svc_len, sm);
    }
    finish(call, "200", KD_GRPC_UNIMPLEMENTED, text, false);
}

/* End of the request headers: the grpc-go checks in grpc-go's order, then routing. */
static void on_request_headers(struct kd_grpc_call *call)
{
    struct kd_grpc_server *server = call->conn->server;
    char text[1024], q[768];

    if (!call->is_grpc_content_type) {
        quote(call->has_content_type ? call->bad_value : "", q, sizeof(q));
        snprintf(text, sizeof(text), "invalid gRPC request content-type %s", q);
        finish(call, "415", KD_GRPC_INVALID_ARGUMENT, text, false);
        return;
    }
    if (call->is_timeout_bad) {
        quote(call->bad_value, q, sizeof(q));
        snprintf(text, sizeof(text), "malformed grpc-timeout: %s", q);
        finish(call, "400", KD_GRPC_INTERNAL, text, false);
        return;
    }
    if (!call->is_post) {
        quote(call->bad_value, q, sizeof(q));
        snprintf(text, sizeof(text),
                 "Received a HEADERS frame with :method %s which should be POST", q);
        finish(call, "405", KD_GRPC_INTERNAL, text, false);
        return;
    }
    call->method = call->path ? find_method(server, call->path) : NULL;
    if (!call->method) {
        if (!call->path)
            call->path = strdup("");
        if (call->path)
            reject_path(call);
        else
            finish(call, "200", KD_GRPC_INTERNAL, "out of memory", false);
        return;
    }

    kd_grpc_frame_decoder_init(&call->dec, server->cfg.max_message_size);
    call->is_validated = true;
    if (call->has_timeout)
        start_deadline(call, call->timeout_ms);
    else if (call->method->kind == KD_GRPC_UNARY && server->cfg.default_deadline_ms > 0)
        start_deadline(call, server->cfg.default_deadline_ms);
    else
        call->deadline_ms = INT64_MAX;
}

/* A call routed but not yet dispatched when its service was unregistered (live reload) has
 * method NULL: it goes to whatever serves its path now. */
static bool call_reroute(struct kd_grpc_call *call)
{
    if (call->method)
        return true;
    call->method = find_method(call->conn->server, call->path);
    if (call->method)
        return true;
    reject_path(call);
    return false;
}

static void on_request_message(struct kd_grpc_call *call, const struct kd_grpc_frame_message *m)
{
    char text[256];

    if (!call_reroute(call))
        return;

    if (m->is_compressed) {
        /* We decompress nothing, so both cases get UNIMPLEMENTED plus the one encoding we
         * accept: the answer a client can act on (doc/compression.md). */
        if (call->is_identity_encoding) {
            snprintf(text, sizeof(text),
                     "grpc: compressed flag set with identity or empty "
                     "encoding");
        } else {
            char q[128];
            quote(call->encoding, q, sizeof(q));
            snprintf(text, sizeof(text), "grpc: Decompressor is not installed for grpc-encoding %s",
                     q);
        }
        finish(call, "200", KD_GRPC_UNIMPLEMENTED, text, true);
        return;
    }

    call->n_messages++;
    if (call->method->kind == KD_GRPC_BIDI_STREAMING) {
        call->is_dispatched = true;
        call->method->on_message(call, m->data, m->len, call->method->arg);
        return;
    }
    if (call->n_messages > 1) {
        finish(call, "200", KD_GRPC_INTERNAL,
               "grpc: cardinality violation: expected <EOF> for non client-streaming RPCs, but "
               "received another message",
               false);
        return;
    }
    call->request = malloc(m->len ? m->len : 1);
    if (!call->request) {
        finish(call, "200", KD_GRPC_RESOURCE_EXHAUSTED, "out of memory", false);
        return;
    }
    memcpy(call->request, m->data, m->len);
    call->request_len = m->len;
}

static void on_request_end(struct kd_grpc_call *call)
{
    if (!call_reroute(call))
        return;
    if (!kd_grpc_frame_decoder_is_idle(&call->dec)) {
        finish(call, "200", KD_GRPC_INTERNAL, "grpc: unexpected EOF inside a message", false);
        return;
    }
    if (call->method->kind == KD_GRPC_BIDI_STREAMING) {
        if (!call->is_dispatched)
            finish(call, "200", KD_GRPC_OK, NULL, false);
        else if (call->method->on_half_close)
            call->method->on_half_close(call, call->method->arg);
        return;
    }
    if (call->n_messages == 0) {
        finish(call, "200", KD_GRPC_INTERNAL,
               "grpc: cardinality violation: received no request message from "
               "non-client-streaming RPC",
               false);
        return;
    }
    call->is_dispatched = true;
    call->method->on_message(call, call->request, call->request_len, call->method->arg);
    free(call->request);
    call->request = NULL;
}

/* ---- nghttp2 callbacks --------------------------------------------------------------------- */

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    struct kd_grpc_conn *conn = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct kd_grpc_call *call = calloc(1, sizeof(*call));
    if (!call)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    call->conn = conn;
    call->stream_id = frame->hd.stream_id;
    call->is_identity_encoding = true;
    call->rst_code = NGHTTP2_NO_ERROR;
    call->deadline_ms = INT64_MAX;
    call->next = conn->calls;
    if (conn->calls)
        conn->calls->prev = call;
    conn->calls = call;
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, call);
    return 0;
}

static bool name_is(const uint8_t *name, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(name, lit, len) == 0;
}

static void keep_bad_value(struct kd_grpc_call *call, const uint8_t *value, size_t len)
{
    if (!call->bad_value)
        call->bad_value = dup_n(value, len);
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    (void)flags;
    (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct kd_grpc_call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!call)
        return 0;

    if (name_is(name, namelen, ":path")) {
        free(call->path);
        call->path = dup_n(value, valuelen);
        if (!call->path)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    } else if (name_is(name, namelen, ":method")) {
        call->is_post = name_is(value, valuelen, "POST");
        if (!call->is_post)
            keep_bad_value(call, value, valuelen);
    } else if (name_is(name, namelen, "content-type")) {
        call->has_content_type = true;
        call->is_grpc_content_type = is_grpc_content_type(value, valuelen);
        if (!call->is_grpc_content_type) {
            free(call->bad_value);
            call->bad_value = dup_n(value, valuelen);
        }
    } else if (name_is(name, namelen, "grpc-timeout")) {
        call->has_timeout = true;
        if (kd_grpc_timeout_parse((const char *)value, valuelen, &call->timeout_ms) != 0) {
            call->is_timeout_bad = true;
            keep_bad_value(call, value, valuelen);
        }
    } else if (name_is(name, namelen, "grpc-encoding")) {
        call->is_identity_encoding = name_is(value, valuelen, "identity");
        free(call->encoding);
        call->encoding = call->is_identity_encoding ? NULL : dup_n(value, valuelen);
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user_data)
{
    (void)flags;
    (void)user_data;
    struct kd_grpc_call *call = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!call || !call->is_validated)
        return 0;

    while (len > 0 && !call->is_finished) {
        struct kd_grpc_frame_message m;
        size_t used = 0;
        int rc = kd_grpc_frame_decode(&call->dec, data, len, &used, &m);
        if (rc == -EMSGSIZE) {
            char text[128];
            snprintf(text, sizeof(text), "grpc: received message larger than max (%u vs. %zu)",
                     call->dec.msg_len, call->dec.max_message_size);
            finish(call, "200", KD_GRPC_RESOURCE_EXHAUSTED, text, false);
            return 0;
        }
        if (rc < 0) {
            finish(call, "200", KD_GRPC_RESOURCE_EXHAUSTED, "out of memory", false);
            return 0;
        }
        data += used;
        len -= used;
        if (rc == 1)
            on_request_message(call, &m);
    }
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
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        on_request_headers(call);
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && call->is_validated && !call->is_finished)
        on_request_end(call);
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
        call_free(call);
    }
    return 0;
}

/* ---- Connections --------------------------------------------------------------------------- */

static void conn_free(struct kd_grpc_conn *conn)
{
    struct kd_grpc_server *server = conn->server;

    /* nghttp2_session_del() runs no callbacks: calls are released from our own list. The
     * session goes first so that kd_grpc_call_* from a stray on_close see -EPIPE. */
    nghttp2_session_del(conn->session);
    conn->session = NULL;
    event_del(&conn->send_ev);
    while (conn->calls)
        call_free(conn->calls);
    bufferevent_free(conn->bev);

    if (conn->prev)
        conn->prev->next = conn->next;
    else
        server->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    server->n_conns--;
    free(conn);

    if (server->is_draining && server->n_conns == 0)
        event_active(&server->drain_ev, EV_TIMEOUT, 0);
}

/* The connection-level start, shared by h2c (right after accept) and, later, TLS (after the
 * handshake selected h2): the connection does not care what kind of bufferevent it has. */
static int conn_start(struct kd_grpc_conn *conn)
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
    bufferevent_setcb(conn->bev, on_read, on_write, on_event, conn);
    bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
    return 0;
}

static void on_accept(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *addr,
                      int addrlen, void *arg)
{
    struct kd_grpc_server *server = arg;
    int one = 1;
    (void)listener;
    (void)addr;
    (void)addrlen;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct kd_grpc_conn *conn = calloc(1, sizeof(*conn));
    if (!conn)
        goto fail_conn;
    conn->server = server;
    conn->bev =
        bufferevent_socket_new(server->base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!conn->bev)
        goto fail_bev;
    event_assign(&conn->send_ev, server->base, -1, 0, on_send_ready, conn);
    if (conn_start(conn) != 0)
        goto fail_start;

    conn->next = server->conns;
    if (server->conns)
        server->conns->prev = conn;
    server->conns = conn;
    server->n_conns++;
    conn_send(conn);
    return;

fail_start:
    if (conn->session)
        nghttp2_session_del(conn->session);
    bufferevent_free(conn->bev);
    fd = -1; /* closed with the bufferevent */
fail_bev:
    free(conn);
fail_conn:
    if (fd >= 0)
        evutil_closesocket(fd);
    LOG_WARN("out of memory accepting a connection");
}

static void on_accept_error(struct evconnlistener *listener, void *arg)
{
    (void)listener;
    (void)arg;
    /* EMFILE and friends: the listener retries on the next readiness. */
    LOG_WARN("accept: %s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* ---- Server --------------------------------------------------------------------------------- */

void kd_grpc_server_config_init(struct kd_grpc_server_config *cfg)
{
    cfg->max_message_size = 4 << 20;
    cfg->default_deadline_ms = 30000;
    cfg->max_concurrent_streams = 10000;
}

static void on_goaway(evutil_socket_t fd, short events, void *arg);
static void on_drain_end(evutil_socket_t fd, short events, void *arg);

int kd_grpc_server_create(struct event_base *base, const struct kd_grpc_server_config *cfg,
                          struct kd_grpc_server **ret_server)
{
    if (!base || !cfg || cfg->max_message_size == 0 || cfg->max_message_size > UINT32_MAX ||
        cfg->max_concurrent_streams == 0)
        return -EINVAL;

    struct kd_grpc_server *server = calloc(1, sizeof(*server));
    if (!server)
        goto fail_server;
    server->base = base;
    server->cfg = *cfg;
    server->port = -1;
    if (nghttp2_session_callbacks_new(&server->callbacks) != 0)
        goto fail_callbacks;
    nghttp2_session_callbacks_set_send_callback(server->callbacks, send_callback);
    nghttp2_session_callbacks_set_on_begin_headers_callback(server->callbacks, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(server->callbacks, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(server->callbacks, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(server->callbacks, on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(server->callbacks, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(server->callbacks, on_stream_close);
    if (nghttp2_option_new(&server->options) != 0)
        goto fail_options;
    /* A server keeps closed streams for the priority tree, up to MAX_CONCURRENT_STREAMS per
     * connection (about 1 MB each at 10,000): we do not use priorities. */
    nghttp2_option_set_no_closed_streams(server->options, 1);
    evtimer_assign(&server->goaway_ev, base, on_goaway, server);
    evtimer_assign(&server->drain_ev, base, on_drain_end, server);
    *ret_server = server;
    return 0;

fail_options:
    nghttp2_session_callbacks_del(server->callbacks);
fail_callbacks:
    free(server);
fail_server:
    return -ENOMEM;
}

int kd_grpc_server_register(struct kd_grpc_server *server, const struct kd_grpc_method *methods,
                            size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *path = methods[i].path;
        const char *slash = path && path[0] == '/' ? strrchr(path + 1, '/') : NULL;
        if (!slash || slash == path + 1 || !slash[1] || !methods[i].on_message)
            return -EINVAL;
        if (find_method(server, path))
            return -EEXIST;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(methods[j].path, path) == 0)
                return -EEXIST;
        }
    }
    if (server->n_routes + n > server->routes_cap) {
        size_t cap = (server->n_routes + n) * 2;
        struct route *routes = realloc(server->routes, cap * sizeof(*routes));
        if (!routes)
            return -ENOMEM;
        server->routes = routes;
        server->routes_cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        const char *svc = methods[i].path + 1;
        size_t svc_len = (size_t)(strrchr(svc, '/') - svc);
        if (!is_known_service(server, svc, svc_len)) {
            if (server->n_services == server->services_cap) {
                size_t cap = server->services_cap ? server->services_cap * 2 : 8;
                char **names = realloc(server->services, cap * sizeof(*names));
                if (!names)
                    return -ENOMEM;
                server->services = names;
                server->services_cap = cap;
            }
            char *name = dup_n((const uint8_t *)svc, svc_len);
            if (!name)
                return -ENOMEM;
            server->services[server->n_services++] = name;
        }
        server->routes[server->n_routes].method = &methods[i];
        server->routes[server->n_routes].service_len = svc_len;
        server->n_routes++;
    }
    return 0;
}

void kd_grpc_server_unregister_service(struct kd_grpc_server *server, const char *service)
{
    size_t len = strlen(service);
    size_t keep = 0;
    for (size_t i = 0; i < server->n_routes; i++) {
        const struct route *r = &server->routes[i];
        if (r->service_len == len && memcmp(r->method->path + 1, service, len) == 0)
            continue;
        server->routes[keep++] = *r;
    }
    server->n_routes = keep;

    /* Calls not dispatched yet must not reach the old table later: its owner may be gone. */
    for (struct kd_grpc_conn *c = server->conns; c; c = c->next) {
        for (struct kd_grpc_call *call = c->calls; call; call = call->next) {
            if (!call->is_dispatched && call->method &&
                strncmp(call->method->path + 1, service, len) == 0 &&
                call->method->path[1 + len] == '/')
                call->method = NULL;
        }
    }

    keep = 0;
    for (size_t i = 0; i < server->n_services; i++) {
        if (strcmp(server->services[i], service) == 0) {
            free(server->services[i]);
            continue;
        }
        server->services[keep++] = server->services[i];
    }
    server->n_services = keep;
}

size_t kd_grpc_server_connections(const struct kd_grpc_server *server)
{
    return server->n_conns;
}

size_t kd_grpc_server_services(const struct kd_grpc_server *server, const char *const **ret_names)
{
    *ret_names = (const char *const *)server->services;
    return server->n_services;
}

/* "host:port", "[v6]:port" or ":port" (all IPv4 interfaces). */
static int split_address(const char *address, char *host, size_t host_size, const char **ret_port)
{
    const char *colon;
    const char *h = address;
    size_t hlen;

    if (address[0] == '[') {
        const char *end = strchr(address, ']');
        if (!end || end[1] != ':')
            return -EINVAL;
        h = address + 1;
        hlen = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(address, ':');
        if (!colon || strchr(address, ':') != colon)
            return -EINVAL;
        hlen = (size_t)(colon - address);
    }
    if (hlen >= host_size || !colon[1])
        return -EINVAL;
    if (hlen == 0) {
        snprintf(host, host_size, "0.0.0.0");
    } else {
        memcpy(host, h, hlen);
        host[hlen] = '\0';
    }
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
    }
    if (strtol(colon + 1, NULL, 10) > 65535)
        return -EINVAL;
    *ret_port = colon + 1;
    return 0;
}

static int resolve_address(const char *address, struct addrinfo **ret_res)
{
    char host[256];
    const char *port;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};

    int rc = split_address(address, host, sizeof(host), &port);
    if (rc < 0)
        return rc;
    rc = getaddrinfo(host, port, &hints, ret_res);
    if (rc != 0)
        return rc == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
    return 0;
}

/* Whether `listener` is bound to exactly `addr` (same family, address and port). */
static bool bound_to(struct evconnlistener *listener, const struct addrinfo *addr)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    if (getsockname(evconnlistener_get_fd(listener), (struct sockaddr *)&ss, &sl) != 0)
        return false;
    return sl == addr->ai_addrlen && memcmp(&ss, addr->ai_addr, sl) == 0;
}

/* Bind and listen on `addr`; the server's listener and port are not touched. */
static int bind_listener(struct kd_grpc_server *server, const struct addrinfo *addr,
                         struct evconnlistener **ret_listener, int *ret_port)
{
    struct evconnlistener *listener;

    errno = 0;
    listener =
        evconnlistener_new_bind(server->base, on_accept, server,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                511, addr->ai_addr, (int)addr->ai_addrlen);
    if (!listener)
        return errno ? -errno : -EADDRNOTAVAIL;
    evconnlistener_set_error_cb(listener, on_accept_error);

    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int bound = -1;
    if (getsockname(evconnlistener_get_fd(listener), (struct sockaddr *)&ss, &sl) == 0)
        bound = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    *ret_listener = listener;
    *ret_port = bound;
    return 0;
}

int kd_grpc_server_listen(struct kd_grpc_server *server, const char *address)
{
    struct addrinfo *res;

    if (server->listener || server->is_draining)
        return -EBUSY;
    int rc = resolve_address(address, &res);
    if (rc < 0)
        return rc;
    rc = bind_listener(server, res, &server->listener, &server->port);
    freeaddrinfo(res);
    return rc;
}

int kd_grpc_server_relisten(struct kd_grpc_server *server, const char *address)
{
    struct evconnlistener *listener;
    struct addrinfo *res;
    int port;

    if (!server->listener || server->is_draining)
        return -EBUSY;
    int rc = resolve_address(address, &res);
    if (rc < 0)
        return rc;
    /* Another spelling of the address already served (":50051", "0.0.0.0:50051"). */
    if (bound_to(server->listener, res)) {
        freeaddrinfo(res);
        return 0;
    }
    rc = bind_listener(server, res, &listener, &port);
    freeaddrinfo(res);
    if (rc < 0)
        return rc;
    /* Connections are not tied to the listener that accepted them: they carry on. */
    evconnlistener_free(server->listener);
    server->listener = listener;
    server->port = port;
    return 0;
}

int kd_grpc_server_reconfigure(struct kd_grpc_server *server,
                               const struct kd_grpc_server_config *cfg)
{
    if (cfg->max_message_size == 0 || cfg->max_message_size > UINT32_MAX ||
        cfg->max_concurrent_streams == 0)
        return -EINVAL;
    server->cfg = *cfg;
    return 0;
}

int kd_grpc_server_port(const struct kd_grpc_server *server)
{
    return server->port;
}

static void on_goaway(evutil_socket_t fd, short events, void *arg)
{
    struct kd_grpc_server *server = arg;
    (void)fd;
    (void)events;
    for (struct kd_grpc_conn *c = server->conns; c; c = c->next) {
        nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(c->session), NGHTTP2_NO_ERROR,
                              NULL, 0);
        conn_schedule_send(c);
    }
}

static void on_drain_end(evutil_socket_t fd, short events, void *arg)
{
    struct kd_grpc_server *server = arg;
    (void)fd;
    (void)events;
    if (server->n_conns > 0)
        LOG_INFO("drain grace over, dropping %zu connection(s)", server->n_conns);
    while (server->conns)
        conn_free(server->conns);
    evtimer_del(&server->goaway_ev);
    event_del(&server->drain_ev);
    void (*done)(void *) = server->drain_done;
    server->drain_done = NULL;
    if (done)
        done(server->drain_arg);
}

void kd_grpc_server_drain(struct kd_grpc_server *server, int64_t grace_ms, void (*done)(void *arg),
                          void *arg)
{
    if (server->is_draining)
        return;
    server->is_draining = true;
    server->drain_done = done;
    server->drain_arg = arg;
    if (server->listener) {
        evconnlistener_free(server->listener);
        server->listener = NULL;
    }
    if (grace_ms < 0)
        grace_ms = 0;
    for (struct kd_grpc_conn *c = server->conns; c; c = c->next) {
        nghttp2_submit_shutdown_notice(c->session);
        conn_schedule_send(c);
    }
    int64_t delay = grace_ms < GOAWAY_DELAY_MS ? grace_ms : GOAWAY_DELAY_MS;
    struct timeval tv = {.tv_sec = delay / 1000, .tv_usec = (delay % 1000) * 1000};
    evtimer_add(&server->goaway_ev, &tv);
    if (server->n_conns == 0) {
        event_active(&server->drain_ev, EV_TIMEOUT, 0);
    } else {
        struct timeval gtv = {.tv_sec = grace_ms / 1000, .tv_usec = (grace_ms % 1000) * 1000};
        evtimer_add(&server->drain_ev, &gtv);
    }
}

void kd_grpc_server_destroy(struct kd_grpc_server *server)
{
    if (!server)
        return;
    while (server->conns)
        conn_free(server->conns);
    if (server->listener)
        evconnlistener_free(server->listener);
    evtimer_del(&server->goaway_ev);
    event_del(&server->drain_ev);
    for (size_t i = 0; i < server->n_services; i++)
        free(server->services[i]);
    free(server->services);
    free(server->routes);
    nghttp2_option_del(server->options);
    nghttp2_session_callbacks_del(server->callbacks);
    free(server);
}

/* ---- Per-call API -------------------------------------------------------------------------- */

int kd_grpc_call_send(struct kd_grpc_call *call, const uint8_t *msg, size_t len)
{
    uint8_t header[KD_GRPC_FRAME_HEADER_LEN];

    if (call->is_finished || !call->conn->session)
        return -EPIPE;
    if (kd_grpc_frame_encode_header(len, header) != 0)
        return -EMSGSIZE;
    if (!call->out) {
        call->out = evbuffer_new();
        if (!call->out)
            return -ENOMEM;
    }
    if (evbuffer_expand(call->out, sizeof(header) + len) != 0 ||
        evbuffer_add(call->out, header, sizeof(header)) != 0 ||
        (len > 0 && evbuffer_add(call->out, msg, len) != 0))
        return -ENOMEM;
    if (!call->is_response_submitted) {
        int rc = submit_headers(call);
        if (rc < 0)
            return rc;
    } else {
        resume(call);
    }
    conn_schedule_send(call->conn);
    return 0;
}

int kd_grpc_call_finish(struct kd_grpc_call *call, enum kd_grpc_status status, const char *message)
{
    return finish(call, "200", status, message, false);
}

int kd_grpc_call_finishf(struct kd_grpc_call *call, enum kd_grpc_status status, const char *fmt,
                         ...)
{
    char text[KD_GRPC_STATUS_MESSAGE_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return finish(call, "200", status, text, false);
}

bool kd_grpc_call_is_finished(const struct kd_grpc_call *call)
{
    return call->is_finished;
}

void kd_grpc_call_set_user(struct kd_grpc_call *call, void *user)
{
    call->user = user;
}

void *kd_grpc_call_user(const struct kd_grpc_call *call)
{
    return call->user;
}
