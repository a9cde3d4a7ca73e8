/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The I/O services lent to plugins: timers and fd watches on the daemon's libevent loop, so
 * no plugin links libevent (kedastral/plugin.h, struct kd_host). Each belongs to an instance;
 * its callback runs "inside" that instance (a destroy asked for meanwhile waits), and whatever
 * the plugin forgets to free is swept after its destroy().
 */
#include <errno.h>
#include <stdlib.h>

#include <event2/event.h>

#include "plugin/plugin_private.h"

struct kd_timer {
    struct kd_instance *inst;
    struct event *ev;
    kd_timer_fn *fn;
    void *arg;
    int64_t every_ms;
    struct kd_list link; /* in inst->timers */
};

struct kd_watch {
    struct kd_instance *inst;
    struct event *ev;
    int fd;
    kd_watch_fn *fn;
    void *arg;
    struct kd_list link; /* in inst->watches */
};

static struct timeval timeval_of(int64_t ms)
{
    return (struct timeval){.tv_sec = (time_t)(ms / 1000),
                            .tv_usec = (suseconds_t)(ms % 1000) * 1000};
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct kd_timer *t = arg;
    struct kd_instance *inst = t->inst;

    (void)fd;
    (void)what;
    if (t->every_ms > 0) {
        struct timeval tv = timeval_of(t->every_ms);
        evtimer_add(t->ev, &tv); /* first: the callback may stop or free the timer */
    }
    kd_instance_enter(inst);
    t->fn(t->arg); /* may free t */
    kd_instance_leave(inst);
}

int kd_host_timer_create(const struct kd_instance *inst, kd_timer_fn *fn, void *arg,
                         struct kd_timer **ret_timer)
{
    struct kd_instance *owner = (struct kd_instance *)inst;

    if (!owner || !fn || !ret_timer)
        return -EINVAL;
    if (!owner->base)
        return -ENOSYS;
    struct kd_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->ev = evtimer_new(owner->base, on_timer, t);
    if (!t->ev) {
        free(t);
        return -ENOMEM;
    }
    t->inst = owner;
    t->fn = fn;
    t->arg = arg;
    kd_list_push_back(&owner->timers, &t->link);
    *ret_timer = t;
    return 0;
}

int kd_host_timer_start(struct kd_timer *timer, int64_t after_ms, int64_t every_ms)
{
    if (!timer || after_ms < 0 || every_ms < 0)
        return -EINVAL;
    struct timeval tv = timeval_of(after_ms);
    if (evtimer_add(timer->ev, &tv) != 0)
        return -EIO;
    timer->every_ms = every_ms;
    return 0;
}

void kd_host_timer_stop(struct kd_timer *timer)
{
    if (!timer)
        return;
    evtimer_del(timer->ev);
    timer->every_ms = 0;
}

void kd_host_timer_free(struct kd_timer *timer)
{
    if (!timer)
        return;
    kd_list_remove(&timer->link);
    event_free(timer->ev);
    free(timer);
}

static void on_watch(evutil_socket_t fd, short what, void *arg)
{
    struct kd_watch *w = arg;
    struct kd_instance *inst = w->inst;
    uint32_t events = ((what & EV_READ) ? KD_IO_READ : 0u) | ((what & EV_WRITE) ? KD_IO_WRITE : 0u);

    kd_instance_enter(inst);
    w->fn((int)fd, events, w->arg); /* may free w */
    kd_instance_leave(inst);
}

int kd_host_watch_create(const struct kd_instance *inst, int fd, kd_watch_fn *fn, void *arg,
                         struct kd_watch **ret_watch)
{
    struct kd_instance *owner = (struct kd_instance *)inst;

    if (!owner || fd < 0 || !fn || !ret_watch)
        return -EINVAL;
    if (!owner->base)
        return -ENOSYS;
    struct kd_watch *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->ev = event_new(owner->base, fd, EV_PERSIST, on_watch, w);
    if (!w->ev) {
        free(w);
        return -ENOMEM;
    }
    w->inst = owner;
    w->fd = fd;
    w->fn = fn;
    w->arg = arg;
    kd_list_push_back(&owner->watches, &w->link);
    *ret_watch = w;
    return 0;
}

int kd_host_watch_set(struct kd_watch *watch, uint32_t events)
{
    if (!watch || (events & ~(uint32_t)(KD_IO_READ | KD_IO_WRITE)))
        return -EINVAL;
    event_del(watch->ev);
    if (!events)
        return 0;
    short what = (short)(EV_PERSIST | ((events & KD_IO_READ) ? EV_READ : 0) |
                         ((events & KD_IO_WRITE) ? EV_WRITE : 0));
    if (event_assign(watch->ev, watch->inst->base, watch->fd, what, on_watch, watch) != 0 ||
        event_add(watch->ev, NULL) != 0)
        return -EIO;
    return 0;
}

void kd_host_watch_free(struct kd_watch *watch)
{
    if (!watch)
        return;
    kd_list_remove(&watch->link);
    event_free(watch->ev);
    free(watch);
}

size_t kd_host_io_sweep(struct kd_instance *inst)
{
    struct kd_list *node;
    size_t n = 0;

    while ((node = kd_list_first(&inst->timers))) {
        kd_host_timer_free(KD_CONTAINER_OF(node, struct kd_timer, link));
        n++;
    }
    while ((node = kd_list_first(&inst->watches))) {
        kd_host_watch_free(KD_CONTAINER_OF(node, struct kd_watch, link));
        n++;
    }
    return n;
}
