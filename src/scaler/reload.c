/* SPDX-License-Identifier: Apache-2.0 */
/* Reload: prepare everything that can fail beside the running scaler, then take over in
 * steps that cannot. See reload.h. */
#include "scaler/reload.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config/config.h"
#include "grpc/grpc_server.h"
#include "util/errbuf.h"
#include "util/file_id.h"
#include "util/list.h"
#include "util/log.h"

/* A scaler a reload replaced, still finishing its calls, with the config it was built on. */
struct retired {
    struct kd_list link;
    struct kd_scaler *scaler;
    struct kd_config *config;
};

struct kd_reload {
    struct event_base *base;
    struct kd_grpc_server *grpc; /* NULL until attached */
    struct kd_config *config;
    struct kd_scaler *scaler;
    struct kd_list retired;
    struct kd_scaler_observer observer;
    bool has_observer;
    bool draining;
    struct kd_reload_params params;
    struct event *watch;
    struct kd_file_id seen; /* the file as it was when last read (or tried) */
};

/* What a reload builds before it takes over. */
struct next {
    struct kd_config *config;
    struct kd_scaler *scaler;
    struct retired *retired; /* allocated ahead: taking over cannot fail */
    bool moved;              /* the gRPC listener moved to config->listen */
    size_t kept;             /* cached forecasts carried over */
    bool prepared;           /* params.prepare() succeeded */
};

static const char *name_of(const struct kd_config *config)
{
    return config->path ? config->path : "<built-in>";
}

void kd_reload_grpc_config(const struct kd_config *config, struct kd_grpc_server_config *ret)
{
    kd_grpc_server_config_init(ret);
    /* The settings table bounds every value within what the transport accepts (test_reload
     * checks the extremes), so applying them cannot fail. */
    ret->max_message_size = (size_t)config->max_message_size;
    ret->default_deadline_ms = config->default_deadline_ms;
    ret->connection_buffer = (size_t)config->connection_buffer;
    ret->total_buffer = (size_t)config->total_buffer;
    ret->max_connections = (uint32_t)config->max_connections;
    ret->handshake_timeout_ms = config->handshake_timeout_ms;
    ret->idle_timeout_ms = config->idle_timeout_ms;
    ret->write_timeout_ms = config->write_timeout_ms;
    ret->max_deadline_ms = config->max_deadline_ms;
    ret->max_streams_without_deadline = (uint32_t)config->max_streams_without_deadline;
    ret->total_streams_without_deadline = (uint32_t)config->total_streams_without_deadline;
}

/* ---- The watch ---------------------------------------------------------------------------- */

static void watch_arm(struct kd_reload *r)
{
    int64_t ms = r->config->config_poll_ms;
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};

    if (r->watch && ms > 0 && !r->draining)
        evtimer_add(r->watch, &tv);
    else if (r->watch)
        evtimer_del(r->watch);
}

static void on_watch(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct kd_reload *r = arg;
    struct kd_file_id now;

    kd_file_id_stat(r->params.config_path, &now);
    /* Missing for a moment (an editor's delete and create): wait for it to come back. */
    if (now.error) {
        if (now.error != r->seen.error)
            KD_WARN("config file %s: %s; still serving the loaded configuration",
                    r->params.config_path, strerror(now.error));
        r->seen = now;
    } else if (!kd_file_id_equal(&now, &r->seen)) {
        kd_reload_run(r, "config file changed");
    }
    watch_arm(r);
}

/* ---- Prepare: everything that can fail; nothing running changes ---------------------------- */

static void next_free(struct next *n)
{
    free(n->retired);
    kd_scaler_destroy(n->scaler);
    kd_config_free(n->config);
}

