/* SPDX-License-Identifier: Apache-2.0 */
/* Durations and sizes as operators write them. Pure. */
#ifndef KD_DURATION_H
#define KD_DURATION_H

#include <stddef.h>
#include <stdint.h>

/*
 * Go-style durations as upstream's durationx: an optional sign, then one or more
 * <decimal number><unit> with units ns, us (or µs), ms, s, m, h, d (24h), w (7d):
 * "250ms", "30s", "1h30m", "1.5d", "1w2d". "0" alone is zero. Result in milliseconds,
 * truncated toward zero. -EINVAL on syntax, -ERANGE on overflow; *ret_ms untouched on error.
 */
int kd_duration_parse(const char *text, int64_t *ret_ms);

/* Shortest Go-like rendering: "5m", "1h30m", "250ms", "0s". Always NUL-terminates. */
void kd_duration_format(int64_t ms, char *buf, size_t len);

/* Byte sizes: "1048576", "64KiB", "4MiB", "1GiB", also "KB"/"MB"/"GB" (powers of 1000) and
 * "B". -EINVAL / -ERANGE as above. */
int kd_size_parse(const char *text, int64_t *ret_bytes);

#endif /* KD_DURATION_H */
