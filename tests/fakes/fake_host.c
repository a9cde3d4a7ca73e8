/* SPDX-License-Identifier: Apache-2.0 */
/* The fake host behind tests/fakes/fake_host.h. */
#include "fake_host.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

/*
 * Plugins only ever hold these as opaque pointers, so the fake hands out its own structs cast
 * to the ABI's incomplete types and casts them back (C11 6.3.2.3p7).
 */
static struct kd_fake_host *fake_of(const struct kd_instance *inst)
{
    return (struct kd_fake_host *)(uintptr_t)(const void *)inst;
}

static struct kd_fake_fetch *fetch_of(struct kd_fetch *fetch)
{
    return (struct kd_fake_fetch *)(void *)fetch;
}

static const char *level_name(enum kd_log_level level)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};

    return (unsigned)level < 4 ? names[level] : "?";
}

KD_PRINTF(3, 4)
static void fake_log(const struct kd_instance *inst, enum kd_log_level level, const char *fmt, ...)
{
    struct kd_fake_host *fake = fake_of(inst);
    struct kd_fake_log line = {.level = level};
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line.text, sizeof(line.text), fmt, ap);
    va_end(ap);
    if (fake->is_echo)
        fprintf(stderr, "fake_host %s: %s\n", level_name(level), line.text);
    if (fake->n_logs < KD_FAKE_HOST_MAX_LOGS)
        fake->logs[fake->n_logs] = line;
    fake->n_logs++;
}

/* ---- Timers and watches on the test's libevent loop ------------------------------------- */

struct kd_timer {
    struct kd_fake_host *fake;
    struct event *ev;
    kd_timer_fn *fn;
    void *arg;
    int64_t every_ms;
};

struct kd_watch {
    struct kd_fake_host *fake;
    struct event *ev;
    int fd;
    kd_watch_fn *fn;
    void *arg;
};

static struct timeval timeval_of(int64_t ms)
{
    return (struct timeval){.tv_sec = (time_t)(ms / 1000),
                            .tv_usec = (suseconds_t)(ms % 1000) * 1000};
}

static void on_fake_timer(evutil_socket_t fd, short what, void *arg)
{
    struct kd_timer *t = arg;

    (void)fd;
    (void)what;
    if (t->every_ms > 0) {
        struct timeval tv = timeval_of(t->every_ms);
        evtimer_add(t->ev, &tv);
    }
    t->fn(t->arg);
}

static int fake_timer_create(const struct kd_instance *inst, kd_timer_fn *fn, void *arg,
                             struct kd_timer **ret_timer)
{
    struct kd_fake_host *fake = fake_of(inst);

    if (!fn)
        return -EINVAL;
    if (!fake->base)
        return -ENOSYS;
    struct kd_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->ev = evtimer_new(fake->base, on_fake_timer, t);
    if (!t->ev) {
        free(t);
        return -ENOMEM;
    }
    t->fake = fake;
    t->fn = fn;
    t->arg = arg;
    fake->n_timers++;
    *ret_timer = t;
    return 0;
}

static int fake_timer_start(struct kd_timer *timer, int64_t after_ms, int64_t every_ms)
{
    if (after_ms < 0 || every_ms < 0)
        return -EINVAL;
    struct timeval tv = timeval_of(after_ms);
    if (evtimer_add(timer->ev, &tv) != 0)
        return -EIO;
    timer->every_ms = every_ms;
    return 0;
}

static void fake_timer_stop(struct kd_timer *timer)
{
    evtimer_del(timer->ev);
    timer->every_ms = 0;
}

static void fake_timer_free(struct kd_timer *timer)
{
    if (!timer)
        return;
    timer->fake->n_timers--;
    event_free(timer->ev);
    free(timer);
}

static void on_fake_watch(evutil_socket_t fd, short what, void *arg)
{
    struct kd_watch *w = arg;

    w->fn((int)fd, ((what & EV_READ) ? KD_IO_READ : 0u) | ((what & EV_WRITE) ? KD_IO_WRITE : 0u),
          w->arg);
}

static int fake_watch_create(const struct kd_instance *inst, int fd, kd_watch_fn *fn, void *arg,
                             struct kd_watch **ret_watch)
{
    struct kd_fake_host *fake = fake_of(inst);

    if (fd < 0 || !fn)
        return -EINVAL;
    if (!fake->base)
        return -ENOSYS;
    struct kd_watch *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->ev = event_new(fake->base, fd, EV_PERSIST, on_fake_watch, w);
    if (!w->ev) {
        free(w);
        return -ENOMEM;
    }
    w->fake = fake;
    w->fd = fd;
    w->fn = fn;
    w->arg = arg;
    fake->n_watches++;
    *ret_watch = w;
    return 0;
}

