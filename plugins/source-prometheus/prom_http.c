/* SPDX-License-Identifier: Apache-2.0 */
/* GET requests for the prometheus source on the shared curl driver: see prom_http.h. */
#include "prom_http.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "curl_driver.h"
#include "curl_slice.h"
#include "http_common.h"

#define PROM_USER_AGENT "kedastral-scaler/" KD_PROJECT_VERSION
#define PROM_MAX_CONNECTIONS 10000

struct prom_http {
    const struct kd_host *host;
    const struct kd_instance *inst;
    struct prom_http_options o;
    struct kd_curl *curl;
    struct kd_http_token token; /* bearer_token_file, kept current */
    struct prom_http_get *gets; /* running */
};

struct prom_http_get {
    struct prom_http *http;
    CURL *easy;
    struct curl_slist *headers;
    prom_http_data_fn *data; /* NULL: the body is kept in body */
    prom_http_done_fn *fn;
    void *arg;
    struct kd_http_body body;
    size_t received;            /* body bytes so far */
    struct kd_curl_slice slice; /* of them, handed over in this loop turn */
    bool is_too_big;
    bool is_refused; /* data() said stop: the body ends there */
    bool is_oom;
    struct prom_http_get *prev, *next;
    char errbuf[CURL_ERROR_SIZE];
};

/* ---- Options ---------------------------------------------------------------------------- */

static int check_options(const struct kd_host *host, const struct kd_instance *inst,
                         const struct prom_http_options *o)
{
    char err[256];
    int rc;

    if (o->timeout_ms <= 0 || o->connect_timeout_ms <= 0) {
        host->log(inst, KD_LOG_ERROR,
                  "timeout and connect_timeout must be positive (got %lld ms and %lld ms)",
                  (long long)o->timeout_ms, (long long)o->connect_timeout_ms);
        return -EINVAL;
    }
    if (o->max_body <= 0 || o->max_body > (int64_t)1 << 30) {
        host->log(inst, KD_LOG_ERROR, "max_body must be between 1 byte and 1GiB (got %lld)",
                  (long long)o->max_body);
        return -EINVAL;
    }
    if (o->max_connections < 0 || o->max_connections > PROM_MAX_CONNECTIONS) {
        host->log(inst, KD_LOG_ERROR,
                  "max_connections must be between 0 (no cap) and %d (got %lld)",
                  PROM_MAX_CONNECTIONS, (long long)o->max_connections);
        return -EINVAL;
    }
    if (!o->tls_cert != !o->tls_key) {
        host->log(inst, KD_LOG_ERROR,
                  "tls_cert and tls_key go together: mTLS needs the certificate and its key");
        return -EINVAL;
    }
    if ((rc = kd_http_check_readable(host, inst, "tls_ca", o->tls_ca)) < 0 ||
        (rc = kd_http_check_readable(host, inst, "tls_cert", o->tls_cert)) < 0 ||
        (rc = kd_http_check_readable(host, inst, "tls_key", o->tls_key)) < 0)
        return rc;
    for (const char *const *hdr = o->headers; hdr && *hdr; hdr++) {
        if ((*hdr)[0] && kd_http_check_header(*hdr, err, sizeof(err)) < 0) {
            host->log(inst, KD_LOG_ERROR, "header \"%s\": %s", *hdr, err);
            return -EINVAL;
        }
    }
    return 0;
}

/* ---- Requests --------------------------------------------------------------------------- */

static void get_free(struct prom_http_get *g)
{
    if (g->easy)
        curl_easy_cleanup(g->easy);
    curl_slist_free_all(g->headers);
    free(g->body.data);
    free(g);
}

static void get_unlink(struct prom_http_get *g)
{
    struct prom_http *h = g->http;

    kd_curl_slice_fini(&g->slice); /* here: h may be gone by get_free (destroy in fn) */
    if (g->prev)
        g->prev->next = g->next;
    else if (h->gets == g)
        h->gets = g->next;
    if (g->next)
        g->next->prev = g->prev;
    g->prev = g->next = NULL;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct prom_http_get *g = arg;
    size_t n = size * nmemb, take;
    long status = 0;

    if (g->data) {
        if (kd_curl_slice_pause(&g->slice, n))
            return CURL_WRITEFUNC_PAUSE; /* curl keeps this piece and hands it back */
        if (n > (size_t)g->http->o.max_body - g->received) {
            g->is_too_big = true;
            return 0;
        }
        g->received += n;
        curl_easy_getinfo(g->easy, CURLINFO_RESPONSE_CODE, &status);
        if (g->data(g->arg, status, data, n) < 0) {
            g->is_refused = true;
            return 0;
        }
        return n;
    }
    if (kd_http_body_append(&g->body, data, n, (size_t)g->http->o.max_body, &take) < 0) {
        g->is_oom = true;
        return 0;
    }
    if (take < n) {
        g->is_too_big = true;
        return 0; /* curl aborts with CURLE_WRITE_ERROR */
    }
    return n;
}

