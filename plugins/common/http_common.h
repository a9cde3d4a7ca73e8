/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every HTTP source on curl_driver.h needs besides the driver: a bearer token file kept
 * current, option checks (extra header lines, readable TLS files), response bodies grown up
 * to a limit, and curl's failure in the operator's words. Shared by source-http and
 * source-prometheus so their behaviour and messages cannot drift apart.
 */
#ifndef KD_HTTP_COMMON_H
#define KD_HTTP_COMMON_H

#include <stddef.h>

#include <curl/curl.h>
#include <kedastral/plugin.h>

#include "file_identity.h"

#define KD_HTTP_TOKEN_MAX 16384 /* bytes of a bearer token file */

/* "Authorization: Bearer <token>" from a file, re-read when the file changes. Zero-initialise. */
struct kd_http_token {
    char *header;                   /* the ready header line, or NULL */
    struct kd_file_identity loaded; /* where `header` came from */
    struct kd_file_identity tried;  /* the last version tried: a broken one warns once */
};

/* Read `path` (at create time). 0, or a negative errno with one line in err ("empty", "byte 3
 * is not a printable character (0x0a)", ...); `token` untouched on failure. */
int kd_http_token_load(struct kd_http_token *token, const char *path, char *err, size_t err_len);

/* A stat() per request keeps rotated tokens (Kubernetes projected volumes) current. A changed
 * file that cannot be used logs one warning and the previous token stays. NULL path: no-op. */
void kd_http_token_refresh(struct kd_http_token *token, const struct kd_host *host,
                           const struct kd_instance *inst, const char *path);

void kd_http_token_fini(struct kd_http_token *token);

/* An extra request header: RFC 9110 token ":" value, nothing that could start a new line.
 * 0 or -EINVAL with the reason in err. */
int kd_http_check_header(const char *header, char *err, size_t err_len);

/* `path` (NULL: nothing to check) opens for reading; otherwise logs "<name> <path>: <errno
 * text>" and returns -errno. */
int kd_http_check_readable(const struct kd_host *host, const struct kd_instance *inst,
                           const char *name, const char *path);

/* A response body, grown as bytes arrive. Zero-initialise; free(body.data) when done. */
struct kd_http_body {
    char *data;
    size_t len;
    size_t cap;
};

/* Append at most `limit - len` of the `n` bytes at `data`; *ret_taken says how many (fewer
 * than n: the limit was reached). 0, or -ENOMEM with nothing appended. */
int kd_http_body_append(struct kd_http_body *body, const char *data, size_t n, size_t limit,
                        size_t *ret_taken);

/* curl's failure for `easy` in words: its error buffer (or curl_easy_strerror) plus the OS
 * errno's text when curl left it out ("Couldn't connect to server (Connection refused)"). */
void kd_http_describe_error(CURL *easy, CURLcode result, const char *errbuf, char *out,
                            size_t out_len);

#endif /* KD_HTTP_COMMON_H */
