/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PromQL text for the prometheus source: the `$workload` placeholder of the configured query,
 * replaced by the workload name escaped for the string literal around it, and the
 * /api/v1/query_range URL. Pure: no I/O, no logging, no libcurl.
 */
#ifndef KD_PROMQL_H
#define KD_PROMQL_H

#include <stddef.h>
#include <stdint.h>

#define KD_PROMQL_PLACEHOLDER "$workload"

/*
 * Check a query template: every `$workload` must sit inside a "double-" or 'single-quoted'
 * string literal (a `raw` backtick string cannot escape anything, and a bare name would be
 * PromQL syntax an operator does not control), and every literal must be closed. Comments
 * (# to the end of the line) are skipped. Returns 0, or -EINVAL with one line in `err`.
 */
int kd_promql_check(const char *query, char *err, size_t err_len);

/*
 * Append `text` to `out` escaped for a PromQL string literal delimited by `quote` ('"' or
 * '\''): the backslash and that quote get a backslash, control bytes become \n, \t, \r or
 * \xHH, other bytes (UTF-8 included) stay. So a name like a"b\c reaches Prometheus as the
 * label value a"b\c and can never end the literal. Returns the length written (without the
 * NUL), or the length it would need when `out_len` is too small (snprintf's rule).
 */
size_t kd_promql_escape(const char *text, char quote, char *out, size_t out_len);

/*
 * The query with every `$workload` replaced by `workload`, escaped for its literal. The
 * template must have passed kd_promql_check(). Returns 0 and a malloc'd string, -EINVAL
 * (a placeholder outside a string literal) or -ENOMEM.
 */
int kd_promql_expand(const char *query, const char *workload, char **ret_query);

/*
 * "{base}/api/v1/query_range?query=...&start=...&end=...&step=..." with the query
 * percent-encoded (RFC 3986 unreserved bytes stay) and times as decimal seconds with
 * millisecond precision ("1700000000.250"). Trailing '/' of `base` are dropped. Returns 0
 * and a malloc'd string, -EINVAL for an empty base, or -ENOMEM.
 */
int kd_promql_range_url(const char *base, const char *query, int64_t start_ms, int64_t end_ms,
                        int64_t step_ms, char **ret_url);

#endif /* KD_PROMQL_H */
