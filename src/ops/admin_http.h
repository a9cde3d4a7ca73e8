/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admin HTTP server (libevent evhttp): GET /metrics (Prometheus text 0.0.4), /healthz
 * (liveness) and /readyz (readiness). It serves from the daemon's loop, so a stuck loop
 * shows as a probe timeout, never as a stale 200.
 */
#ifndef KD_ADMIN_HTTP_H
#define KD_ADMIN_HTTP_H

#include <stdbool.h>

struct event_base;
struct kd_metrics;
struct kd_admin_http;

struct kd_admin_http_hooks {
    /* Called right before /metrics is written, to refresh pulled values (process_*, ...). */
    void (*before_scrape)(void *arg);
    void *arg;
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

void kd_admin_http_destroy(struct kd_admin_http *http);

#endif /* KD_ADMIN_HTTP_H */
