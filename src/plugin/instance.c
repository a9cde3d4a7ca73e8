/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Instances: the only way into a plugin's callbacks. Every call goes through here so that the
 * promises of kedastral/plugin.h hold whatever the caller does: outstanding fetches are known
 * (destroy cancels them first), a destroy asked for from inside a call waits for it to return,
 * every forecast is copied into the host's layout and checked before anyone reads it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/plugin_host.h"
#include "plugin/plugin_options.h"
#include "plugin/plugin_private.h"
#include "util/errbuf.h"
#include "util/log.h"
#include "util/time.h"

static void instance_free(struct kd_instance *inst);

void kd_instance_enter(struct kd_instance *inst)
{
    inst->depth++;
}

void kd_instance_leave(struct kd_instance *inst)
{
    if (--inst->depth == 0 && inst->destroy_pending)
        instance_free(inst);
}

static int plugin_create(struct kd_instance *inst)
{
    const struct kd_plugin *p = inst->plugin;
    const struct kd_host *host = kd_plugin_host_services();
    int r;

    inst->is_creating = true;
    kd_instance_enter(inst);
    if (p->kind == KD_PLUGIN_SOURCE)
        r = p->source->create(host, inst, inst->config, &inst->state);
    else
        r = p->policy->create(host, inst, inst->config, &inst->state);
    inst->depth--; /* no destroy can be pending: the instance is not handed out yet */
    inst->is_creating = false;
    return r;
}

int kd_instance_create(struct kd_plugin_handle *handle, const char *name,
                       const struct kd_instance_args *args, struct kd_instance **ret_instance,
                       char *err, size_t err_len)
{
    static const struct kd_instance_args none = {0};
    const struct kd_plugin *p = kd_plugin_host_descriptor(handle);
    const char *kind = kd_plugin_kind_name(p->kind);
    char label[160];
    int r = -ENOMEM;

    if (!args)
        args = &none;
    snprintf(label, sizeof(label), "%s \"%s\" (%s)", kind, name, p->name);
    /* Messages are at the plugin's group, if it has a file (not the built-in configuration). */
    const char *file = args->group ? config_setting_source_file(args->group) : NULL;
    int line = file ? config_setting_source_line(args->group) : 0;

    struct kd_instance *inst = calloc(1, sizeof(*inst));
    if (!inst) {
        kd_errbuf_at(err, err_len, file, line, "%s: out of memory", label);
        return -ENOMEM;
    }
    kd_list_init(&inst->fetches);
    kd_list_init(&inst->timers);
    kd_list_init(&inst->watches);
    inst->name = strdup(name);
    if (!inst->name)
        goto fail_inst;
    inst->config = calloc(1, p->config_size ? p->config_size : 1);
    if (!inst->config)
        goto fail_name;
    snprintf(inst->log_prefix, sizeof(inst->log_prefix), "%s:%s", kind, name);
    inst->handle = handle;
    inst->plugin = p;
    inst->base = args->base;

    struct kd_error why;
    r = kd_plugin_options_apply(p->options, args->group, args->host_keys, args->settings, label,
                                inst->config, &why);
    if (r < 0) {
        /* option errors name the key's own line; the rest get the group's */
        kd_error_origin(&why, file, line);
        kd_error_format(&why, err, err_len);
        goto fail_config;
    }

    r = plugin_create(inst);
    if (r < 0) {
        kd_host_io_sweep(inst);
        if (inst->has_create_error)
            kd_errbuf_at(err, err_len, file, line, "%s: %s", label, inst->create_error);
        else
            kd_errbuf_at(err, err_len, file, line, "%s: create failed: %s", label, strerror(-r));
        goto fail_options;
    }
    if (inst->has_create_error) /* an error line, yet it started: say it after all */
        kd_log_prefixed(KD_LOG_ERROR, inst->log_prefix, "%s", inst->create_error);

    kd_plugin_handle_ref(handle);
    *ret_instance = inst;
    return 0;

fail_options:
    kd_plugin_options_release(p->options, inst->config);
fail_config:
    free(inst->config);
fail_name:
    free(inst->name);
fail_inst:
    free(inst);
    if (r == -ENOMEM && !(err && err[0]))
        kd_errbuf_at(err, err_len, file, line, "%s: out of memory", label);
    return r;
}

static void instance_free(struct kd_instance *inst)
{
    const struct kd_plugin *p = inst->plugin;
    struct kd_list *node;

    inst->depth++; /* cancel() and destroy() run "inside" the instance: nothing re-defers */
    while ((node = kd_list_pop_front(&inst->fetches))) {
        struct kd_fetch *fetch = KD_CONTAINER_OF(node, struct kd_fetch, link);
        fetch->instance = NULL;
        kd_log_prefixed(KD_LOG_WARN, inst->log_prefix,
                        "destroyed with a fetch outstanding; cancelling it");
        p->source->cancel(inst->state, fetch);
    }
    if (p->kind == KD_PLUGIN_SOURCE)
        p->source->destroy(inst->state);
    else
        p->policy->destroy(inst->state);
    size_t left = kd_host_io_sweep(inst);
    if (left)
        kd_log_prefixed(KD_LOG_WARN, inst->log_prefix,
                        "destroy() left %zu timer(s) or watch(es) behind; freed them", left);
    kd_plugin_options_release(p->options, inst->config);
    kd_plugin_host_close(inst->handle); /* may unload the code: nothing of p after this */
    free(inst->config);
    free(inst->name);
    free(inst);
}

