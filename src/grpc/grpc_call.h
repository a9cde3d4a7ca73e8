/* SPDX-License-Identifier: Apache-2.0 */
/*
 * grpc/grpc_call.c: one RPC on one HTTP/2 stream. The connection feeds it request headers,
 * DATA and end of stream; the call validates them in grpc-go's order, routes, enforces the
 * deadline, dispatches to the method and frames what the handler sends (kd_grpc_call_send,
 * kd_grpc_call_finish in grpc_server.h).
 */
#ifndef KD_GRPC_CALL_H
#define KD_GRPC_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event_struct.h>

#include "grpc/grpc_frame.h"
#include "grpc/grpc_server.h"
#include "util/list.h"

struct kd_grpc_conn;

struct kd_grpc_call {
    struct kd_grpc_conn *conn;
    struct kd_list link; /* conn->calls */
    /* conn->deadlines while the deadline waits to be armed (kd_grpc_conn_arm_deadlines) */
    struct kd_list deadline_link;
    int32_t stream_id;
    const struct kd_grpc_method *method; /* found when :path arrives; NULL: not (or no longer) */
    char *path; /* a copy only when needed: unroutable, or to route again after a reload */

    /* Request header facts, gathered by on_header and judged at the end of the headers. */
    bool is_post;
    bool has_content_type;
    bool is_grpc_content_type;
    bool has_timeout;
    bool is_timeout_bad;
    bool is_identity_encoding; /* no grpc-encoding, or "identity" */
    int64_t timeout_ms;        /* the client's, then the one applied (capped or the default) */
    char *bad_value; /* offending :method, content-type or grpc-timeout, for the error text */
    char *encoding;

    bool is_validated;  /* headers accepted; DATA is parsed from now on */
    bool is_dispatched; /* on_message ran: on_close is owed */
    bool is_finished;   /* status decided; nothing more may be sent */
    bool is_response_submitted;
    bool is_deferred; /* the data provider is waiting for kd_grpc_call_send */
    bool is_trailer_submitted;
    bool has_deadline;
    bool is_without_deadline; /* counted against the streams-without-deadline limits */
    size_t bytes;             /* what this call accounts to the connection */
    uint32_t rst_code;        /* sent after our END_STREAM if the client is still sending */

    struct kd_grpc_frame_decoder dec;
    unsigned n_messages;
    uint8_t *request; /* the single message of UNARY / SERVER_STREAMING, until EOS */
    size_t request_len;

    uint8_t *out; /* framed response messages; [out_pos, out_len) not yet given to nghttp2 */
    size_t out_pos, out_len, out_cap;
    enum kd_grpc_status status;
    char *message; /* encoded grpc-message for the trailers, or NULL */
    struct event deadline_ev;
    void *user;
};

/*
 * What a call is charged against limits.connection_buffer, from what one open call was
 * measured to hold (nghttp2 1.52; the pool's live blocks by class over 640 unary calls whose
 * answers wait on a client that never reads, hence never opens its flow-control window):
 * four pool blocks and a share of nghttp2's stream map, ~1,140 bytes. Each block is its class
 * plus the pool's 16-byte header plus malloc's chunk header and rounding (16 bytes for these
 * sizes). The output buffer is charged where it grows (out_reserve); the rest is here.
 */
#define KD_GRPC_BLOCK_OVERHEAD 32
/* Our call's pool class; the assertion in grpc_call.c says when it outgrows it. */
#define KD_GRPC_CALL_BLOCK 384
/* nghttp2's per-stream allocations: the stream (256-byte class), the outbound item of the
 * deferred DATA (192), and ~48 bytes per stream of its stream map (grown as a big block). */
#define KD_GRPC_NGHTTP2_STREAM_COST                                                                \
    (256 + KD_GRPC_BLOCK_OVERHEAD + 192 + KD_GRPC_BLOCK_OVERHEAD + 48)
#define KD_GRPC_CALL_COST                                                                          \
    (KD_GRPC_CALL_BLOCK + KD_GRPC_BLOCK_OVERHEAD + KD_GRPC_NGHTTP2_STREAM_COST)

/* A call for a new request stream, linked into conn->calls; NULL when out of memory. */
struct kd_grpc_call *kd_grpc_call_new(struct kd_grpc_conn *conn, int32_t stream_id);

/* Unlink and free; runs the method's on_close if the call was dispatched. */
void kd_grpc_call_free(struct kd_grpc_call *call);

/* One request header. -ENOMEM. */
int kd_grpc_call_on_header(struct kd_grpc_call *call, const uint8_t *name, size_t namelen,
                           const uint8_t *value, size_t valuelen);

/* End of the request headers: validate, route, start the deadline. */
void kd_grpc_call_on_headers_end(struct kd_grpc_call *call);
/* Arm the deadline start_deadline left pending (the call is in conn->deadlines). */
void kd_grpc_call_arm_deadline(struct kd_grpc_call *call);

/* A chunk of request DATA (ignored unless the headers were accepted). */
void kd_grpc_call_on_data(struct kd_grpc_call *call, const uint8_t *data, size_t len);

/* The client half-closed (END_STREAM). */
void kd_grpc_call_on_end_stream(struct kd_grpc_call *call);

/* `service` was unregistered: a call routed to it but not dispatched yet is routed again when
 * its request is complete (live reload), since the old table's owner may be gone. */
void kd_grpc_call_forget_service(struct kd_grpc_call *call, const char *service, size_t len);

#endif /* KD_GRPC_CALL_H */
