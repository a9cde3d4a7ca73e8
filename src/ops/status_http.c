/* SPDX-License-Identifier: Apache-2.0 */
/* Status endpoints glue (see status_http.h): query parsing, snapshot, render, reply. */
#include "ops/status_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/status_format.h"
#include "ops/status_health.h"
#include "ops/status_html.h"
#include "ops/status_json.h"

#define JSON_TYPE "application/json"
#define HTML_TYPE "text/html; charset=utf-8"
#define TEXT_TYPE "text/plain; charset=utf-8"

static bool reply_text(struct kd_admin_http_reply *reply, int code, const char *text)
{
    reply->code = code;
    reply->content_type = TEXT_TYPE;
    reply->body = strdup(text);
    reply->len = reply->body ? strlen(text) : 0;
    return true;
}

static bool reply_body(struct kd_admin_http_reply *reply, int code, const char *type, char *body,
                       size_t len)
{
    reply->code = code;
    reply->content_type = type;
    reply->body = body;
    reply->len = len;
    return true;
}

/* ?limit=&after=&workload= into `q`; false with a 400 in reply when malformed. Names are
 * decoded into the caller's buffers. */
static bool parse_query(const char *raw, size_t limit_default, size_t limit_max,
                        struct kd_status_query *q, char *after, char *workload, size_t len,
                        struct kd_admin_http_reply *reply)
{
    char limit[32], err[128];
    int r;

    *q = (struct kd_status_query){.limit = limit_default};
    r = kd_status_query_param(raw, "limit", limit, sizeof(limit));
    if (r == 0) {
        char *end;
        errno = 0;
        long long v = strtoll(limit, &end, 10);
        if (!*limit || *end || errno || v < 1 || (unsigned long long)v > limit_max) {
            snprintf(err, sizeof(err), "limit: write an integer from 1 to %zu\n", limit_max);
            return !reply_text(reply, 400, err);
        }
        q->limit = (size_t)v;
    } else if (r != -ENOENT) {
        return !reply_text(reply, 400, "limit: malformed\n");
    }
    r = kd_status_query_param(raw, "after", after, len);
    if (r == 0)
        q->after = after;
    else if (r != -ENOENT)
        return !reply_text(reply, 400, "after: malformed or too long\n");
    r = kd_status_query_param(raw, "workload", workload, len);
    if (r == 0)
        q->workload = workload;
    else if (r != -ENOENT)
        return !reply_text(reply, 400, "workload: malformed or too long\n");
    return true;
}

static bool serve_json(const struct kd_status_http *sh, const struct kd_admin_http_request *req,
                       struct kd_admin_http_reply *reply)
{
    char after[1024], workload[1024];
    struct kd_status_query q;
    struct kd_status_snapshot snap;
    char *text;

    if (!parse_query(req->query, KD_STATUS_JSON_LIMIT_DEFAULT, KD_STATUS_JSON_LIMIT_MAX, &q, after,
                     workload, sizeof(after), reply))
        return true;
    if (sh->snapshot(sh->arg, &q, &snap) < 0)
        return reply_text(reply, 500, "out of memory\n");
    if (q.workload && snap.n_workloads == 0) {
        kd_scaler_status_snapshot_fini(&snap);
        return reply_text(reply, 404, "no such workload in the cache\n");
    }
    int r = kd_status_json_render(&snap, &text);
    kd_scaler_status_snapshot_fini(&snap);
    if (r < 0)
        return reply_text(reply, 500, "out of memory\n");
    return reply_body(reply, 200, JSON_TYPE, text, strlen(text));
}

static bool serve_html(const struct kd_status_http *sh, const struct kd_admin_http_request *req,
                       struct kd_admin_http_reply *reply)
{
    char after[1024], workload[1024];
    struct kd_status_query q;
    struct kd_status_snapshot snap;
    char *text = NULL;
    size_t len = 0;

    if (!parse_query(req->query, KD_STATUS_HTML_LIMIT_DEFAULT, KD_STATUS_HTML_LIMIT_MAX, &q, after,
                     workload, sizeof(after), reply))
        return true;
    if (sh->snapshot(sh->arg, &q, &snap) < 0)
        return reply_text(reply, 500, "out of memory\n");
    FILE *f = open_memstream(&text, &len);
    int r = f ? kd_status_html_render(&snap, f) : -ENOMEM;
    bool missing = q.workload && snap.n_workloads == 0;
    kd_scaler_status_snapshot_fini(&snap);
    if (f && fclose(f) != 0)
        r = -EIO;
    if (r < 0) {
        free(text);
        return reply_text(reply, 500, "cannot render the page\n");
    }
    return reply_body(reply, missing ? 404 : 200, HTML_TYPE, text, len);
}

/*
 * /healthz and /readyz: ?verbose lists the checks; plain /readyz is answered here only when
 * readyz_requires_sources fails it (its 200 stays the built-in one). False: not ours.
 */
static bool serve_health(const struct kd_status_http *sh, const struct kd_admin_http_request *req,
                         bool readyz, struct kd_admin_http_reply *reply)
{
    char flag[16];
    bool verbose = kd_status_query_param(req->query, "verbose", flag, sizeof(flag)) != -ENOENT;
    struct kd_status_health h = {
        .probe = readyz ? KD_STATUS_READYZ : KD_STATUS_HEALTHZ,
        .live = req->live,
        .ready = req->ready,
        .requires_sources = sh->readyz_requires_sources,
    };
    struct kd_status_query q = {.limit = 0}; /* sources only */
    struct kd_status_snapshot snap;
    char *text = NULL;
    size_t len = 0;

    if (!req->get || (!verbose && !(readyz && h.ready && h.requires_sources)))
        return false;
    if (sh->snapshot(sh->arg, &q, &snap) < 0)
        return reply_text(reply, 500, "out of memory\n");
    if (!verbose) {
        bool pass = kd_status_health_passes(&h, &snap);
        kd_scaler_status_snapshot_fini(&snap);
        return pass ? false : reply_text(reply, 503, "every source is failing with nothing cached");
    }
    FILE *f = open_memstream(&text, &len);
    bool pass = f ? kd_status_health_render(&h, &snap, f) : false;
    kd_scaler_status_snapshot_fini(&snap);
    if (!f || fclose(f) != 0) {
        free(text);
        return reply_text(reply, 500, "out of memory\n");
    }
    return reply_body(reply, pass ? 200 : 503, TEXT_TYPE, text, len);
}

bool kd_status_http_route(void *arg, const struct kd_admin_http_request *req,
                          struct kd_admin_http_reply *reply)
{
    const struct kd_status_http *sh = arg;
    bool is_json = strcmp(req->path, "/status.json") == 0;
    bool is_html = strcmp(req->path, "/status") == 0;

    if (!sh->snapshot)
        return false;
    if (strcmp(req->path, "/healthz") == 0 || strcmp(req->path, "/readyz") == 0)
        return serve_health(sh, req, req->path[1] == 'r', reply);
    if ((!is_json && !is_html) || !sh->enabled)
        return false;
    if (!req->get)
        return reply_text(reply, 405, "method not allowed; use GET\n");
    return is_json ? serve_json(sh, req, reply) : serve_html(sh, req, reply);
}
