/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source-http: forecasts from a Kedastral forecaster, GET {url}/forecast/current?workload=...,
 * on libcurl's multi-socket API driven by the host's timers and fd watches (curl_driver.h):
 * many fetches in flight, no thread of ours, nothing blocks. A 200 body is parsed as it
 * arrives (forecast_json's stream), so a big body costs the loop a little per read instead of
 * one long parse at the end, and a body that breaks a limit is dropped at the byte that does.
 * Caching, single flight and retries belong to the host.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <kedastral/plugin.h>

#include "curl_driver.h"
#include "curl_slice.h"
#include "file_identity.h"
#include "http_common.h"
#include "forecast_json.h"
#include "response.h"
#include "url.h"

#define HTTP_VERSION KD_PROJECT_VERSION /* from CMake: the plugin ships with the daemon */
#define HTTP_USER_AGENT "kedastral-scaler/" HTTP_VERSION
#define HTTP_MAX_REDIRECTS 3L /* Go follows 10; the forecaster itself only ever sends one */
#define HTTP_MAX_CONNECTIONS 10000
/* Body bytes parsed per loop turn and transfer (curl_slice.h says why). */
#define HTTP_PARSE_SLICE (256u * 1024)

struct http_config { /* filled by the host from http_options */
    const char *url;
    int64_t timeout_ms;
    int64_t connect_timeout_ms;
    int64_t max_body;
    const char *tls_ca;
    const char *tls_cert;
    const char *tls_key;
    const char *bearer_token_file;
    const char *const *headers; /* the `header` list */
    int64_t max_connections;
};

struct http_transfer;

struct http_state {
    const struct kd_host *host;
    const struct kd_instance *inst;
    const struct http_config *config; /* host-owned, outlives us */
    struct kd_curl *curl;
    struct http_transfer *transfers; /* in flight */
    struct kd_http_token token;      /* bearer_token_file, kept current */
};

struct http_transfer {
    struct http_state *st;
    struct kd_fetch *fetch;
    CURL *easy;
    char *workload;
    char *url;
    struct curl_slist *headers;
    struct kd_forecast_json_stream *parser; /* a 200 body, fed as it arrives */
    size_t received;                        /* bytes of that body */
    struct kd_curl_slice slice;             /* of them, parsed in this loop turn */
    struct kd_http_body body;               /* other statuses: the start, for the excerpt */
    bool is_too_big;                        /* a 200 body passed max_body: aborted */
    bool is_bad; /* the parser refused a 200 body: aborted, the reason in bad */
    bool is_cut; /* an error body reached the excerpt: aborted on purpose */
    bool is_oom;
    char bad[256];
    struct http_transfer *prev, *next;
    char errbuf[CURL_ERROR_SIZE];
};

/* An empty string option means unset, as when an environment variable is set but empty. */
static const char *opt(const char *value)
{
    return value && value[0] ? value : NULL;
}

/* ---- Transfers -------------------------------------------------------------------------- */

static void transfer_free(struct http_transfer *t)
{
    if (t->easy)
        curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    kd_forecast_json_stream_free(t->parser);
    free(t->body.data);
    free(t->url);
    free(t->workload);
    free(t);
}

/* Takes `t` out of the driver (a no-op once it finished) and our list. */
static void transfer_detach(struct http_transfer *t)
{
    struct http_state *st = t->st;

    kd_curl_remove(st->curl, t->easy);
    kd_curl_slice_fini(&t->slice); /* here: st may be gone by transfer_free */
    if (t->prev)
        t->prev->next = t->next;
    else
        st->transfers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

/* A 200 body goes straight into the parser; nothing of it is kept but the forecasts. */
static size_t on_forecast_body(struct http_transfer *t, const char *data, size_t n)
{
    if (kd_curl_slice_pause(&t->slice, n))
        return CURL_WRITEFUNC_PAUSE; /* curl keeps this piece and hands it back on resume */
    if (n > (size_t)t->st->config->max_body - t->received) {
        t->is_too_big = true;
        return 0;
    }
    t->received += n;
    if (!t->parser && kd_forecast_json_stream_new(&t->parser) < 0) {
        t->is_oom = true;
        return 0;
    }
    if (kd_forecast_json_stream_feed(t->parser, data, n, t->bad, sizeof(t->bad)) < 0) {
        t->is_bad = true;
        return 0;
    }
    return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct http_transfer *t = arg;
    size_t n = size * nmemb;
    long status = 0;
    size_t take;

    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200)
        return on_forecast_body(t, data, n); /* 0: curl aborts with CURLE_WRITE_ERROR */
    /* Error bodies are only quoted: one byte past the excerpt tells it was cut. */
    if (kd_http_body_append(&t->body, data, n, KD_RESPONSE_EXCERPT_MAX + 1, &take) < 0) {
        t->is_oom = true;
        return 0;
    }
    if (take == n)
        return n;
    t->is_cut = true;
    return 0;
}

/* The host copies what it needs before fetch_done returns, so the doc can go right after. */
static void complete_ok(struct http_transfer *t)
{
    const struct kd_host *host = t->st->host;
    struct kd_forecast_doc *doc;
    char err[256];
    int rc = 0;

    if (!t->parser) /* an empty body: no write callback at all */
        rc = kd_forecast_json_stream_new(&t->parser);
    if (rc == 0)
        rc = kd_forecast_json_stream_finish(t->parser, &doc, err, sizeof(err));
    else
        snprintf(err, sizeof(err), "out of memory");
    if (rc < 0) {
        host->fetch_fail(t->fetch, KD_FETCH_FAILED, "bad forecast from %s: %s", t->url, err);
        return;
    }
    if (t->slice.pauses) /* what the slices did, for whoever wonders why a fetch took turns */
        host->log(t->st->inst, KD_LOG_DEBUG, "%zu body bytes from %s parsed over %u loop turns",
                  t->received, t->url, t->slice.pauses + 1);
    host->fetch_done(t->fetch, kd_response_pick(doc, t->workload));
    kd_forecast_json_free(doc);
}

/* Completes `t` exactly once, from what curl and the body say, then frees it. */
static void complete(struct http_transfer *t, CURLcode result)
{
    const struct kd_host *host = t->st->host;
    const struct http_config *cfg = t->st->config;
    char excerpt[KD_RESPONSE_EXCERPT_MAX + 4];
    long status = 0;

    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    transfer_detach(t);

    if (t->is_too_big) {
        host->fetch_fail(t->fetch, KD_FETCH_FAILED,
                         "response larger than max_body (%lld bytes) from %s",
                         (long long)cfg->max_body, t->url);
    } else if (t->is_bad) {
        host->fetch_fail(t->fetch, KD_FETCH_FAILED, "bad forecast from %s: %s", t->url, t->bad);
    } else if (t->is_oom) {
        host->fetch_fail(t->fetch, KD_FETCH_FAILED, "out of memory for the response from %s",
                         t->url);
    } else if (result != CURLE_OK && !t->is_cut) {
        char why[CURL_ERROR_SIZE + 96];
        kd_http_describe_error(t->easy, result, t->errbuf, why, sizeof(why));
        host->fetch_fail(t->fetch, KD_FETCH_FAILED, "GET %s: %s", t->url, why);
    } else if (status == 404) {
        host->fetch_fail(t->fetch, KD_FETCH_NOT_FOUND,
                         "forecaster has no forecast for workload \"%s\" (404)", t->workload);
    } else if (status != 200) {
        kd_response_excerpt(t->body.data, t->body.len, excerpt, sizeof(excerpt));
        host->fetch_fail(t->fetch, KD_FETCH_FAILED, "forecaster returned %ld: %s", status,
                         excerpt[0] ? excerpt : "(empty body)");
    } else {
        complete_ok(t);
    }
    transfer_free(t);
}

/* curl_driver's `done`: the transfer left the multi handle. */
static void on_transfer_done(CURL *easy, CURLcode result, void *arg)
{
    (void)easy;
    complete(arg, result);
}

/* ---- Options ---------------------------------------------------------------------------- */

static int check_url(const char *url, bool *ret_is_https, char *err, size_t err_len)
{
    char *scheme = NULL, *part = NULL;
    int rc = -EINVAL;

    CURLU *u = curl_url();
    if (!u) {
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK) {
        snprintf(err, err_len, "%s", curl_url_strerror(uc));
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        snprintf(err, err_len, "the scheme must be http or https");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &part, 0) != CURLUE_NO_QUERY) {
        snprintf(err, err_len, "a query (?...) has no place in the base URL");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) != CURLUE_NO_FRAGMENT) {
        snprintf(err, err_len, "a fragment (#...) has no place in the base URL");
        goto out;
    }
    *ret_is_https = strcmp(scheme, "https") == 0;
    rc = 0;
