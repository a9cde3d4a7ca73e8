/* SPDX-License-Identifier: Apache-2.0 */
/* Small pure formatters shared by the status renderers: times, durations, escaping. */
#ifndef KD_STATUS_FORMAT_H
#define KD_STATUS_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KD_STATUS_TIME_LEN 32

/* RFC 3339 UTC with milliseconds: "2026-12-02T06:10:00.123Z". */
void kd_status_format_time(int64_t unix_ms, char buf[KD_STATUS_TIME_LEN]);

/* Short human duration, rounded down to what matters: "850ms", "12s", "4m30s", "2h5m",
 * "3d4h"; negative values get a leading "-". */
void kd_status_format_duration(int64_t ms, char *buf, size_t len);

/* Write `s` with & < > " ' as character references (text and attribute values alike). */
void kd_status_html_escape(FILE *out, const char *s);

/* Write `s` percent-encoded for a query value: everything but A-Z a-z 0-9 - . _ ~. */
void kd_status_url_encode(FILE *out, const char *s);

/*
 * Find `key` in a raw query string ("a=1&verbose&after=x%2Fy"), percent-decoding its value
 * into buf. 0: present (a bare key gives ""), -ENOENT: absent, -EINVAL: a bad %-escape, a NUL
 * or a value longer than len - 1. The first occurrence wins. `query` may be NULL.
 */
int kd_status_query_param(const char *query, const char *key, char *buf, size_t len);

#endif /* KD_STATUS_FORMAT_H */
