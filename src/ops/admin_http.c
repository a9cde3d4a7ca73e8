/* SPDX-License-Identifier: Apache-2.0 */
/* Admin HTTP glue on evhttp (see admin_http.h); exposition itself is in metrics.c. */
#include "ops/admin_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "ops/metrics.h"
#include "util/addr.h"

/* Like upstream's server: slow clients are cut off, the loop is never held. */
#define ADMIN_HTTP_TIMEOUT_S 30

struct kd_admin_http {
    struct evhttp *http;
    struct evhttp_bound_socket *socket;
    struct kd_metrics *metrics;
    struct kd_admin_http_hooks hooks;
    int port;
    bool live;
    bool ready;
};

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *body)
{
    struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
    struct evbuffer *out = evbuffer_new();

    evhttp_add_header(headers, "Content-Type", "text/plain; charset=utf-8");
    if (code == 405)
        evhttp_add_header(headers, "Allow", "GET, HEAD");
    if (out)
        evbuffer_add(out, body, strlen(body));
    evhttp_send_reply(req, code, reason, out);
    if (out)
        evbuffer_free(out);
}

static void reply_metrics(struct kd_admin_http *h, struct evhttp_request *req)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    if (h->hooks.before_scrape)
        h->hooks.before_scrape(h->hooks.arg);
    f = open_memstream(&text, &len);
    if (!f) {
        reply_text(req, 500, "Internal Server Error", "out of memory\n");
        return;
    }
    int r = kd_metrics_write(h->metrics, f);
    if (fclose(f) != 0 || r < 0) {
        free(text);
        reply_text(req, 500, "Internal Server Error", "cannot write the metrics\n");
        return;
    }
    struct evbuffer *out = evbuffer_new();
    if (!out || evbuffer_add(out, text, len) < 0) {
        free(text);
        if (out)
            evbuffer_free(out);
        reply_text(req, 500, "Internal Server Error", "out of memory\n");
        return;
    }
    free(text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

static const char *reason_of(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 503:
        return "Service Unavailable";
    default:
        return code >= 500 ? "Internal Server Error" : "Error";
    }
}

/* A route hook answered: send its reply. */
static void reply_hook(struct evhttp_request *req, struct kd_admin_http_reply *r)
{
    struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
    struct evbuffer *out = evbuffer_new();

    evhttp_add_header(headers, "Content-Type",
                      r->content_type ? r->content_type : "text/plain; charset=utf-8");
    if (r->code == 405)
        evhttp_add_header(headers, "Allow", "GET, HEAD");
    if (!out || (r->len && evbuffer_add(out, r->body, r->len) < 0)) {
        free(r->body);
        if (out)
            evbuffer_free(out);
        reply_text(req, 500, "Internal Server Error", "out of memory\n");
        return;
    }
    free(r->body);
    evhttp_send_reply(req, r->code, reason_of(r->code), out);
    evbuffer_free(out);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct kd_admin_http *h = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);

    if (path && h->hooks.route) {
        struct kd_admin_http_request hr = {
            .path = path,
            .query = evhttp_uri_get_query(uri),
            .get = method == EVHTTP_REQ_GET || method == EVHTTP_REQ_HEAD,
            .live = h->live,
            .ready = h->ready,
        };
        struct kd_admin_http_reply reply = {0};
        if (h->hooks.route(h->hooks.route_arg, &hr, &reply)) {
            reply_hook(req, &reply);
            return;
        }
    }
    bool is_metrics = path && strcmp(path, "/metrics") == 0;
    bool is_healthz = path && strcmp(path, "/healthz") == 0;
    bool is_readyz = path && strcmp(path, "/readyz") == 0;

    if (!is_metrics && !is_healthz && !is_readyz) {
        reply_text(req, 404, "Not Found", "404 page not found\n");
        return;
    }
    if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
        reply_text(req, 405, "Method Not Allowed", "method not allowed; use GET\n");
        return;
    }
    if (is_metrics)
        reply_metrics(h, req);
    else if (is_healthz)
        reply_text(req, h->live ? 200 : 503, h->live ? "OK" : "Service Unavailable",
                   h->live ? "OK" : "draining");
    else
        reply_text(req, h->ready ? 200 : 503, h->ready ? "OK" : "Service Unavailable",
                   h->ready ? "OK" : (h->live ? "not ready" : "draining"));
}

int kd_admin_http_create(struct event_base *base, const char *address, struct kd_metrics *metrics,
                         const struct kd_admin_http_hooks *hooks, struct kd_admin_http **ret_http)
{
    char host[KD_ADDR_HOST_MAX + 1];
    uint16_t port;
    int r = kd_addr_split(address, host, sizeof(host), &port);

    if (r < 0)
        return r;
    struct kd_admin_http *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->metrics = metrics;
    if (hooks)
        h->hooks = *hooks;
    h->live = true;
    h->http = evhttp_new(base);
    if (!h->http) {
        r = -ENOMEM;
        goto fail_http;
    }
    /* Every method reaches on_request, which answers 405 itself (evhttp would say 501). */
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_timeout(h->http, ADMIN_HTTP_TIMEOUT_S);
    evhttp_set_gencb(h->http, on_request, h);
    errno = 0;
    h->socket = evhttp_bind_socket_with_handle(h->http, host, port);
    if (!h->socket) {
        r = errno ? -errno : -EADDRNOTAVAIL;
        goto fail_bind;
    }
    h->port = kd_addr_local_port(evhttp_bound_socket_get_fd(h->socket));
    *ret_http = h;
    return 0;

fail_bind:
    evhttp_free(h->http);
fail_http:
    free(h);
    return r;
}

int kd_admin_http_port(const struct kd_admin_http *http)
{
    return http->port;
}

void kd_admin_http_set_live(struct kd_admin_http *http, bool live)
{
    http->live = live;
}

void kd_admin_http_set_ready(struct kd_admin_http *http, bool ready)
{
    http->ready = ready;
}

void kd_admin_http_destroy(struct kd_admin_http *http)
{
    if (!http)
        return;
    evhttp_free(http->http);
    free(http);
}
