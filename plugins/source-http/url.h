/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The forecaster request URL, built from the configured base and a workload name. Pure: no
 * I/O, no logging, no libcurl.
 */
#ifndef KD_URL_H
#define KD_URL_H

#include <stddef.h>

/*
 * Percent-encode `text` as a URL query value: the RFC 3986 unreserved characters
 * (A-Z a-z 0-9 - . _ ~) stay, every other byte becomes %XX (upper-case hex), so "a&b=c",
 * "a#b" and "a b" reach the server as themselves. Returns 0 and a malloc'd string, or -ENOMEM.
 */
int kd_url_encode(const char *text, char **ret_text);

/*
 * "{base}/forecast/current?workload={encoded workload}". Trailing '/' characters of `base`
 * are dropped first, so "http://f:8081/" and "http://f:8081" give the same URL (upstream
 * pastes the slash in and relies on the forecaster's redirect). Returns 0 and a malloc'd
 * string, -EINVAL for an empty base, or -ENOMEM.
 */
int kd_url_forecast(const char *base, const char *workload, char **ret_url);

#endif /* KD_URL_H */
