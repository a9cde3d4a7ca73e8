/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The status endpoints on the admin server (a route hook of admin_http.c): GET /status.json,
 * GET /status, and the verbose forms of /healthz and /readyz. Snapshots come from a callback,
 * so this layer knows no scaler; rendering is in status_json.c, status_html.c, status_health.c.
 */
#ifndef KD_STATUS_HTTP_H
#define KD_STATUS_HTTP_H

#include <stdbool.h>

#include "ops/admin_http.h"
#include "scaler/scaler_status.h"

/* Page sizes: ?limit= defaults and caps. */
#define KD_STATUS_JSON_LIMIT_DEFAULT 100
#define KD_STATUS_JSON_LIMIT_MAX 1000
#define KD_STATUS_HTML_LIMIT_DEFAULT 50
#define KD_STATUS_HTML_LIMIT_MAX 500

struct kd_status_http {
    bool enabled;                 /* false (status = false): /status and /status.json are 404 */
    bool readyz_requires_sources; /* /readyz fails while every source is failing, none cached */
    /* A snapshot of the serving scaler (kd_scaler_status_snapshot); 0 or -errno. */
    int (*snapshot)(void *arg, const struct kd_status_query *query,
                    struct kd_status_snapshot *ret_snapshot);
    void *arg;
};

/* The route hook: `arg` is a struct kd_status_http. */
bool kd_status_http_route(void *arg, const struct kd_admin_http_request *req,
                          struct kd_admin_http_reply *reply);

#endif /* KD_STATUS_HTTP_H */
