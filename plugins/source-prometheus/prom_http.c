/* SPDX-License-Identifier: Apache-2.0 */
/* GET requests for the prometheus source on the shared curl driver: see prom_http.h. */
#include "prom_http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "curl_driver.h"
#include "file_identity.h"

#define PROM_USER_AGENT "kedastral-scaler/" KD_PROJECT_VERSION
#define PROM_TOKEN_MAX 16384 /* bytes of a bearer token file */
#define PROM_BODY_START 4096 /* first allocation for a body */
#define PROM_MAX_CONNECTIONS 10000

struct prom_http {
    const struct kd_host *host;
    const struct kd_instance *inst;
    struct prom_http_options o;
    struct kd_curl *curl;
    char *auth_header;                    /* "Authorization: Bearer <token>", or NULL */
    struct kd_file_identity token_loaded; /* where auth_header came from */
    struct kd_file_identity token_tried;  /* the last version tried: a broken one warns once */
    struct prom_http_get *gets;           /* running */
};

struct prom_http_get {
    struct prom_http *http;
    CURL *easy;
    struct curl_slist *headers;
    prom_http_done_fn *fn;
    void *arg;
    char *body;
    size_t len, cap;
    bool is_too_big;
    bool is_oom;
    struct prom_http_get *prev, *next;
    char errbuf[CURL_ERROR_SIZE];
};

/* ---- Bearer token ----------------------------------------------------------------------- */

static int read_token(const char *path, char **ret_header, struct kd_file_identity *ret_id,
                      char *err, size_t err_len)
{
    struct kd_file_identity id;
    char *text;
    size_t len;

    int rc = kd_file_read(path, PROM_TOKEN_MAX, &text, &len, &id, err, err_len);
    if (rc == -EFBIG)
        snprintf(err, err_len, "longer than %d bytes; is it really a token?", PROM_TOKEN_MAX);
    if (rc < 0)
        return rc;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
                       text[len - 1] == '\t'))
        len--;
    rc = -EINVAL;
    if (len == 0) {
        snprintf(err, err_len, "empty");
        goto out;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c <= ' ' || c >= 0x7f) { /* would forge headers */
            snprintf(err, err_len, "byte %zu is not a printable character (0x%02x)", i, c);
            goto out;
        }
    }
    text[len] = '\0';
    if (asprintf(ret_header, "Authorization: Bearer %s", text) < 0) {
        snprintf(err, err_len, "out of memory");
        rc = -ENOMEM;
        goto out;
    }
    *ret_id = id;
    rc = 0;
out:
    free(text);
    return rc;
}

/* A stat() per request keeps rotated tokens (Kubernetes projected volumes) current. */
static void refresh_token(struct prom_http *h)
{
    const char *path = h->o.bearer_token_file;
    struct kd_file_identity id;
    char err[256], *header;

    if (!path)
        return;
    kd_file_identity_stat(path, &id);
    if (kd_file_identity_equal(&id, &h->token_loaded) ||
        kd_file_identity_equal(&id, &h->token_tried))
        return;
    h->token_tried = id;
    if (id.error || read_token(path, &header, &id, err, sizeof(err)) < 0) {
        h->host->log(h->inst, KD_LOG_WARN,
                     "bearer_token_file %s: %s; keeping the token read before", path,
                     id.error ? strerror(id.error) : err);
        return;
    }
    free(h->auth_header);
    h->auth_header = header;
    h->token_loaded = h->token_tried = id;
    h->host->log(h->inst, KD_LOG_INFO, "re-read the bearer token from %s", path);
}

/* ---- Options ---------------------------------------------------------------------------- */

static bool is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 9110 field: token ":" value, nothing in the value that could start a new line. */
static int check_header(const char *header, char *err, size_t err_len)
{
    const char *colon = strchr(header, ':');

    if (!colon || colon == header) {
        snprintf(err, err_len, "expected \"Name: value\"");
        return -EINVAL;
    }
    for (const char *p = header; p < colon; p++) {
        if (!is_tchar((unsigned char)*p)) {
            snprintf(err, err_len, "the name has a character not allowed in a header name (0x%02x)",
                     (unsigned char)*p);
            return -EINVAL;
        }
    }
    for (const char *p = colon + 1; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c < ' ' && c != '\t') || c == 0x7f) {
            snprintf(err, err_len, "the value has a control character (0x%02x)", c);
            return -EINVAL;
        }
    }
    return 0;
}

