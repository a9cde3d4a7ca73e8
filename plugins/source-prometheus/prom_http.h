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

/*
 * Body bytes as they arrive, for a caller that parses while reading (`status` is the
 * response's). Return 0, or a negative value to stop reading: the request then ends as if the
 * body ended there (fn gets error NULL), and the caller's parser says why. At most
 * PROM_HTTP_SLICE bytes are handed over per loop turn and request: past that the transfer
 * pauses until the next turn, so a big body never holds the loop long.
 */
typedef int prom_http_data_fn(void *arg, long status, const char *data, size_t len);

#define PROM_HTTP_SLICE (256u * 1024)

/* Checks the options (one host->log line at KD_LOG_ERROR for a bad one) and reads the token.
 * Returns 0 and *ret, -EINVAL, -ENOENT/-EACCES (a file), -ENOMEM or -EIO. */
int prom_http_create(const struct kd_host *host, const struct kd_instance *inst,
                     const struct prom_http_options *opts, struct prom_http **ret);

/*
 * Start a GET of `url` (copied). With `data`, the body goes there as it arrives and fn gets
 * ("", 0); without, prom_http keeps it for fn. Returns 0 and *ret, or a negative errno:
 * nothing started.
 */
int prom_http_get(struct prom_http *http, const char *url, prom_http_data_fn *data,
                  prom_http_done_fn *fn, void *arg, struct prom_http_get **ret);

/* Abandon `get` without calling its function. */
void prom_http_cancel(struct prom_http_get *get);

/* Cancels what is running and frees; NULL is a no-op. */
void prom_http_destroy(struct prom_http *http);

#endif /* KD_PROM_HTTP_H */
