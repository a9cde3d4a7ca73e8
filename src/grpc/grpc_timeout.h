/* SPDX-License-Identifier: Apache-2.0 */
/* The `grpc-timeout` request header: 1 to 8 ASCII digits and a unit (H M S m u n). Pure. */
#ifndef KD_GRPC_TIMEOUT_H
#define KD_GRPC_TIMEOUT_H

#include <stddef.h>
#include <stdint.h>

/* Longer timeouts are clamped to this (about 3 years; "99999999H" would be 11 000 years). */
#define KD_GRPC_TIMEOUT_MAX_MS INT64_C(100000000000)

/*
 * Parse `len` bytes of `text` (no NUL needed) into milliseconds, rounding sub-millisecond units
 * up (so "1n" is 1 ms and a deadline never ends early) and clamping to KD_GRPC_TIMEOUT_MAX_MS.
 * "0S" is valid (already expired). Returns 0, or -EINVAL for anything else: empty, no unit,
 * unknown unit, more than 8 digits, signs, spaces.
 */
int kd_grpc_timeout_parse(const char *text, size_t len, int64_t *ret_ms);

#endif /* KD_GRPC_TIMEOUT_H */