static int check_readable(const struct kd_host *host, const struct kd_instance *inst,
                          const char *name, const char *path)
{
    if (!path)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int rc = -errno;
        host->log(inst, KD_LOG_ERROR, "%s %s: %s", name, path, strerror(-rc));
        return rc;
    }
    close(fd);
    return 0;
}

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
    if ((rc = check_readable(host, inst, "tls_ca", o->tls_ca)) < 0 ||
        (rc = check_readable(host, inst, "tls_cert", o->tls_cert)) < 0 ||
        (rc = check_readable(host, inst, "tls_key", o->tls_key)) < 0)
        return rc;
    for (const char *const *hdr = o->headers; hdr && *hdr; hdr++) {
        if ((*hdr)[0] && check_header(*hdr, err, sizeof(err)) < 0) {
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
    free(g->body);
    free(g);
}

static void get_unlink(struct prom_http_get *g)
{
    struct prom_http *h = g->http;

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
    size_t n = size * nmemb, limit = (size_t)g->http->o.max_body;

    if (n > limit - g->len) {
        g->is_too_big = true;
        return 0; /* curl aborts with CURLE_WRITE_ERROR */
    }
    if (g->len + n > g->cap) {
        size_t cap = g->cap ? g->cap : PROM_BODY_START;
        while (cap < g->len + n)
            cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
        if (cap > limit)
            cap = limit;
        char *body = realloc(g->body, cap);
        if (!body) {
            g->is_oom = true;
            return 0;
        }
        g->body = body;
        g->cap = cap;
    }
    memcpy(g->body + g->len, data, n);
    g->len += n;
    return n;
}

static void on_done(CURL *easy, CURLcode result, void *arg)
{
    struct prom_http_get *g = arg;
    struct prom_http *h = g->http;
    char why[CURL_ERROR_SIZE + 96];
    long status = 0, os_errno = 0;

    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    get_unlink(g);
    if (g->is_too_big) {
        snprintf(why, sizeof(why), "response larger than max_body (%lld bytes)",
                 (long long)h->o.max_body);
    } else if (g->is_oom) {
        snprintf(why, sizeof(why), "out of memory for the response");
    } else if (result != CURLE_OK) {
        /* curl 7.x says "Couldn't connect to server"; the operator wants the errno's words. */
        const char *text = g->errbuf[0] ? g->errbuf : curl_easy_strerror(result);
        curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
        const char *os_text = os_errno ? strerror((int)os_errno) : NULL;
        if (os_text && !strstr(text, os_text))
            snprintf(why, sizeof(why), "%s (%s)", text, os_text);
        else
            snprintf(why, sizeof(why), "%s", text);
    } else {
        g->fn(g->arg, status, g->body ? g->body : "", g->len, NULL);
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

int prom_http_get(struct prom_http *h, const char *url, prom_http_done_fn *fn, void *arg,
                  struct prom_http_get **ret)
{
    int rc = -ENOMEM;

    refresh_token(h);
    struct prom_http_get *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->http = h;
    g->fn = fn;
    g->arg = arg;
    if (append(&g->headers, "Accept: application/json") < 0 ||
        (h->auth_header && append(&g->headers, h->auth_header) < 0))
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
        rc = read_token(opts->bearer_token_file, &h->auth_header, &h->token_loaded, err,
                        sizeof(err));
        if (rc < 0) {
            host->log(inst, KD_LOG_ERROR, "bearer_token_file %s: %s", opts->bearer_token_file, err);
            goto fail;
        }
        h->token_tried = h->token_loaded;
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
    free(h->auth_header);
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
    free(h->auth_header);
    free(h);
}
