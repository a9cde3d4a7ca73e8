/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 3339 timestamps, as Go's time.Parse(time.RFC3339, ...) reads them. Pure. */
#ifndef KD_RFC3339_H
#define KD_RFC3339_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse exactly `len` bytes (no NUL needed) of "YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm)"
 * into Unix milliseconds. 'T' and 'Z' may also be lower case (RFC 3339 5.6; Go wants upper case);
 * the fraction may have any number of digits and is truncated to milliseconds. Leap second 60 is
 * rejected, as Go does. Returns 0, -EINVAL (not that shape) or -ERANGE (a field out of range: month
 * 13, February 30, hour 24, offset +24:00); *ret_ms is untouched on failure.
 */
int kd_rfc3339_parse(const char *text, size_t len, int64_t *ret_ms);

#endif /* KD_RFC3339_H */
