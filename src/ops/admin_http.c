/* SPDX-License-Identifier: Apache-2.0 */
/* Admin HTTP glue on evhttp (see admin_http.h); exposition itself is in metrics.c. */
#include "ops/admin_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/keyvalq_struct.h>

#include "ops/metrics.h"
#include "util/addr.h"
#include "util/log.h"

/* Connections evhttp is done with are released, and old ones cut, this often. */
#define REAP_INTERVAL_MS 1000
/* Input beyond one request (headers + body) that a connection may hold unread. */
#define READ_SLACK 16384

/* A connection evhttp serves; we hold a reference to its bufferevent so that we can tell
 * when evhttp is done with it (it clears the callbacks when it frees its reference). */
struct admin_conn {
    struct bufferevent *bev;
    int64_t born_ms;
};

struct kd_admin_http {
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *socket;
    struct kd_admin_http_limits limits;
    struct admin_conn *conns;
    size_t n_conns, conns_cap;
    struct event *reap_ev;
    bool is_paused;
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

/* ---- Connections: a cap that keeps the fd table for gRPC, and a lifetime ------------------ */

static int64_t now_ms(struct kd_admin_http *h)
{
    struct timeval tv;
    event_base_gettimeofday_cached(h->base, &tv);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static struct evconnlistener *listener_of(struct kd_admin_http *h)
{
    return h->socket ? evhttp_bound_socket_get_listener(h->socket) : NULL;
}

static void set_paused(struct kd_admin_http *h, bool paused)
{
    struct evconnlistener *l = listener_of(h);
    if (paused == h->is_paused || !l)
        return;
    h->is_paused = paused;
    if (paused)
        evconnlistener_disable(l);
    else
        evconnlistener_enable(l);
}

/* Release what evhttp has let go of; cut connections past their lifetime (evhttp sees EOF and
 * cleans up); accept again below the cap. */
static void on_reap(evutil_socket_t fd, short events, void *arg)
{
    struct kd_admin_http *h = arg;
    int64_t lifetime = 6 * h->limits.timeout_ms, now = now_ms(h);
    (void)fd;
    (void)events;

    for (size_t i = 0; i < h->n_conns;) {
        struct admin_conn *c = &h->conns[i];
        bufferevent_data_cb readcb;
        bufferevent_getcb(c->bev, &readcb, NULL, NULL, NULL);
        if (!readcb) {
            bufferevent_decref(c->bev);
            h->conns[i] = h->conns[--h->n_conns];
            continue;
        }
        if (now - c->born_ms > lifetime && bufferevent_getfd(c->bev) >= 0)
            shutdown(bufferevent_getfd(c->bev), SHUT_RDWR);
        i++;
    }
    if (h->n_conns < h->limits.max_connections) {
        set_paused(h, false);
        if (listener_of(h))
            evconnlistener_enable(listener_of(h)); /* after an accept error, too */
    }
}

/* evhttp asks for each new connection's bufferevent: count it, and stop accepting at the cap. */
static struct bufferevent *on_new_connection(struct event_base *base, void *arg)
{
    struct kd_admin_http *h = arg;

    on_reap(-1, 0, h);
    if (h->n_conns == h->conns_cap) {
        size_t cap = h->conns_cap ? 2 * h->conns_cap : 16;
        struct admin_conn *conns = realloc(h->conns, cap * sizeof(*conns));
        if (!conns)
            return NULL; /* evhttp makes its own, untracked */
        h->conns = conns;
        h->conns_cap = cap;
    }
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev)
        return NULL;
    /* evhttp keeps reading while it writes an error reply to a client that does not read (a
     * 413 for a body sent whole): past one request's worth, libevent stops reading. */
    bufferevent_setwatermark(bev, EV_READ, 0,
                             h->limits.max_header + h->limits.max_body + READ_SLACK);
    bufferevent_incref(bev);
    h->conns[h->n_conns++] = (struct admin_conn){bev, now_ms(h)};
    if (h->n_conns >= h->limits.max_connections)
        set_paused(h, true);
    return bev;
}

/* A full fd table would keep the listener readable: pause until the next reap. (The argument
 * is evhttp's: libevent hands error callbacks the listener's callback argument.) */
static void on_accept_error(struct evconnlistener *listener, void *arg)
{
    (void)arg;
    KD_DEBUG("admin http: accept: %s; pausing the admin listener for a second",
             strerror(EVUTIL_SOCKET_ERROR()));
    evconnlistener_disable(listener);
}

void kd_admin_http_limits_init(struct kd_admin_http_limits *limits)
{
    *limits = (struct kd_admin_http_limits){
        .max_connections = 64, .max_body = 4096, .max_header = 8192, .timeout_ms = 10000};
}

void kd_admin_http_set_limits(struct kd_admin_http *h, const struct kd_admin_http_limits *limits)
{
    struct timeval tv = {.tv_sec = limits->timeout_ms / 1000,
                         .tv_usec = (limits->timeout_ms % 1000) * 1000};
    h->limits = *limits;
    evhttp_set_max_body_size(h->http, (ev_ssize_t)limits->max_body);
    evhttp_set_max_headers_size(h->http, (ev_ssize_t)limits->max_header);
    evhttp_set_timeout_tv(h->http, &tv);
    on_reap(-1, 0, h);
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
    h->base = base;
    h->metrics = metrics;
    if (hooks)
        h->hooks = *hooks;
    h->live = true;
    h->http = evhttp_new(base);
    h->reap_ev = event_new(base, -1, EV_PERSIST, on_reap, h);
    if (!h->http || !h->reap_ev) {
        r = -ENOMEM;
        goto fail_http;
    }
    /* Every method reaches on_request, which answers 405 itself (evhttp would say 501). */
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(h->http, on_request, h);
    evhttp_set_bevcb(h->http, on_new_connection, h);
    errno = 0;
    h->socket = evhttp_bind_socket_with_handle(h->http, host, port);
    if (!h->socket) {
        r = errno ? -errno : -EADDRNOTAVAIL;
        goto fail_bind;
    }
    h->port = kd_addr_local_port(evhttp_bound_socket_get_fd(h->socket));
    evconnlistener_set_error_cb(listener_of(h), on_accept_error);
    struct kd_admin_http_limits limits;
    kd_admin_http_limits_init(&limits);
    kd_admin_http_set_limits(h, &limits);
    struct timeval reap = {.tv_sec = REAP_INTERVAL_MS / 1000,
                           .tv_usec = (REAP_INTERVAL_MS % 1000) * 1000};
    event_add(h->reap_ev, &reap);
    *ret_http = h;
    return 0;

fail_bind:
fail_http:
    if (h->reap_ev)
        event_free(h->reap_ev);
    if (h->http)
        evhttp_free(h->http);
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
    evhttp_free(http->http); /* drops evhttp's references; ours go next */
    for (size_t i = 0; i < http->n_conns; i++)
        bufferevent_decref(http->conns[i].bev);
    free(http->conns);
    event_free(http->reap_ev);
    free(http);
}
