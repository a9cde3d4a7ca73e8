/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One /api/v1/query_range response body, checked against the range it answers. Pure: no I/O,
 * no logging; errors come back as one line in `err`.
 */
#ifndef KD_PROM_RESPONSE_H
#define KD_PROM_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "prom_plan.h"

#define KD_PROM_RESPONSE_MAX_SERIES_NAMED 3 /* label sets quoted when a query returns many */

/*
 * Parse `len` bytes of `body` (no NUL needed) as the answer to `range` at `step_ms`, into
 * points[0..range->n_points): the value at range->start_ms + j * step_ms, or NAN where the
 * series has no point. Returns:
 *   0         one series, or none (an empty result: every point NAN, *ret_n_series 0)
 *   -EPROTO   "status":"error": err holds "<errorType>: <error>" as Prometheus wrote them
 *   -E2BIG    more than one series: err names the first label sets, {job="a", ...}
 *   -ERANGE   a NaN, +Inf or -Inf value: err says which and at what time
 *   -EBADMSG  anything else: not JSON, not a matrix, a value that is not a numeric string,
 *             a native histogram, a time off the range's grid or twice
 *   -ENOMEM
 * points and *ret_n_series are unspecified on failure.
 */
int kd_prom_response_parse(const char *body, size_t len, const struct kd_prom_range *range,
                           int64_t step_ms, double *points, size_t *ret_n_series, char *err,
                           size_t err_len);

/*
 * The same parse fed as the body arrives, in pieces of any size (the outcome does not depend on
 * the cuts): new() fills points with NAN and keeps pointers to range and points, which must
 * outlive the parser; feed() fails only for what is not JSON (-EBADMSG) or -ENOMEM, and the
 * parser then stays failed; finish() gives what kd_prom_response_parse() would. Memory: a few
 * KiB and one token (64 KiB at most), whatever the body's size.
 */
struct kd_prom_response;

int kd_prom_response_new(const struct kd_prom_range *range, int64_t step_ms, double *points,
                         struct kd_prom_response **ret);
int kd_prom_response_feed(struct kd_prom_response *r, const char *data, size_t len, char *err,
                          size_t err_len);
int kd_prom_response_finish(struct kd_prom_response *r, size_t *ret_n_series, char *err,
                            size_t err_len);
void kd_prom_response_free(struct kd_prom_response *r);

/* Unix milliseconds as UTC, the way Prometheus writes times: 2026-12-02T06:00:00.000Z. */
void kd_prom_response_format_time(int64_t ms, char *out, size_t out_len);

#endif /* KD_PROM_RESPONSE_H */