static int fake_watch_set(struct kd_watch *watch, uint32_t events)
{
    if (events & ~(uint32_t)(KD_IO_READ | KD_IO_WRITE))
        return -EINVAL;
    event_del(watch->ev);
    if (!events)
        return 0;
    short what = (short)(EV_PERSIST | ((events & KD_IO_READ) ? EV_READ : 0) |
                         ((events & KD_IO_WRITE) ? EV_WRITE : 0));
    if (event_assign(watch->ev, watch->fake->base, watch->fd, what, on_fake_watch, watch) != 0 ||
        event_add(watch->ev, NULL) != 0)
        return -EIO;
    return 0;
}

static void fake_watch_free(struct kd_watch *watch)
{
    if (!watch)
        return;
    watch->fake->n_watches--;
    event_free(watch->ev);
    free(watch);
}

static int64_t fake_now_ms(const struct kd_instance *inst)
{
    return fake_of(inst)->now_ms;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The host owns nothing of the plugin's after this returns, so everything is copied. */
static int fake_fetch_done(struct kd_fetch *fetch, const struct kd_forecast *forecast)
{
    struct kd_fake_fetch *f = fetch_of(fetch);
    struct kd_forecast *copy = &f->forecast;
    f->n_done++;
    if (f->n_done + f->n_fail > 1)
        return f->done_rc;
    f->has_forecast = true;
    *copy = *forecast;
    copy->workload = dup_or_null(forecast->workload);
    copy->metric = dup_or_null(forecast->metric);
    copy->values = NULL;
    copy->desired_replicas = NULL;
    copy->quantile_levels = NULL;
    copy->quantile_values = NULL;
    if (forecast->n_quantiles) {
        double *l = malloc(forecast->n_quantiles * sizeof(*l));
        double *q = malloc(forecast->n_quantiles * forecast->n_values * sizeof(*q) + 1);
        if (l)
            memcpy(l, forecast->quantile_levels, forecast->n_quantiles * sizeof(*l));
        if (q && forecast->n_values)
            memcpy(q, forecast->quantile_values,
                   forecast->n_quantiles * forecast->n_values * sizeof(*q));
        copy->quantile_levels = l;
        copy->quantile_values = q;
    }
    if (forecast->n_values) {
        double *v = malloc(forecast->n_values * sizeof(*v));
        if (v)
            memcpy(v, forecast->values, forecast->n_values * sizeof(*v));
        copy->values = v;
    }
    if (forecast->n_desired_replicas) {
        int64_t *r = malloc(forecast->n_desired_replicas * sizeof(*r));
        if (r)
            memcpy(r, forecast->desired_replicas, forecast->n_desired_replicas * sizeof(*r));
        copy->desired_replicas = r;
    }
    return f->done_rc;
}

KD_PRINTF(3, 4)
static void fake_fetch_fail(struct kd_fetch *fetch, enum kd_fetch_error error, const char *fmt, ...)
{
    struct kd_fake_fetch *f = fetch_of(fetch);
    va_list ap;

    f->n_fail++;
    if (f->n_done + f->n_fail > 1)
        return;
    f->error = error;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof(f->message), fmt, ap);
    va_end(ap);
}

void kd_fake_host_init(struct kd_fake_host *fake, struct event_base *base, int64_t now_ms)
{
    memset(fake, 0, sizeof(*fake));
    fake->host = (struct kd_host){
        .size = sizeof(struct kd_host),
        .abi_minor = KD_PLUGIN_ABI_MINOR,
        .log = fake_log,
        .now_ms = fake_now_ms,
        .fetch_done = fake_fetch_done,
        .fetch_fail = fake_fetch_fail,
        .timer_create = fake_timer_create,
        .timer_start = fake_timer_start,
        .timer_stop = fake_timer_stop,
        .timer_free = fake_timer_free,
        .watch_create = fake_watch_create,
        .watch_set = fake_watch_set,
        .watch_free = fake_watch_free,
    };
    fake->base = base;
    fake->now_ms = now_ms;
    fake->is_echo = getenv("KD_FAKE_HOST_ECHO") != NULL;
}

const struct kd_instance *kd_fake_host_instance(struct kd_fake_host *fake)
{
    return (const struct kd_instance *)(void *)fake;
}