out:
    curl_free(part);
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}

static int check_config(const struct kd_host *host, const struct kd_instance *inst,
                        const struct http_config *cfg)
{
    bool is_https = false;
    char err[256];
    int rc;

    if (!cfg->url || !cfg->url[0]) {
        host->log(inst, KD_LOG_ERROR,
                  "url is empty; name the forecaster, e.g. \"http://forecaster:8081\"");
        return -EINVAL;
    }
    if (check_url(cfg->url, &is_https, err, sizeof(err)) < 0) {
        host->log(inst, KD_LOG_ERROR, "url \"%s\": %s", cfg->url, err);
        return -EINVAL;
    }
    if (cfg->timeout_ms <= 0 || cfg->connect_timeout_ms <= 0) {
        host->log(inst, KD_LOG_ERROR,
                  "timeout and connect_timeout must be positive (got %lld ms and %lld ms)",
                  (long long)cfg->timeout_ms, (long long)cfg->connect_timeout_ms);
        return -EINVAL;
    }
    if (cfg->max_body <= 0 || cfg->max_body > (int64_t)KD_FORECAST_JSON_MAX_BYTES) {
        host->log(inst, KD_LOG_ERROR, "max_body must be between 1 and %u bytes (got %lld)",
                  KD_FORECAST_JSON_MAX_BYTES, (long long)cfg->max_body);
        return -EINVAL;
    }
    if (!opt(cfg->tls_cert) != !opt(cfg->tls_key)) {
        host->log(inst, KD_LOG_ERROR,
                  "tls_cert and tls_key go together: mTLS needs the certificate and its key");
        return -EINVAL;
    }
    if ((rc = kd_http_check_readable(host, inst, "tls_ca", opt(cfg->tls_ca))) < 0 ||
        (rc = kd_http_check_readable(host, inst, "tls_cert", opt(cfg->tls_cert))) < 0 ||
        (rc = kd_http_check_readable(host, inst, "tls_key", opt(cfg->tls_key))) < 0)
        return rc;
    if (!is_https && (opt(cfg->tls_ca) || opt(cfg->tls_cert)))
        host->log(inst, KD_LOG_WARN,
                  "tls_* is set but url \"%s\" is plain http: TLS is not used (as upstream)",
                  cfg->url);
    for (const char *const *h = cfg->headers; h && *h; h++) {
        if (opt(*h) && kd_http_check_header(*h, err, sizeof(err)) < 0) {
            host->log(inst, KD_LOG_ERROR, "header \"%s\": %s", *h, err);
            return -EINVAL;
        }
    }
    if (cfg->max_connections < 0 || cfg->max_connections > HTTP_MAX_CONNECTIONS) {
        host->log(inst, KD_LOG_ERROR,
                  "max_connections must be between 0 (no cap) and %d (got %lld)",
                  HTTP_MAX_CONNECTIONS, (long long)cfg->max_connections);
        return -EINVAL;
    }
    return 0;
}

