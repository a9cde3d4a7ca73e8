/* SPDX-License-Identifier: Apache-2.0 */
/* Status code strings and grpc-message encoding (see grpc_status.h). */
#include "grpc/grpc_status.h"

#include <stdio.h>
#include <string.h>

#define CODE_STR(name, code) [KD_GRPC_##name] = #code,
static const char *const code_strs[] = {KD_GRPC_STATUS_MAP(CODE_STR)};
#undef CODE_STR

#define NAME(name, code) [KD_GRPC_##name] = #name,
static const char *const names[] = {KD_GRPC_STATUS_MAP(NAME)};
#undef NAME

static int is_known(enum kd_grpc_status status)
{
    return (unsigned)status < sizeof(names) / sizeof(names[0]) && names[status];
}

const char *kd_grpc_status_code_str(enum kd_grpc_status status)
{
    return is_known(status) ? code_strs[status] : code_strs[KD_GRPC_UNKNOWN];
}

const char *kd_grpc_status_name(enum kd_grpc_status status)
{
    return is_known(status) ? names[status] : names[KD_GRPC_UNKNOWN];
}

static int needs_escape(unsigned char c)
{
    return c < 0x20 || c > 0x7e || c == '%';
}

/* Bytes in the UTF-8 sequence a lead byte starts; 1 for anything that is not a lead byte, so
 * malformed input is still encoded byte by byte. */
static size_t utf8_seq_len(unsigned char c)
{
    if (c >= 0xf0 && c <= 0xf7)
        return 4;
    if (c >= 0xe0)
        return c <= 0xef ? 3 : 1;
    if (c >= 0xc0)
        return 2;
    return 1;
}

size_t kd_grpc_status_encode_message(const char *msg, char *buf, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)msg;
    size_t cap = size - 1;
    size_t out = 0;

    while (*p) {
        if (!needs_escape(*p)) {
            if (out + 1 > cap)
                break;
            buf[out++] = (char)*p++;
            continue;
        }
        size_t n = utf8_seq_len(*p);
        for (size_t i = 1; i < n; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                n = 1;
                break;
            }
        }
        if (out + 3 * n > cap)
            break;
        for (size_t i = 0; i < n; i++, p++) {
            buf[out++] = '%';
            buf[out++] = hex[*p >> 4];
            buf[out++] = hex[*p & 0x0f];
        }
    }
    buf[out] = '\0';
    return out;
}

void kd_grpc_status_quote(const char *s, char *buf, size_t size)
{
    size_t out = 0;
    if (size < 3) {
        if (size > 0)
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