static void on_done(CURL *easy, CURLcode result, void *arg)
{
    struct prom_http_get *g = arg;
    struct prom_http *h = g->http;
    char why[CURL_ERROR_SIZE + 96];
    long status = 0;

    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    get_unlink(g);
    if (g->is_too_big) {
        snprintf(why, sizeof(why), "response larger than max_body (%lld bytes)",
                 (long long)h->o.max_body);
    } else if (g->is_oom) {
        snprintf(why, sizeof(why), "out of memory for the response");
    } else if (result != CURLE_OK && !g->is_refused) {
        kd_http_describe_error(easy, result, g->errbuf, why, sizeof(why));
    } else {
        g->fn(g->arg, status, g->body.data ? g->body.data : "", g->body.len, NULL);
        get_free(g);
        return;
    }
    g->fn(g->arg, status, NULL, 0, why);
    get_free(g);
}

#define SETOPT(easy, option, value)                                                                \
    do {                                                                                           \
        if (curl_easy_setopt(easy, option, value) != CURLE_OK)                                     \
            return -EIO;                                                                           \
    } while (0)

static int setup(struct prom_http_get *g, const char *url)
{
    const struct prom_http_options *o = &g->http->o;
    CURL *e = g->easy;

    SETOPT(e, CURLOPT_URL, url);
    SETOPT(e, CURLOPT_ERRORBUFFER, g->errbuf);
    SETOPT(e, CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(e, CURLOPT_WRITEDATA, g);
    SETOPT(e, CURLOPT_NOSIGNAL, 1L);
    SETOPT(e, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
    SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
    SETOPT(e, CURLOPT_USERAGENT, PROM_USER_AGENT);
    SETOPT(e, CURLOPT_HTTPHEADER, g->headers);
    SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(e, CURLOPT_PROXY, "");
    if (o->tls_ca)
        SETOPT(e, CURLOPT_CAINFO, o->tls_ca);
    if (o->tls_cert) {
        SETOPT(e, CURLOPT_SSLCERT, o->tls_cert);
        SETOPT(e, CURLOPT_SSLKEY, o->tls_key);
    }
    return 0;
}

static int append(struct curl_slist **list, const char *line)
{
    struct curl_slist *grown = curl_slist_append(*list, line);

    if (!grown)
        return -ENOMEM;
    *list = grown;
    return 0;
}

int prom_http_get(struct prom_http *h, const char *url, prom_http_data_fn *data,
                  prom_http_done_fn *fn, void *arg, struct prom_http_get **ret)
{
    int rc = -ENOMEM;

    kd_http_token_refresh(&h->token, h->host, h->inst, h->o.bearer_token_file);
    struct prom_http_get *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->http = h;
    g->data = data;
    g->fn = fn;
    g->arg = arg;
    if (append(&g->headers, "Accept: application/json") < 0 ||
        (h->token.header && append(&g->headers, h->token.header) < 0))
        goto fail;
    for (const char *const *hdr = h->o.headers; hdr && *hdr; hdr++)
        if ((*hdr)[0] && append(&g->headers, *hdr) < 0)
            goto fail;
    g->easy = curl_easy_init();
    if (!g->easy)
        goto fail;
    rc = setup(g, url);
    if (rc < 0)
        goto fail;
    kd_curl_slice_init(&g->slice, h->host, h->inst, h->curl, g->easy, PROM_HTTP_SLICE);
    rc = kd_curl_add(h->curl, g->easy, on_done, g);
    if (rc < 0)
        goto fail;
    g->next = h->gets;
    if (h->gets)
        h->gets->prev = g;
    h->gets = g;
    *ret = g;
    return 0;
fail:
    get_free(g);
    return rc;
}

void prom_http_cancel(struct prom_http_get *g)
{
    kd_curl_remove(g->http->curl, g->easy);
    get_unlink(g);
    get_free(g);
}

int prom_http_create(const struct kd_host *host, const struct kd_instance *inst,
                     const struct prom_http_options *opts, struct prom_http **ret)
{
    char err[256] = "";

    int rc = check_options(host, inst, opts);
    if (rc < 0)
        return rc;
    struct prom_http *h = calloc(1, sizeof(*h));
    if (!h) {
        host->log(inst, KD_LOG_ERROR, "out of memory");
        return -ENOMEM;
    }
    h->host = host;
    h->inst = inst;
    h->o = *opts;
    if (opts->bearer_token_file) {
        rc = kd_http_token_load(&h->token, opts->bearer_token_file, err, sizeof(err));
        if (rc < 0) {
            host->log(inst, KD_LOG_ERROR, "bearer_token_file %s: %s", opts->bearer_token_file, err);
            goto fail;
        }
    }
    const struct kd_curl_options curl_options = {.max_connections = (long)opts->max_connections};
    rc = kd_curl_create(host, inst, &curl_options, &h->curl, err, sizeof(err));
    if (rc < 0) {
        host->log(inst, KD_LOG_ERROR, "cannot set up libcurl: %s", err[0] ? err : strerror(-rc));
        goto fail;
    }
    *ret = h;
    return 0;
fail:
    kd_http_token_fini(&h->token);
    free(h);
    return rc;
}

void prom_http_destroy(struct prom_http *h)
{
    if (!h)
        return;
    while (h->gets)
        prom_http_cancel(h->gets);
    kd_curl_destroy(h->curl);
    kd_http_token_fini(&h->token);
    free(h);
}