/* ---- Operations ------------------------------------------------------------------------- */

static int http_create(const struct kd_host *host, const struct kd_instance *inst,
                       const void *config, void **ret_state)
{
    const struct http_config *cfg = config;
    char err[256];
    int rc;

    rc = check_config(host, inst, cfg);
    if (rc < 0)
        return rc;

    struct http_state *st = calloc(1, sizeof(*st));
    if (!st) {
        host->log(inst, KD_LOG_ERROR, "out of memory");
        return -ENOMEM;
    }
    st->host = host;
    st->inst = inst;
    st->config = cfg;
    if (opt(cfg->bearer_token_file)) {
        rc = kd_http_token_load(&st->token, opt(cfg->bearer_token_file), err, sizeof(err));
        if (rc < 0) {
            host->log(inst, KD_LOG_ERROR, "bearer_token_file %s: %s", opt(cfg->bearer_token_file),
                      err);
            goto fail_state;
        }
    }

    const struct kd_curl_options curl_options = {.max_connections = (long)cfg->max_connections};
    rc = kd_curl_create(host, inst, &curl_options, &st->curl, err, sizeof(err));
    if (rc < 0) {
        host->log(inst, KD_LOG_ERROR, "%s%s", err,
                  rc == -ENOSYS ? "; the http source needs the host's event loop" : "");
        goto fail_token;
    }
    host->log(inst, KD_LOG_INFO, "forecaster %s (timeout %lld ms, connect %lld ms%s%s)", cfg->url,
              (long long)cfg->timeout_ms, (long long)cfg->connect_timeout_ms,
              opt(cfg->tls_cert) ? ", client certificate" : "",
              opt(cfg->bearer_token_file) ? ", bearer token" : "");
    *ret_state = st;
    return 0;

fail_token:
    kd_http_token_fini(&st->token);
fail_state:
    free(st);
    return rc;
}

