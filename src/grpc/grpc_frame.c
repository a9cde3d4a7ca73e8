/* SPDX-License-Identifier: Apache-2.0 */
/* gRPC message framing (see grpc_frame.h). Messages that arrive whole inside one chunk are
 * returned in place; only messages spanning chunks are copied into the reusable buffer. */
#include "grpc/grpc_frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void kd_grpc_frame_decoder_init(struct kd_grpc_frame_decoder *dec, size_t max_message_size)
{
    memset(dec, 0, sizeof(*dec));
    dec->max_message_size = max_message_size;
}

void kd_grpc_frame_decoder_fini(struct kd_grpc_frame_decoder *dec)
{
    free(dec->buf);
    dec->buf = NULL;
    dec->buf_cap = 0;
}

bool kd_grpc_frame_decoder_is_idle(const struct kd_grpc_frame_decoder *dec)
{
    return dec->header_len == 0;
}

/* Room for `need` bytes of the current message: grown as bytes arrive (doubling, never past
 * the declared length), so a declared length reserves nothing by itself. */
static int reserve(struct kd_grpc_frame_decoder *dec, size_t need)
{
    if (need <= dec->buf_cap)
        return 0;
    size_t cap = dec->buf_cap ? dec->buf_cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > dec->msg_len)
        cap = need > dec->msg_len ? need : dec->msg_len;
    uint8_t *buf = realloc(dec->buf, cap);
    if (!buf)
        return -ENOMEM;
    dec->buf = buf;
    dec->buf_cap = cap;
    return 0;
}

int kd_grpc_frame_decode(struct kd_grpc_frame_decoder *dec, const uint8_t *data, size_t len,
                         size_t *ret_consumed, struct kd_grpc_frame_message *ret_msg)
{
    size_t pos = 0;

    if (dec->header_len < KD_GRPC_FRAME_HEADER_LEN) {
        size_t take = KD_GRPC_FRAME_HEADER_LEN - dec->header_len;
        if (take > len)
            take = len;
        memcpy(dec->header + dec->header_len, data, take);
        dec->header_len += take;
        pos += take;
        if (dec->header_len < KD_GRPC_FRAME_HEADER_LEN) {
            *ret_consumed = pos;
            return 0;
        }
        dec->is_compressed = dec->header[0] != 0;
        dec->msg_len = (uint32_t)dec->header[1] << 24 | (uint32_t)dec->header[2] << 16 |
                       (uint32_t)dec->header[3] << 8 | (uint32_t)dec->header[4];
        if (dec->msg_len > dec->max_message_size)
            return -EMSGSIZE;
        dec->buf_len = 0;
    }

    size_t missing = dec->msg_len - dec->buf_len;
    size_t avail = len - pos;
    if (dec->buf_len == 0 && avail >= missing) {
        /* The whole body is in this chunk: hand it out without copying. */
        ret_msg->data = data + pos;
        ret_msg->len = dec->msg_len;
        ret_msg->is_compressed = dec->is_compressed;
        dec->header_len = 0;
        *ret_consumed = pos + missing;
        return 1;
    }

    size_t take = avail < missing ? avail : missing;
    if (take > 0) {
        int rc = reserve(dec, dec->buf_len + take);
        if (rc < 0)
            return rc;
        memcpy(dec->buf + dec->buf_len, data + pos, take);
        dec->buf_len += take;
        pos += take;
    }
    *ret_consumed = pos;
    if (dec->buf_len < dec->msg_len)
        return 0;

    ret_msg->data = dec->buf;
    ret_msg->len = dec->msg_len;
    ret_msg->is_compressed = dec->is_compressed;
    dec->header_len = 0;
    dec->buf_len = 0;
    return 1;
}

int kd_grpc_frame_encode_header(size_t len, uint8_t ret_header[KD_GRPC_FRAME_HEADER_LEN])
{
    if (len > UINT32_MAX)
        return -EMSGSIZE;
    ret_header[0] = 0;
    ret_header[1] = (uint8_t)(len >> 24);
    ret_header[2] = (uint8_t)(len >> 16);
    ret_header[3] = (uint8_t)(len >> 8);
    ret_header[4] = (uint8_t)len;
    return 0;
}