void kd_instance_destroy(struct kd_instance *instance)
{
    if (!instance)
        return;
    if (instance->depth > 0) {
        instance->destroy_pending = true;
        return;
    }
    instance_free(instance);
}

const char *kd_instance_name(const struct kd_instance *instance)
{
    return instance->name;
}

const char *kd_instance_log_prefix(const struct kd_instance *instance)
{
    return instance->log_prefix;
}

const char *kd_instance_plugin_name(const struct kd_instance *instance)
{
    return instance->plugin->name;
}

/* ---- Fetches -------------------------------------------------------------------------------- */

bool kd_instance_fetch_outstanding(const struct kd_fetch *fetch)
{
    return fetch->instance && kd_list_linked(&fetch->link);
}

int kd_instance_fetch(struct kd_instance *instance, struct kd_fetch *fetch, const char *workload)
{
    struct kd_fetch *outer = instance->starting;
    bool outer_completed = instance->starting_completed;

    fetch->instance = instance;
    fetch->link = (struct kd_list){0};
    kd_list_push_back(&instance->fetches, &fetch->link);
    instance->starting = fetch;
    instance->starting_completed = false;

    kd_instance_enter(instance);
    int r = instance->plugin->source->fetch(instance->state, fetch, workload);
    bool completed = instance->starting_completed;
    instance->starting = outer;
    instance->starting_completed = outer_completed;
    if (r < 0 && completed) {
        kd_log_prefixed(KD_LOG_WARN, instance->log_prefix,
                        "fetch() completed the fetch, then returned %s; taken as started",
                        strerror(-r));
        r = 0;
    } else if (r < 0) {
        kd_list_remove(&fetch->link);
        fetch->instance = NULL;
    }
    kd_instance_leave(instance);
    return r;
}

void kd_instance_cancel(struct kd_instance *instance, struct kd_fetch *fetch)
{
    if (!kd_instance_fetch_outstanding(fetch) || fetch->instance != instance)
        return;
    kd_list_remove(&fetch->link);
    fetch->instance = NULL;
    kd_instance_enter(instance);
    instance->plugin->source->cancel(instance->state, fetch);
    kd_instance_leave(instance);
}

/* Marks `fetch` completed before its owner hears of it (the owner may reuse it at once). */
static bool complete(struct kd_fetch *fetch)
{
    struct kd_instance *inst = fetch ? fetch->instance : NULL;

    if (!inst || !kd_list_linked(&fetch->link)) {
        KD_ERROR("a plugin completed a fetch that is not outstanding (ignored)");
        return false;
    }
    kd_list_remove(&fetch->link);
    fetch->instance = NULL;
    if (inst->starting == fetch)
        inst->starting_completed = true;
    return true;
}

static void fail_with(struct kd_fetch *fetch, enum kd_fetch_error error, const char *message)
{
    if (error != KD_FETCH_NOT_FOUND)
        error = KD_FETCH_FAILED;
    fetch->on_fail(fetch, error, message);
}

