/* SPDX-License-Identifier: Apache-2.0 */
/* gRPC 5-byte length-prefixed message framing: an incremental decoder that reassembles messages
 * from arbitrary DATA chunks, and the encoder for the prefix. Pure: no I/O, no logging. */
#ifndef KD_GRPC_FRAME_H
#define KD_GRPC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KD_GRPC_FRAME_HEADER_LEN 5

/* Decoder state; embed it and use init/fini. Fields are read-only for callers. */
struct kd_grpc_frame_decoder {
    size_t max_message_size;
    uint8_t header[KD_GRPC_FRAME_HEADER_LEN];
    size_t header_len;  /* bytes of the current prefix seen so far */
    uint32_t msg_len;   /* declared length of the current message (valid once header_len == 5) */
    bool is_compressed; /* compressed flag of the current message */
    uint8_t *buf;       /* body of a message that spans chunks; reused between messages */
    size_t buf_cap;
    size_t buf_len;
};

/* One decoded message. `data` is borrowed: it points into the input chunk or into the
 * decoder's buffer and stays valid until the next decoder call. */
struct kd_grpc_frame_message {
    const uint8_t *data;
    size_t len;
    bool is_compressed;
};

void kd_grpc_frame_decoder_init(struct kd_grpc_frame_decoder *dec, size_t max_message_size);
void kd_grpc_frame_decoder_fini(struct kd_grpc_frame_decoder *dec);

/*
 * Consume bytes from `data` until one message is complete or the input is used up.
 * Returns 1 with *ret_msg set (call again with the rest of the input), 0 when all input was
 * consumed without completing a message, -EMSGSIZE when a prefix declares a length above
 * max_message_size (dec->msg_len holds it; checked before any body is buffered; the decoder is
 * then unusable), or -ENOMEM. The body is buffered as it arrives, never reserved ahead.
 * *ret_consumed is always set on 0 and 1.
 */
int kd_grpc_frame_decode(struct kd_grpc_frame_decoder *dec, const uint8_t *data, size_t len,
                         size_t *ret_consumed, struct kd_grpc_frame_message *ret_msg);

/* True when no partial message is pending (a stream may end here cleanly). */
bool kd_grpc_frame_decoder_is_idle(const struct kd_grpc_frame_decoder *dec);

/* Write the 5-byte prefix of an uncompressed message of `len` bytes. -EMSGSIZE above 4 GiB-1. */
int kd_grpc_frame_encode_header(size_t len, uint8_t ret_header[KD_GRPC_FRAME_HEADER_LEN]);

#endif /* KD_GRPC_FRAME_H */
