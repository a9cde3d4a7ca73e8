/* SPDX-License-Identifier: Apache-2.0 */
/* A tiny protobuf writer for hand-built test inputs (descriptor sets, requests), so malformed
 * and unusual encodings can be written byte by byte. Header-only; tests only. */
#ifndef KD_PB_BUILDER_H
#define KD_PB_BUILDER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct pb {
    uint8_t data[8192];
    size_t len;
};

static inline void pb_varint(struct pb *b, uint64_t v)
{
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        b->data[b->len++] = byte | (v ? 0x80 : 0);
    } while (v);
}

static inline void pb_bytes(struct pb *b, uint32_t field, const void *data, size_t len)
{
    pb_varint(b, (uint64_t)field << 3 | 2);
    pb_varint(b, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static inline void pb_str(struct pb *b, uint32_t field, const char *s)
{
    pb_bytes(b, field, s, strlen(s));
}

static inline void pb_msg(struct pb *b, uint32_t field, const struct pb *m)
{
    pb_bytes(b, field, m->data, m->len);
}

static inline void pb_uint(struct pb *b, uint32_t field, uint64_t v)
{
    pb_varint(b, (uint64_t)field << 3);
    pb_varint(b, v);
}

#endif /* KD_PB_BUILDER_H */