size_t kd_fake_host_count_logs(const struct kd_fake_host *fake, enum kd_log_level level,
                               const char *needle)
{
    size_t n = 0;
    size_t kept = fake->n_logs < KD_FAKE_HOST_MAX_LOGS ? fake->n_logs : KD_FAKE_HOST_MAX_LOGS;

    for (size_t i = 0; i < kept; i++)
        n += fake->logs[i].level == level && strstr(fake->logs[i].text, needle) != NULL;
    return n;
}

const struct kd_fake_log *kd_fake_host_find_log(const struct kd_fake_host *fake,
                                                enum kd_log_level level, const char *needle)
{
    size_t kept = fake->n_logs < KD_FAKE_HOST_MAX_LOGS ? fake->n_logs : KD_FAKE_HOST_MAX_LOGS;

    for (size_t i = 0; i < kept; i++) {
        if (fake->logs[i].level == level && strstr(fake->logs[i].text, needle))
            return &fake->logs[i];
    }
    return NULL;
}

void kd_fake_host_clear_logs(struct kd_fake_host *fake)
{
    fake->n_logs = 0;
}

struct kd_fetch *kd_fake_host_fetch(struct kd_fake_fetch *f)
{
    memset(f, 0, sizeof(*f));
    return (struct kd_fetch *)(void *)f;
}

void kd_fake_host_fetch_fini(struct kd_fake_fetch *f)
{
    if (f->has_forecast) {
        free((void *)(uintptr_t)f->forecast.workload);
        free((void *)(uintptr_t)f->forecast.metric);
        free((void *)(uintptr_t)f->forecast.values);
        free((void *)(uintptr_t)f->forecast.desired_replicas);
        free((void *)(uintptr_t)f->forecast.quantile_levels);
        free((void *)(uintptr_t)f->forecast.quantile_values);
    }
    memset(f, 0, sizeof(*f));
}

/* The i-th entry of the plugin's option table, walked with the plugin's own stride. */
static const struct kd_option *option_at(const struct kd_plugin *plugin, size_t i)
{
    return (const struct kd_option *)(const void *)((const char *)plugin->options +
                                                    i * plugin->option_size);
}

static const struct kd_option *find_option(const struct kd_plugin *plugin, const char *name)
{
    for (size_t i = 0; plugin->options && option_at(plugin, i)->name; i++) {
        if (strcmp(option_at(plugin, i)->name, name) == 0)
            return option_at(plugin, i);
    }
    return NULL;
}

static void *slot(const struct kd_plugin *plugin, void *config, const char *name, int *ret_type)
{
    const struct kd_option *o = find_option(plugin, name);

    if (!o)
        return NULL;
    *ret_type = (int)o->type;
    return (char *)config + o->offset;
}

int kd_fake_host_set_i64(const struct kd_plugin *plugin, void *config, const char *name,
                         int64_t value)
{
    int type = 0;
    void *p = slot(plugin, config, name, &type);

    if (!p)
        return -ENOENT;
    if (type != KD_OPTION_INT && type != KD_OPTION_DURATION && type != KD_OPTION_SIZE)
        return -EINVAL;
    memcpy(p, &value, sizeof(value));
    return 0;
}

int kd_fake_host_set_bool(const struct kd_plugin *plugin, void *config, const char *name,
                          bool value)
{
    int type = 0;
    void *p = slot(plugin, config, name, &type);

    if (!p)
        return -ENOENT;
    if (type != KD_OPTION_BOOL)
        return -EINVAL;
    memcpy(p, &value, sizeof(value));
    return 0;
}

int kd_fake_host_set_double(const struct kd_plugin *plugin, void *config, const char *name,
                            double value)
{
    int type = 0;
    void *p = slot(plugin, config, name, &type);

    if (!p)
        return -ENOENT;
    if (type != KD_OPTION_DOUBLE)
        return -EINVAL;
    memcpy(p, &value, sizeof(value));
    return 0;
}

int kd_fake_host_set_string(const struct kd_plugin *plugin, void *config, const char *name,
                            const char *value)
{
    int type = 0;
    void *p = slot(plugin, config, name, &type);

    if (!p)
        return -ENOENT;
    if (type != KD_OPTION_STRING)
        return -EINVAL;
    memcpy(p, &value, sizeof(value));
    return 0;
}

int kd_fake_host_set_list(const struct kd_plugin *plugin, void *config, const char *name,
                          const char *const *value)
{
    int type = 0;
    void *p = slot(plugin, config, name, &type);

    if (!p)
        return -ENOENT;
    if (type != KD_OPTION_LIST)
        return -EINVAL;
    memcpy(p, &value, sizeof(value));
    return 0;
}