#define SETOPT(easy, option, value)                                                                \
    do {                                                                                           \
        CURLcode setopt_rc_ = curl_easy_setopt(easy, option, value);                               \
        if (setopt_rc_ != CURLE_OK)                                                                \
            return setopt_rc_;                                                                     \
    } while (0)

static CURLcode setup_easy(struct http_transfer *t)
{
    const struct http_config *cfg = t->st->config;
    CURL *e = t->easy;

    SETOPT(e, CURLOPT_URL, t->url);
    SETOPT(e, CURLOPT_ERRORBUFFER, t->errbuf);
    SETOPT(e, CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(e, CURLOPT_WRITEDATA, t);
    SETOPT(e, CURLOPT_NOSIGNAL, 1L);
    SETOPT(e, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
    SETOPT(e, CURLOPT_USERAGENT, HTTP_USER_AGENT);
    SETOPT(e, CURLOPT_HTTPHEADER, t->headers);
    /* As Go's client: HTTP/1.1 with keep-alive, redirects followed, proxy variables ignored. */
    SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SETOPT(e, CURLOPT_FOLLOWLOCATION, 1L);
    SETOPT(e, CURLOPT_MAXREDIRS, HTTP_MAX_REDIRECTS);
    SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SETOPT(e, CURLOPT_PROXY, "");
    if (opt(cfg->tls_ca))
        SETOPT(e, CURLOPT_CAINFO, opt(cfg->tls_ca));
    if (opt(cfg->tls_cert)) {
        SETOPT(e, CURLOPT_SSLCERT, opt(cfg->tls_cert));
        SETOPT(e, CURLOPT_SSLKEY, opt(cfg->tls_key));
    }
    return CURLE_OK;
}

static int append_header(struct curl_slist **headers, const char *line)
{
    if (!line)
        return 0;
    struct curl_slist *grown = curl_slist_append(*headers, line);
    if (!grown)
        return -ENOMEM;
    *headers = grown;
    return 0;
}

static int build_headers(const struct http_state *st, struct curl_slist **ret_headers)
{
    struct curl_slist *headers = NULL;
    int rc = append_header(&headers, "Accept: application/json");

    if (rc == 0)
        rc = append_header(&headers, st->token.header);
    for (const char *const *h = st->config->headers; rc == 0 && h && *h; h++)
        rc = append_header(&headers, opt(*h));
    if (rc < 0) {
        curl_slist_free_all(headers);
        return rc;
    }
    *ret_headers = headers;
    return 0;
}

static int http_fetch(void *state, struct kd_fetch *fetch, const char *workload)
{
    struct http_state *st = state;
    int rc = -ENOMEM;

    kd_http_token_refresh(&st->token, st->host, st->inst, opt(st->config->bearer_token_file));
    struct http_transfer *t = calloc(1, sizeof(*t));
    if (!t)
        goto fail;
    t->st = st;
    t->fetch = fetch;
    t->workload = strdup(workload);
    if (!t->workload)
        goto fail_transfer;
    rc = kd_url_forecast(st->config->url, workload, &t->url);
    if (rc < 0)
        goto fail_transfer;
    rc = build_headers(st, &t->headers);
    if (rc < 0)
        goto fail_transfer;
    rc = -ENOMEM;
    t->easy = curl_easy_init();
    if (!t->easy)
        goto fail_transfer;
    CURLcode cc = setup_easy(t);
    if (cc != CURLE_OK) {
        st->host->log(st->inst, KD_LOG_ERROR, "cannot set up the request for \"%s\": %s", workload,
                      curl_easy_strerror(cc));
        goto fail_transfer;
    }
    kd_curl_slice_init(&t->slice, st->host, st->inst, st->curl, t->easy, HTTP_PARSE_SLICE);
    rc = kd_curl_add(st->curl, t->easy, on_transfer_done, t);
    if (rc < 0)
        goto fail_transfer;
    t->next = st->transfers;
    if (st->transfers)
        st->transfers->prev = t;
    st->transfers = t;
    return 0;

fail_transfer:
    transfer_free(t);
fail:
    return rc;
}

static void http_cancel(void *state, struct kd_fetch *fetch)
{
    struct http_state *st = state;

    for (struct http_transfer *t = st->transfers; t; t = t->next) {
        if (t->fetch == fetch) {
            transfer_detach(t);
            transfer_free(t);
            return;
        }
    }
}

static void http_destroy(void *state)
{
    struct http_state *st = state;

    if (!st)
        return;
    while (st->transfers) {
        struct http_transfer *t = st->transfers;
        transfer_detach(t);
        transfer_free(t);
    }
    kd_curl_destroy(st->curl);
    kd_http_token_fini(&st->token);
    free(st);
}

static const struct kd_option http_options[] = {
    {"url", KD_OPTION_STRING, "http://localhost:8081", offsetof(struct http_config, url),
     "Base URL of the Kedastral forecaster; /forecast/current is appended.", "forecaster_url", 0},
    {"timeout", KD_OPTION_DURATION, "2s", offsetof(struct http_config, timeout_ms),
     "Limit on a whole request: connect, TLS, headers and body.", NULL, 0},
    {"connect_timeout", KD_OPTION_DURATION, "1s", offsetof(struct http_config, connect_timeout_ms),
     "Limit on establishing the connection (TCP and TLS).", NULL, 0},
    {"max_body", KD_OPTION_SIZE, "4MiB", offsetof(struct http_config, max_body),
     "Largest response body accepted; a larger one fails the fetch as it arrives.", NULL, 0},
    {"tls_ca", KD_OPTION_STRING, NULL, offsetof(struct http_config, tls_ca),
     "PEM file of the CA that signed the forecaster's certificate (https only).", NULL, 0},
    {"tls_cert", KD_OPTION_STRING, NULL, offsetof(struct http_config, tls_cert),
     "PEM client certificate for mTLS to the forecaster; needs tls_key.", NULL, 0},
    {"tls_key", KD_OPTION_STRING, NULL, offsetof(struct http_config, tls_key),
     "PEM private key of tls_cert.", NULL, 0},
    {"bearer_token_file", KD_OPTION_STRING, NULL, offsetof(struct http_config, bearer_token_file),
     "File holding a token sent as \"Authorization: Bearer\"; re-read when it changes.", NULL, 0},
    {"header", KD_OPTION_LIST, NULL, offsetof(struct http_config, headers),
     "Extra request headers, \"Name: value\": one string or a list of them.", NULL, 0},
    {"max_connections", KD_OPTION_INT, "16", offsetof(struct http_config, max_connections),
     "Connections to the forecaster open at once; fetches beyond wait in a queue. 0: no cap.", NULL,
     0},
    KD_OPTIONS_END,
};

static const struct kd_source_ops http_ops = {
    .size = sizeof(struct kd_source_ops),
    .create = http_create,
    .fetch = http_fetch,
    .cancel = http_cancel,
    .destroy = http_destroy,
};

KD_PLUGIN_EXPORT const struct kd_plugin kd_plugin = {
    KD_PLUGIN_ABI,
    .kind = KD_PLUGIN_SOURCE,
    .name = "http",
    .version = HTTP_VERSION,
    .description = "Fetches forecasts from a Kedastral forecaster over HTTP(S)",
    .config_size = sizeof(struct http_config),
    .options = http_options,
    .source = &http_ops,
};