/* A forecast in the host's layout, checked; -EINVAL with the reason. */
static int normalise_forecast(const struct kd_forecast *in, struct kd_forecast *out, char *why,
                              size_t why_len)
{
    if (!in) {
        snprintf(why, why_len, "the plugin completed the fetch without a forecast");
        return -EINVAL;
    }
    if (in->size < KD_FORECAST_SIZE_2_0) {
        snprintf(why, why_len,
                 "the plugin's forecast has size %u, less than ABI 2.0's %zu (KD_FORECAST_INIT "
                 "sets it)",
                 (unsigned)in->size, KD_FORECAST_SIZE_2_0);
        return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    memcpy(out, in, in->size < sizeof(*out) ? in->size : sizeof(*out));
    out->size = sizeof(*out);
    if ((out->n_values && !out->values) || (out->n_desired_replicas && !out->desired_replicas)) {
        snprintf(why, why_len, "the plugin's forecast counts %s it does not point to",
                 out->n_values && !out->values ? "values" : "desired replicas");
        return -EINVAL;
    }
    if (out->n_quantiles) {
        if (!out->quantile_levels || (out->n_values && !out->quantile_values)) {
            snprintf(why, why_len,
                     "the plugin's forecast counts %zu quantile series it does not "
                     "point to",
                     out->n_quantiles);
            return -EINVAL;
        }
        if (out->n_values && out->n_quantiles > SIZE_MAX / out->n_values) {
            snprintf(why, why_len, "the plugin's forecast has too many quantile values");
            return -EINVAL;
        }
        for (size_t q = 0; q < out->n_quantiles; q++) {
            double level = out->quantile_levels[q];
            if (!(level > 0.0 && level < 1.0) ||
                (q > 0 && !(level > out->quantile_levels[q - 1]))) {
                snprintf(why, why_len,
                         "the plugin's forecast has quantile level %g at %zu; levels must be in "
                         "(0, 1) and ascending",
                         level, q);
                return -EINVAL;
            }
        }
    }
    return 0;
}

static int host_fetch_done(struct kd_fetch *fetch, const struct kd_forecast *forecast)
{
    struct kd_forecast copy;
    char why[256];

    if (!complete(fetch))
        return -EINVAL;
    if (normalise_forecast(forecast, &copy, why, sizeof(why)) < 0) {
        fail_with(fetch, KD_FETCH_FAILED, why);
        return -EINVAL;
    }
    fetch->on_done(fetch, &copy);
    return 0;
}

static void host_fetch_fail(struct kd_fetch *fetch, enum kd_fetch_error error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void host_fetch_fail(struct kd_fetch *fetch, enum kd_fetch_error error, const char *fmt, ...)
{
    char message[512];
    va_list ap;

    if (!complete(fetch))
        return;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt ? fmt : "(no message)", ap);
    va_end(ap);
    fail_with(fetch, error, message);
}

/* ---- Policies ------------------------------------------------------------------------------- */

int64_t kd_instance_lookahead_ms(const struct kd_instance *instance)
{
    struct kd_instance *inst = (struct kd_instance *)instance; /* host-owned: depth only */

    kd_instance_enter(inst);
    int64_t ms = inst->plugin->policy->lookahead_ms(inst->state);
    kd_instance_leave(inst);
    return ms < 0 ? 0 : ms;
}

int kd_instance_decide(const struct kd_instance *policy, const struct kd_forecast *forecast,
                       int64_t now_ms, int64_t lead_time_ms, struct kd_policy_result *ret_result)
{
    struct kd_instance *instance = (struct kd_instance *)policy; /* host-owned: depth only */
    struct kd_forecast view = *forecast;

    view.size = sizeof(view); /* the host's own layout, whoever built it */
    if (lead_time_ms < 0)
        lead_time_ms = kd_instance_lookahead_ms(instance);
    struct kd_decide_args args = {
        .size = sizeof(args),
        .forecast = &view,
        .now_ms = now_ms,
        .lead_time_ms = lead_time_ms,
    };
    memset(ret_result, 0, sizeof(*ret_result));
    ret_result->size = sizeof(*ret_result);
    ret_result->window_first = -1;
    ret_result->window_last = -1;

    kd_instance_enter(instance);
    int r = instance->plugin->policy->decide(instance->state, &args, ret_result);
    kd_instance_leave(instance);

    ret_result->size = sizeof(*ret_result);
    ret_result->reason[sizeof(ret_result->reason) - 1] = '\0';
    int64_t n = (int64_t)forecast->n_desired_replicas;
    int64_t first = ret_result->window_first, last = ret_result->window_last;
    if (first < 0 || last < first || last >= n) {
        ret_result->window_first = -1;
        ret_result->window_last = -1;
    }
    return r;
}

/* ---- The services table --------------------------------------------------------------------- */

static void host_log(const struct kd_instance *inst, enum kd_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void host_log(const struct kd_instance *inst, enum kd_log_level level, const char *fmt, ...)
{
    /* the level indexes the logger's name table: never trust a plugin with that */
    if ((int)level < KD_LOG_ERROR)
        level = KD_LOG_ERROR;
    if (level > KD_LOG_DEBUG)
        level = KD_LOG_DEBUG;
    va_list ap;
    va_start(ap, fmt);
    struct kd_instance *mut = (struct kd_instance *)inst;
    if (mut && mut->is_creating && level == KD_LOG_ERROR && !mut->has_create_error) {
        /* create()'s first error goes into the caller's message, with the group's file:line */
        vsnprintf(mut->create_error, sizeof(mut->create_error), fmt, ap);
        mut->has_create_error = true;
    } else {
        kd_log_prefixedv(level, inst ? inst->log_prefix : NULL, fmt, ap);
    }
    va_end(ap);
}

static int64_t host_now_ms(const struct kd_instance *inst)
{
    (void)inst;
    return kd_time_now_ms();
}

static const struct kd_host host_services = {
    .size = sizeof(struct kd_host),
    .abi_minor = KD_PLUGIN_ABI_MINOR,
    .log = host_log,
    .now_ms = host_now_ms,
    .fetch_done = host_fetch_done,
    .fetch_fail = host_fetch_fail,
    .timer_create = kd_host_timer_create,
    .timer_start = kd_host_timer_start,
    .timer_stop = kd_host_timer_stop,
    .timer_free = kd_host_timer_free,
    .watch_create = kd_host_watch_create,
    .watch_set = kd_host_watch_set,
    .watch_free = kd_host_watch_free,
};

const struct kd_host *kd_plugin_host_services(void)
{
    return &host_services;
}