static int prepare(struct kd_reload *r, struct next *n, char *err, size_t err_len)
{
    int rc = kd_config_load(r->params.config_path, r->params.ov, r->params.plugin_dir_default,
                            &n->config, err, err_len);
    if (rc < 0)
        return rc;
    rc = kd_scaler_create(n->config, r->base, &n->scaler, err, err_len);
    if (rc < 0)
        return rc;
    n->retired = calloc(1, sizeof(*n->retired));
    if (!n->retired) {
        kd_errbuf_printf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    if (r->has_observer)
        kd_scaler_set_observer(n->scaler, &r->observer);
    /* Forecasts from sources the edit left alone stay; those workloads need no fetch now. */
    n->kept = kd_scaler_adopt(n->scaler, r->scaler);
    if (r->params.prepare) {
        rc = r->params.prepare(r->params.arg, n->config, r->config, err, err_len);
        if (rc < 0)
            return rc;
        n->prepared = true;
    }
    /* Last: bound before the old address closes; if it cannot be, nothing changed. */
    n->moved = strcmp(n->config->listen, r->config->listen) != 0;
    if (n->moved) {
        rc = kd_grpc_server_relisten(r->grpc, n->config->listen);
        if (rc < 0) {
            kd_errbuf_printf(err, err_len, "%s: cannot listen on %s: %s", name_of(n->config),
                             n->config->listen, strerror(-rc));
            return rc;
        }
    }
    return 0;
}

/* ---- Take over: cannot fail ----------------------------------------------------------------- */

static void on_retired_released(void *arg, struct kd_scaler *scaler)
{
    struct retired *old = arg;

    (void)scaler;
    kd_list_remove(&old->link);
    kd_config_free(old->config);
    free(old);
    KD_DEBUG("reload: the previous configuration finished its last call");
}

/* Returns the configuration replaced, alive until the loop runs again. */
static const struct kd_config *take_over(struct kd_reload *r, struct next *n)
{
    struct kd_grpc_server_config gcfg;
    struct retired *old = n->retired;
    size_t n_methods;
    const struct kd_grpc_method *methods = kd_scaler_methods(n->scaler, &n_methods);

    /* The new scaler's methods serve the same paths, so this allocates nothing. */
    if (kd_grpc_server_replace(r->grpc, methods, n_methods) < 0)
        KD_ERROR("reload: the gRPC routes were not registered; this is a bug");
    old->scaler = r->scaler;
    old->config = r->config;
    kd_list_push_back(&r->retired, &old->link);
    kd_scaler_retire(old->scaler, on_retired_released, old);
    r->scaler = n->scaler;
    r->config = n->config;

    kd_log_setup(r->config->log_level, r->config->log_format);
    kd_reload_grpc_config(r->config, &gcfg);
    if (kd_grpc_server_reconfigure(r->grpc, &gcfg) < 0)
        KD_ERROR("reload: max_message_size or default_deadline refused; this is a bug");
    watch_arm(r);
    return old->config;
}

static void report(struct kd_reload *r, const struct next *n, const struct kd_config *old)
{
    if (n->moved)
        KD_INFO("reload: grpc server listening address=%s port=%d (was %s; connections "
                "accepted there go on until they end)",
                r->config->listen, kd_grpc_server_port(r->grpc), old->listen);
    if (r->config->reflection != old->reflection)
        KD_WARN("reload: reflection changed; that needs a restart, still %s",
                old->reflection ? "on" : "off");
    KD_INFO("reload: configuration applied (%zu sources, %zu policies, %zu workload routes; "
            "%zu cached forecasts kept)",
            r->config->n_sources, r->config->n_policies, r->config->n_workloads, n->kept);
}

int kd_reload_run(struct kd_reload *r, const char *why)
{
    struct next n = {0};
    char err[1024] = "";
    int rc;

    if (r->draining) {
        KD_WARN("%s while draining: ignored", why);
        return -ECANCELED;
    }
    KD_INFO("%s: reloading %s", why, name_of(r->config));
    /* Noted before reading: a change while we read is seen by the next poll. */
    if (r->params.config_path)
        kd_file_id_stat(r->params.config_path, &r->seen);
    rc = prepare(r, &n, err, sizeof(err));
    if (rc < 0) {
        if (n.prepared && r->params.abandon)
            r->params.abandon(r->params.arg);
        next_free(&n);
        KD_ERROR("reload failed, the running configuration keeps serving: %s", err);
        if (r->params.failed)
            r->params.failed(r->params.arg, err);
        return rc;
    }
    const struct kd_config *old = take_over(r, &n);
    /* The daemon's part first (TLS, the admin server), so that "configuration applied" is
     * logged once all of it is. */
    if (r->params.applied)
        r->params.applied(r->params.arg, r->config, old);
    report(r, &n, old);
    return 0;
}

/* ---- Lifecycle ----------------------------------------------------------------------------- */

int kd_reload_create(struct event_base *base, struct kd_config *config,
                     const struct kd_reload_params *params, struct kd_reload **ret_reload,
                     char *err, size_t err_len)
{
    struct kd_reload *r = calloc(1, sizeof(*r));
    int rc;

    if (!r) {
        kd_errbuf_printf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    r->base = base;
    r->params = *params;
    kd_list_init(&r->retired);
    rc = kd_scaler_create(config, base, &r->scaler, err, err_len);
    if (rc < 0) {
        free(r);
        return rc;
    }
    r->config = config;
    *ret_reload = r;
    return 0;
}

void kd_reload_set_observer(struct kd_reload *r, const struct kd_scaler_observer *observer)
{
    r->observer = *observer;
    r->has_observer = true;
    kd_scaler_set_observer(r->scaler, observer);
}

int kd_reload_attach(struct kd_reload *r, struct kd_grpc_server *server)
{
    int rc = kd_scaler_register(r->scaler, server);
    if (rc < 0)
        return rc;
    r->grpc = server;
    if (!r->params.config_path)
        return 0;
    r->watch = evtimer_new(r->base, on_watch, r);
    if (!r->watch)
        return -ENOMEM;
    kd_file_id_stat(r->params.config_path, &r->seen);
    watch_arm(r);
    return 0;
}

struct kd_scaler *kd_reload_scaler(const struct kd_reload *r)
{
    return r->scaler;
}

const struct kd_config *kd_reload_config(const struct kd_reload *r)
{
    return r->config;
}

void kd_reload_stats(const struct kd_reload *r, struct kd_scaler_stats *ret_stats)
{
    struct kd_scaler_stats stats;
    struct kd_list *node, *tmp;

    kd_scaler_stats(r->scaler, ret_stats);
    KD_LIST_FOR_EACH_SAFE(node, tmp, &r->retired) {
        kd_scaler_stats(KD_CONTAINER_OF(node, struct retired, link)->scaler, &stats);
        ret_stats->open_streams += stats.open_streams;
        ret_stats->open_calls += stats.open_calls;
    }
}

void kd_reload_drain(struct kd_reload *r)
{
    struct kd_list *node, *tmp;

    r->draining = true;
    watch_arm(r);
    kd_scaler_drain(r->scaler);
    /* A retired scaler's streams end too; it frees itself from the loop afterwards. */
    KD_LIST_FOR_EACH_SAFE(node, tmp, &r->retired)
        kd_scaler_drain(KD_CONTAINER_OF(node, struct retired, link)->scaler);
}

void kd_reload_destroy(struct kd_reload *r)
{
    struct kd_list *node;

    if (!r)
        return;
    if (r->watch)
        event_free(r->watch);
    while ((node = kd_list_pop_front(&r->retired))) {
        struct retired *old = KD_CONTAINER_OF(node, struct retired, link);
        kd_scaler_destroy(old->scaler);
        kd_config_free(old->config);
        free(old);
    }
    kd_scaler_destroy(r->scaler);
    kd_config_free(r->config);
    free(r);
}
