/* SPDX-License-Identifier: Apache-2.0 */
/* gRPC status codes as strings, and the grpc-message percent-encoding. Pure. */
#ifndef KD_GRPC_STATUS_H
#define KD_GRPC_STATUS_H

#include <stddef.h>

#include "grpc/grpc_server.h" /* enum kd_grpc_status */

/* Encoded grpc-message values are cut to this many bytes (headers must stay below 8 KiB). */
#define KD_GRPC_STATUS_MESSAGE_MAX 1024

/* The decimal `grpc-status` value ("0".."16"); codes outside the enum give "2" (UNKNOWN),
 * which is what a client would make of them anyway. Static storage. */
const char *kd_grpc_status_code_str(enum kd_grpc_status status);

/* The canonical upper-case name ("DEADLINE_EXCEEDED"); "UNKNOWN" for codes outside the enum. */
const char *kd_grpc_status_name(enum kd_grpc_status status);

/*
 * Percent-encode `msg` for `grpc-message` as grpc-go does: bytes outside 0x20..0x7E, and '%',
 * become "%XX" (upper-case hex). Writes at most `size - 1` bytes plus a NUL into `buf` and
 * returns the encoded length. When the output does not fit it is cut before the %XX triple, or
 * the whole UTF-8 sequence, that would not fit, so the result always decodes cleanly.
 * `size` must be at least 1.
 */
size_t kd_grpc_status_encode_message(const char *msg, char *buf, size_t size);

/*
 * Go's %q, close enough for error texts: `s` (NULL reads as "") in double quotes, with '"',
 * '\\' and bytes outside 0x20..0x7E escaped. Cut to fit `size` (at least 3 for "\"\""); always
 * NUL-terminated.
 */
void kd_grpc_status_quote(const char *s, char *buf, size_t size);

#endif /* KD_GRPC_STATUS_H */
