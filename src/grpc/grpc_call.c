/* SPDX-License-Identifier: Apache-2.0 */
/* One RPC (see grpc_call.h): request validation in grpc-go's order, routing, deadlines,
 * dispatch, response framing and the status, as Trailers-Only or as trailers. */
#include "grpc/grpc_call.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "grpc/grpc_conn.h"
#include "grpc/grpc_server_impl.h"
#include "grpc/grpc_status.h"
#include "grpc/grpc_timeout.h"
#include "util/pool.h"

#define MAKE_NV(name, value)                                                                       \
    {                                                                                              \
        (uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, strlen(value),                    \
            NGHTTP2_NV_FLAG_NONE                                                                   \
    }

/* Name and value are string literals (or static tables): nghttp2 need not copy them. */
#define STATIC_NV(name, value)                                                                     \
    {                                                                                              \
        (uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, strlen(value),                    \
            NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE                           \
    }

/* The one extra header of a Trailers-Only reply to a compressed message. */
static const nghttp2_nv accept_identity = {(uint8_t *)"grpc-accept-encoding", (uint8_t *)"identity",
                                           sizeof("grpc-accept-encoding") - 1,
                                           sizeof("identity") - 1, NGHTTP2_NV_FLAG_NONE};

static struct kd_pool *pool_of(const struct kd_grpc_call *call)
{
    return call->conn->server->pool;
}

static char *dup_n(struct kd_pool *pool, const uint8_t *s, size_t n)
{
    char *p = kd_pool_alloc(pool, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static bool is_grpc_content_type(const uint8_t *v, size_t n)
{
    static const char base[] = "application/grpc";
    size_t blen = sizeof(base) - 1;
    if (n < blen || memcmp(v, base, blen) != 0)
        return false;
    return n == blen || v[blen] == '+' || v[blen] == ';';
}

static bool name_is(const uint8_t *name, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(name, lit, len) == 0;
}

/* ---- Lifetime ------------------------------------------------------------------------------ */

_Static_assert(sizeof(struct kd_grpc_call) <= KD_GRPC_CALL_BLOCK &&
                   sizeof(struct kd_grpc_call) > KD_GRPC_CALL_BLOCK / 4 * 3,
               "struct kd_grpc_call left its pool class: KD_GRPC_CALL_BLOCK, re-measure");

static void account(struct kd_grpc_call *call, long delta)
{
    call->bytes = (size_t)((long)call->bytes + delta);
    kd_grpc_conn_account(call->conn, delta);
}

struct kd_grpc_call *kd_grpc_call_new(struct kd_grpc_conn *conn, int32_t stream_id)
{
    struct kd_grpc_call *call = kd_pool_calloc(conn->server->pool, 1, sizeof(*call));
    if (!call)
        return NULL;
    call->conn = conn;
    call->stream_id = stream_id;
    call->is_identity_encoding = true;
    call->rst_code = NGHTTP2_NO_ERROR;
    kd_list_push_front(&conn->calls, &call->link);
    account(call, KD_GRPC_CALL_COST);
    return call;
}

void kd_grpc_call_free(struct kd_grpc_call *call)
{
    struct kd_grpc_conn *conn = call->conn;
    if (call->has_deadline)
        evtimer_del(&call->deadline_ev);
    kd_list_remove(&call->deadline_link);
    kd_list_remove(&call->link);
    if (call->is_without_deadline) {
        conn->n_streams_no_deadline--;
        conn->server->n_streams_no_deadline--;
    }
    if (call->is_validated)
        kd_grpc_conn_set_active(conn, false);
    if (call->is_dispatched && call->method->on_close)
        call->method->on_close(call, call->method->arg);
    kd_grpc_frame_decoder_fini(&call->dec);
    struct kd_pool *pool = pool_of(call);
    kd_pool_free(pool, call->out);
    kd_pool_free(pool, call->request);
    kd_pool_free(pool, call->message);
    kd_pool_free(pool, call->bad_value);
    kd_pool_free(pool, call->encoding);
    kd_pool_free(pool, call->path);
    kd_grpc_conn_account(conn, -(long)call->bytes);
    kd_pool_free(pool, call);
}

/* ---- Response ------------------------------------------------------------------------------ */

static int submit_trailer(struct kd_grpc_call *call)
{
    nghttp2_nv nva[2] = {
        STATIC_NV("grpc-status", kd_grpc_status_code_str(call->status)),
        MAKE_NV("grpc-message", call->message ? call->message : ""),
    };
    call->is_trailer_submitted = true;
    int rv =
        nghttp2_submit_trailer(call->conn->session, call->stream_id, nva, call->message ? 2 : 1);
    if (rv != 0)
        KD_GRPC_LOG_DEBUG("stream %d: trailer: %s", call->stream_id, nghttp2_strerror(rv));
    return rv;
}

static ssize_t read_response(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                             size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                             void *user_data)
{
    struct kd_grpc_call *call = source->ptr;
    (void)session;
    (void)stream_id;
    (void)user_data;

    size_t n = call->out_len - call->out_pos;
    if (n > length)
        n = length;
    memcpy(buf, call->out + call->out_pos, n);
    call->out_pos += n;
    bool is_empty = call->out_pos == call->out_len;
    if (is_empty)
        call->out_pos = call->out_len = 0;
    if (is_empty && call->is_finished) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        /* No trailer (out of memory): reset the stream rather than leave it open until the
         * deadline, or forever */
        if (!call->is_trailer_submitted && submit_trailer(call) != 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        return (ssize_t)n;
    }
    if (n == 0) {
        call->is_deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

static int submit_headers(struct kd_grpc_call *call)
{
    nghttp2_nv nva[2] = {
        STATIC_NV(":status", "200"),
        STATIC_NV("content-type", "application/grpc"),
    };
    nghttp2_data_provider dp = {.source = {.ptr = call}, .read_callback = read_response};
    int rv = nghttp2_submit_response(call->conn->session, call->stream_id, nva, 2, &dp);
    if (rv != 0) {
        KD_GRPC_LOG_DEBUG("stream %d: response: %s", call->stream_id, nghttp2_strerror(rv));
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
 * with `http_status` ("200" except for the early HTTP-level rejections) and `extra` (NULL or
 * one more header). After a response it becomes the trailers, once the messages are out. */
static int finish(struct kd_grpc_call *call, const char *http_status, enum kd_grpc_status status,
                  const char *message, const nghttp2_nv *extra)
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
            call->message = dup_n(pool_of(call), (const uint8_t *)encoded, enc_len);
            if (!call->message)
                KD_GRPC_LOG_WARN("stream %d: out of memory for grpc-message", call->stream_id);
        }
        resume(call);
        kd_grpc_conn_schedule_send(call->conn);
        return 0;
    }

    nghttp2_nv nva[5] = {
        STATIC_NV(":status", http_status),
        STATIC_NV("content-type", "application/grpc"),
        STATIC_NV("grpc-status", kd_grpc_status_code_str(status)),
    };
    size_t n = 3;
    if (enc_len > 0)
        nva[n++] = (nghttp2_nv)MAKE_NV("grpc-message", encoded);
    if (extra)
        nva[n++] = *extra;
    call->is_response_submitted = true;
    call->is_trailer_submitted = true;
    int rv = nghttp2_submit_response(call->conn->session, call->stream_id, nva, n, NULL);
    if (rv != 0) {
        KD_GRPC_LOG_DEBUG("stream %d: trailers-only: %s", call->stream_id, nghttp2_strerror(rv));
        /* No answer (out of memory): reset the stream rather than leave it open until the
         * deadline, or forever */
        nghttp2_submit_rst_stream(call->conn->session, NGHTTP2_FLAG_NONE, call->stream_id,
                                  NGHTTP2_INTERNAL_ERROR);
    }
    kd_grpc_conn_schedule_send(call->conn);
    return 0;
}

/* finish() with a printf-style message. */
static int vfinishf(struct kd_grpc_call *call, const char *http_status, enum kd_grpc_status status,
                    const nghttp2_nv *extra, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static int vfinishf(struct kd_grpc_call *call, const char *http_status, enum kd_grpc_status status,
                    const nghttp2_nv *extra, const char *fmt, va_list ap)
{
    char text[KD_GRPC_STATUS_MESSAGE_MAX + 1];
    vsnprintf(text, sizeof(text), fmt, ap);
    return finish(call, http_status, status, text, extra);
}

static int finishf(struct kd_grpc_call *call, const char *http_status, enum kd_grpc_status status,
                   const nghttp2_nv *extra, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int finishf(struct kd_grpc_call *call, const char *http_status, enum kd_grpc_status status,
                   const nghttp2_nv *extra, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfinishf(call, http_status, status, extra, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- Deadline ------------------------------------------------------------------------------ */

static void on_deadline(evutil_socket_t fd, short events, void *arg)
{
    struct kd_grpc_call *call = arg;
    (void)fd;
    (void)events;
    call->rst_code = NGHTTP2_CANCEL;
    if (kd_grpc_call_finish(call, KD_GRPC_DEADLINE_EXCEEDED, "deadline exceeded") == -EALREADY) {
        /* Finished but its output is stuck behind flow control: stop waiting. */
        nghttp2_submit_rst_stream(call->conn->session, NGHTTP2_FLAG_NONE, call->stream_id,
                                  NGHTTP2_CANCEL);
        kd_grpc_conn_schedule_send(call->conn);
    }
}

/* The timer is armed at the end of the input slice, and only for a call still open then: a
 * cached answer is sent, and its stream closed, in the same slice, and a timer added and
 * deleted per call was ~350 instructions of it. The loop's clock is the same for the whole
 * slice, so the deadline still counts from the end of the headers. */
static void start_deadline(struct kd_grpc_call *call, int64_t timeout_ms)
{
    call->timeout_ms = timeout_ms;
    kd_list_push_back(&call->conn->deadlines, &call->deadline_link);
}

void kd_grpc_call_arm_deadline(struct kd_grpc_call *call)
{
    int64_t ms = call->timeout_ms;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

    kd_list_remove(&call->deadline_link);
    evtimer_assign(&call->deadline_ev, call->conn->server->base, on_deadline, call);
    evtimer_add(&call->deadline_ev, &tv);
    call->has_deadline = true;
}

/* The client's deadline capped at max_deadline; unary calls without one get the default;
 * other calls without one are counted, and refused past the limits (they hold memory for as
 * long as the client likes). */
static void start_deadline_or_count(struct kd_grpc_call *call)
{
    struct kd_grpc_conn *conn = call->conn;
    struct kd_grpc_server *server = conn->server;
    const struct kd_grpc_server_config *cfg = &server->cfg;
    int64_t ms = call->has_timeout                     ? call->timeout_ms
                 : call->method->kind == KD_GRPC_UNARY ? cfg->default_deadline_ms
                                                       : 0;

    if (ms > 0) {
        start_deadline(call, ms < cfg->max_deadline_ms ? ms : cfg->max_deadline_ms);
        return;
    }
    if (conn->n_streams_no_deadline >= cfg->max_streams_without_deadline) {
        kd_grpc_call_finishf(call, KD_GRPC_RESOURCE_EXHAUSTED,
                             "too many streams without a deadline on this connection (%u, "
                             "limits.max_streams_without_deadline)",
                             cfg->max_streams_without_deadline);
        return;
    }
    if (server->n_streams_no_deadline >= cfg->total_streams_without_deadline) {
        kd_grpc_call_finishf(call, KD_GRPC_RESOURCE_EXHAUSTED,
                             "too many streams without a deadline (%u, "
                             "limits.total_streams_without_deadline)",
                             cfg->total_streams_without_deadline);
        return;
    }
    call->is_without_deadline = true;
    conn->n_streams_no_deadline++;
    server->n_streams_no_deadline++;
}

/* ---- Request ------------------------------------------------------------------------------- */

static void keep_bad_value(struct kd_grpc_call *call, const uint8_t *value, size_t len)
{
    if (!call->bad_value)
        call->bad_value = dup_n(pool_of(call), value, len);
}

/* The route is looked up while the value is at hand: a served path is never copied. */
static int on_path(struct kd_grpc_call *call, const uint8_t *value, size_t len)
{
    call->method = kd_grpc_router_find_n(&call->conn->server->router, (const char *)value, len);
    if (call->method)
        return 0;
    call->path = dup_n(pool_of(call), value, len);
    return call->path ? 0 : -ENOMEM;
}

int kd_grpc_call_on_header(struct kd_grpc_call *call, const uint8_t *name, size_t namelen,
                           const uint8_t *value, size_t valuelen)
{
    struct kd_pool *pool = pool_of(call);

    if (name_is(name, namelen, ":path")) {
        return on_path(call, value, valuelen);
    } else if (name_is(name, namelen, ":method")) {
        call->is_post = name_is(value, valuelen, "POST");
        if (!call->is_post)
            keep_bad_value(call, value, valuelen);
    } else if (name_is(name, namelen, "content-type")) {
        call->has_content_type = true;
        call->is_grpc_content_type = is_grpc_content_type(value, valuelen);
        if (!call->is_grpc_content_type) {
            kd_pool_free(pool, call->bad_value);
            call->bad_value = dup_n(pool, value, valuelen);
        }
    } else if (name_is(name, namelen, "grpc-timeout")) {
        call->has_timeout = true;
        if (kd_grpc_timeout_parse((const char *)value, valuelen, &call->timeout_ms) != 0) {
            call->is_timeout_bad = true;
            /* The slot holds the value of the check that answers first (content-type, then
             * grpc-timeout, then :method): only a bad content-type outranks this one. */
            if (!call->has_content_type || call->is_grpc_content_type) {
                kd_pool_free(pool, call->bad_value);
                call->bad_value = dup_n(pool, value, valuelen);
            }
        }
    } else if (name_is(name, namelen, "grpc-encoding")) {
        call->is_identity_encoding = name_is(value, valuelen, "identity");
        kd_pool_free(pool, call->encoding);
        call->encoding = call->is_identity_encoding ? NULL : dup_n(pool, value, valuelen);
    }
    return 0;
}

/* Answer an unroutable path with grpc-go's words. */
static void reject_path(struct kd_grpc_call *call)
{
    char text[1024];
    kd_grpc_router_explain(&call->conn->server->router, call->path ? call->path : "", text,
                           sizeof(text));
    kd_grpc_call_finish(call, KD_GRPC_UNIMPLEMENTED, text);
}

/* The HTTP-level checks, in grpc-go's order; false when the call was answered. */
static bool check_request_headers(struct kd_grpc_call *call)
{
    char q[768];

    if (!call->is_grpc_content_type) {
        kd_grpc_status_quote(call->has_content_type ? call->bad_value : "", q, sizeof(q));
        finishf(call, "415", KD_GRPC_INVALID_ARGUMENT, NULL, "invalid gRPC request content-type %s",
                q);
        return false;
    }
    if (call->is_timeout_bad) {
        kd_grpc_status_quote(call->bad_value, q, sizeof(q));
        finishf(call, "400", KD_GRPC_INTERNAL, NULL, "malformed grpc-timeout: %s", q);
        return false;
    }
    if (!call->is_post) {
        kd_grpc_status_quote(call->bad_value, q, sizeof(q));
        finishf(call, "405", KD_GRPC_INTERNAL, NULL,
                "Received a HEADERS frame with :method %s which should be POST", q);
        return false;
    }
    return true;
}

void kd_grpc_call_on_headers_end(struct kd_grpc_call *call)
{
    struct kd_grpc_server *server = call->conn->server;

    if (!check_request_headers(call))
        return;
    if (kd_grpc_conn_over_budget(call->conn)) {
        const struct kd_grpc_server_config *cfg = &server->cfg;
        kd_grpc_call_finishf(call, KD_GRPC_RESOURCE_EXHAUSTED,
                             "the connection's calls hold more than their buffer budget "
                             "(limits.connection_buffer %zu, limits.total_buffer %zu bytes)",
                             cfg->connection_buffer, cfg->total_buffer);
        return;
    }
    if (!call->method) {
        reject_path(call); /* no :path at all reads as "" */
        return;
    }

    kd_grpc_frame_decoder_init(&call->dec, server->cfg.max_message_size);
    call->is_validated = true;
    kd_grpc_conn_set_active(call->conn, true);
    start_deadline_or_count(call);
}

void kd_grpc_call_forget_service(struct kd_grpc_call *call, const char *service, size_t len)
{
    if (call->is_dispatched || !call->method ||
        !kd_grpc_method_in_service(call->method, service, len))
        return;
    /* Copied while the old table is still there: its owner may free it after this. */
    if (!call->path)
        call->path =
            dup_n(pool_of(call), (const uint8_t *)call->method->path, strlen(call->method->path));
    call->method = NULL;
}

/* A call whose service was unregistered before dispatch has method NULL: it goes to whatever
 * serves its path now. False when the call was answered. */
static bool reroute(struct kd_grpc_call *call)
{
    if (call->method)
        return true;
    if (call->path)
        call->method = kd_grpc_router_find(&call->conn->server->router, call->path);
    if (call->method)
        return true;
    if (call->path)
        reject_path(call);
    else
        kd_grpc_call_finish(call, KD_GRPC_INTERNAL, "out of memory");
    return false;
}

/* We decompress nothing, so both cases get UNIMPLEMENTED plus the one encoding we accept:
 * the answer a client can act on (doc/compression.md). */
static void reject_compressed(struct kd_grpc_call *call)
{
    if (call->is_identity_encoding) {
        finish(call, "200", KD_GRPC_UNIMPLEMENTED,
               "grpc: compressed flag set with identity or empty encoding", &accept_identity);
        return;
    }
    char q[128];
    kd_grpc_status_quote(call->encoding, q, sizeof(q));
    finishf(call, "200", KD_GRPC_UNIMPLEMENTED, &accept_identity,
            "grpc: Decompressor is not installed for grpc-encoding %s", q);
}

static void on_request_message(struct kd_grpc_call *call, const struct kd_grpc_frame_message *m)
{
    if (!reroute(call))
        return;
    if (m->is_compressed) {
        reject_compressed(call);
        return;
    }
    call->n_messages++;
    if (call->method->kind == KD_GRPC_BIDI_STREAMING) {
        call->is_dispatched = true;
        call->method->on_message(call, m->data, m->len, call->method->arg);
        return;
    }
    if (call->n_messages > 1) {
        kd_grpc_call_finish(call, KD_GRPC_INTERNAL,
                            "grpc: cardinality violation: expected <EOF> for non client-streaming "
                            "RPCs, but received another message");
        return;
    }
    call->request = kd_pool_alloc(pool_of(call), m->len ? m->len : 1);
    if (!call->request) {
        kd_grpc_call_finish(call, KD_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    memcpy(call->request, m->data, m->len);
    call->request_len = m->len;
    account(call, (long)m->len);
}

/* A request that would take the connection (or the server) over its buffer budget: this
 * stream cannot make progress, the others can once its bytes are given back. */
static void reject_over_budget(struct kd_grpc_call *call)
{
    const struct kd_grpc_server_config *cfg = &call->conn->server->cfg;
    long had = (long)call->dec.buf_cap;

    kd_grpc_frame_decoder_fini(&call->dec);
    account(call, -had);
    call->rst_code = NGHTTP2_CANCEL;
    kd_grpc_call_finishf(call, KD_GRPC_RESOURCE_EXHAUSTED,
                         "request does not fit the buffer budget (limits.connection_buffer %zu, "
                         "limits.total_buffer %zu bytes)",
                         cfg->connection_buffer, cfg->total_buffer);
}

void kd_grpc_call_on_data(struct kd_grpc_call *call, const uint8_t *data, size_t len)
{
    if (!call->is_validated)
        return;
    while (len > 0 && !call->is_finished) {
        struct kd_grpc_frame_message m;
        size_t used = 0, cap = call->dec.buf_cap;
        int rc = kd_grpc_frame_decode(&call->dec, data, len, &used, &m);
        if (call->dec.buf_cap != cap) {
            account(call, (long)call->dec.buf_cap - (long)cap);
            if (kd_grpc_conn_over_budget(call->conn)) {
                reject_over_budget(call);
                return;
            }
        }
        if (rc == -EMSGSIZE) {
            kd_grpc_call_finishf(call, KD_GRPC_RESOURCE_EXHAUSTED,
                                 "grpc: received message larger than max (%u vs. %zu)",
                                 call->dec.msg_len, call->dec.max_message_size);
            return;
        }
        if (rc < 0) {
            kd_grpc_call_finish(call, KD_GRPC_RESOURCE_EXHAUSTED, "out of memory");
            return;
        }
        data += used;
        len -= used;
        if (rc == 1)
            on_request_message(call, &m);
    }
}

void kd_grpc_call_on_end_stream(struct kd_grpc_call *call)
{
    if (!call->is_validated || call->is_finished || !reroute(call))
        return;
    if (!kd_grpc_frame_decoder_is_idle(&call->dec)) {
        kd_grpc_call_finish(call, KD_GRPC_INTERNAL, "grpc: unexpected EOF inside a message");
        return;
    }
    if (call->method->kind == KD_GRPC_BIDI_STREAMING) {
        if (!call->is_dispatched)
            kd_grpc_call_finish(call, KD_GRPC_OK, NULL);
        else if (call->method->on_half_close)
            call->method->on_half_close(call, call->method->arg);
        return;
    }
    if (call->n_messages == 0) {
        kd_grpc_call_finish(call, KD_GRPC_INTERNAL,
                            "grpc: cardinality violation: received no request message from "
                            "non-client-streaming RPC");
        return;
    }
    call->is_dispatched = true;
    call->method->on_message(call, call->request, call->request_len, call->method->arg);
    kd_pool_free(pool_of(call), call->request);
    call->request = NULL;
    account(call, -(long)call->request_len);
}

/* ---- Per-call API (grpc_server.h) ------------------------------------------------------------ */

/* Room for `len` more bytes of output; compacts what nghttp2 already took. -ENOMEM. */
static int out_reserve(struct kd_grpc_call *call, size_t len)
{
    if (call->out_pos > 0 && call->out_len + len > call->out_cap) {
        memmove(call->out, call->out + call->out_pos, call->out_len - call->out_pos);
        call->out_len -= call->out_pos;
        call->out_pos = 0;
    }
    if (call->out_len + len <= call->out_cap)
        return 0;
    size_t cap = call->out_cap ? call->out_cap : 128;
    while (cap < call->out_len + len)
        cap = cap > SIZE_MAX / 2 ? call->out_len + len : cap * 2;
    uint8_t *out = kd_pool_realloc(pool_of(call), call->out, cap);
    if (!out)
        return -ENOMEM;
    /* The first block also costs its header and malloc chunk; a bigger one replaces it. */
    account(call, (long)cap - (long)call->out_cap + (call->out ? 0 : KD_GRPC_BLOCK_OVERHEAD));
    call->out = out;
    call->out_cap = cap;
    return 0;
}

int kd_grpc_call_send(struct kd_grpc_call *call, const uint8_t *msg, size_t len)
{
    if (call->is_finished || !call->conn->session)
        return -EPIPE;
    if (len > UINT32_MAX || len > SIZE_MAX - KD_GRPC_FRAME_HEADER_LEN)
        return -EMSGSIZE;
    if (out_reserve(call, KD_GRPC_FRAME_HEADER_LEN + len) != 0)
        return -ENOMEM;
    kd_grpc_frame_encode_header(len, call->out + call->out_len);
    if (len > 0)
        memcpy(call->out + call->out_len + KD_GRPC_FRAME_HEADER_LEN, msg, len);
    call->out_len += KD_GRPC_FRAME_HEADER_LEN + len;
    if (!call->is_response_submitted) {
        int rc = submit_headers(call);
        if (rc < 0)
            return rc;
    } else {
        resume(call);
    }
    kd_grpc_conn_schedule_send(call->conn);
    return 0;
}

int kd_grpc_call_finish(struct kd_grpc_call *call, enum kd_grpc_status status, const char *message)
{
    return finish(call, "200", status, message, NULL);
}

int kd_grpc_call_finishf(struct kd_grpc_call *call, enum kd_grpc_status status, const char *fmt,
                         ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfinishf(call, "200", status, NULL, fmt, ap);
    va_end(ap);
    return rc;
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
