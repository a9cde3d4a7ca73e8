/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET requests for the prometheus source on the shared curl driver (plugins/common/
 * curl_driver.h): the easy handles (timeouts, TLS files, headers, a bearer token re-read when
 * its file changes), bodies capped at max_body, and one completion per request in words.
 */
#ifndef KD_PROM_HTTP_H
#define KD_PROM_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <kedastral/plugin.h>

struct prom_http;
struct prom_http_get;

struct prom_http_options {
    int64_t timeout_ms;                      /* whole request */
    int64_t connect_timeout_ms;              /* TCP and TLS */
    int64_t max_body;                        /* bytes */
    int64_t max_connections;                 /* 0: no cap */
    const char *tls_ca, *tls_cert, *tls_key; /* NULL: unset */
    const char *bearer_token_file;           /* NULL: none */
    const char *const *headers;              /* "Name: value", NULL-terminated; may be NULL */
};

/*
 * A request ended: `error` is NULL when a response arrived (any status; `body` holds its
 * `len` bytes, at most max_body), else what went wrong in words ("Couldn't connect to server
 * (Connection refused)", "response larger than max_body (1024 bytes)"). Called from the loop,
 * never from inside prom_http_get(); the request is gone when it returns.
 */
typedef void prom_http_done_fn(void *arg, long status, const char *body, size_t len,
                               const char *error);

/* Checks the options (one host->log line at KD_LOG_ERROR for a bad one) and reads the token.
 * Returns 0 and *ret, -EINVAL, -ENOENT/-EACCES (a file), -ENOMEM or -EIO. */
int prom_http_create(const struct kd_host *host, const struct kd_instance *inst,
                     const struct prom_http_options *opts, struct prom_http **ret);

/* Start a GET of `url` (copied). Returns 0 and *ret, or a negative errno: nothing started. */
int prom_http_get(struct prom_http *http, const char *url, prom_http_done_fn *fn, void *arg,
                  struct prom_http_get **ret);

/* Abandon `get` without calling its function. */
void prom_http_cancel(struct prom_http_get *get);

/* Cancels what is running and frees; NULL is a no-op. */
void prom_http_destroy(struct prom_http *http);

#endif /* KD_PROM_HTTP_H */
