/* SPDX-License-Identifier: Apache-2.0 */
/* Status code strings and grpc-message encoding (see grpc_status.h). */
#include "grpc/grpc_status.h"

static const char *const code_strs[] = {
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
};

static const char *const names[] = {
    [KD_GRPC_OK] = "OK",
    [KD_GRPC_CANCELLED] = "CANCELLED",
    [KD_GRPC_UNKNOWN] = "UNKNOWN",
    [KD_GRPC_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
    [KD_GRPC_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
    [KD_GRPC_NOT_FOUND] = "NOT_FOUND",
    [KD_GRPC_ALREADY_EXISTS] = "ALREADY_EXISTS",
    [KD_GRPC_PERMISSION_DENIED] = "PERMISSION_DENIED",
    [KD_GRPC_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
    [KD_GRPC_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
    [KD_GRPC_ABORTED] = "ABORTED",
    [KD_GRPC_OUT_OF_RANGE] = "OUT_OF_RANGE",
    [KD_GRPC_UNIMPLEMENTED] = "UNIMPLEMENTED",
    [KD_GRPC_INTERNAL] = "INTERNAL",
    [KD_GRPC_UNAVAILABLE] = "UNAVAILABLE",
    [KD_GRPC_DATA_LOSS] = "DATA_LOSS",
    [KD_GRPC_UNAUTHENTICATED] = "UNAUTHENTICATED",
};

static int is_known(enum kd_grpc_status status)
{
    return (unsigned)status < sizeof(names) / sizeof(names[0]);
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
