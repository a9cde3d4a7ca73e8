/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admin HTTP server (libevent evhttp): GET /metrics (Prometheus text 0.0.4), /healthz
 * (liveness) and /readyz (readiness). It serves from the daemon's loop, so a stuck loop
 * shows as a probe timeout, never as a stale 200.
 */
#ifndef KD_ADMIN_HTTP_H
#define KD_ADMIN_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stddef.h>

struct event_base;
struct kd_metrics;
struct kd_admin_http;

/* One request as a route hook sees it. */
struct kd_admin_http_request {
    const char *path;
    const char *query; /* raw, without '?'; NULL when absent */
    bool get;          /* GET or HEAD */
    bool live, ready;  /* the server's state (set_live, set_ready) */
};

/* A route hook's answer; `body` (malloc'd, may be NULL) is the server's to free. */
struct kd_admin_http_reply {
    int code;
    const char *content_type;
    char *body;
    size_t len;
};

struct kd_admin_http_hooks {
    /* Called right before /metrics is written, to refresh pulled values (process_*, ...). */
    void (*before_scrape)(void *arg);
    void *arg;
    /* Extra routes (the status endpoints), asked first: true with *reply filled answers the
     * request, false leaves it to the built-in routes. Optional. */
    bool (*route)(void *arg, const struct kd_admin_http_request *req,
                  struct kd_admin_http_reply *reply);
    void *route_arg;
};

/*
 * Listen on "host:port", "[v6]:port" or ":port" (all addresses). `metrics` is borrowed and
 * must outlive the server. Starts live and not ready. -EINVAL on a bad address, -errno when
 * the address cannot be bound.
 */
int kd_admin_http_create(struct event_base *base, const char *address, struct kd_metrics *metrics,
                         const struct kd_admin_http_hooks *hooks, struct kd_admin_http **ret_http);

/* The bound port (useful with port 0). */
int kd_admin_http_port(const struct kd_admin_http *http);

/* /healthz: 200 "OK" while live, 503 otherwise (draining). */
void kd_admin_http_set_live(struct kd_admin_http *http, bool live);

/* /readyz: 200 "OK" while ready, 503 otherwise (starting, draining). */
void kd_admin_http_set_ready(struct kd_admin_http *http, bool ready);

/* What one client may hold on the admin port (README "Limits and hardening"). */
struct kd_admin_http_limits {
    unsigned max_connections; /* past it the listener waits (the kernel queues); 64 */
    size_t max_body;          /* request bodies above this: 413; 4 KiB (it serves GETs) */
    size_t max_header;        /* request line plus headers above this: 400; 8 KiB */
    int64_t timeout_ms;       /* read/write inactivity; a connection lives at most 6 x this */
};

void kd_admin_http_limits_init(struct kd_admin_http_limits *limits);

/* Apply `limits` (create starts with the defaults); open connections keep theirs. */
void kd_admin_http_set_limits(struct kd_admin_http *http,
                              const struct kd_admin_http_limits *limits);

void kd_admin_http_destroy(struct kd_admin_http *http);

#endif /* KD_ADMIN_HTTP_H */
