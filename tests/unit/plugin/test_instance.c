/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The instance door (src/plugin/instance.c, host_io.c) against an in-test plugin: the host's
 * timers and fd watches on a real loop, the lifetime rules of kedastral/plugin.h (destroy
 * deferred from inside a call, outstanding fetches cancelled first, leftovers swept), and the
 * checks on what a plugin hands back (forecast size, quantiles, decide's window).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "plugin/plugin_host.h"
#include "util/log.h"

/* ---- The plugin: every callback does what the current test scripted ---------------------- */

struct probe {
    const struct kd_host *host;
    const struct kd_instance *inst;
    struct kd_timer *timer;
    struct kd_watch *watch;
    int fires;          /* timer callbacks seen */
    int fire_limit;     /* at this many, the timer frees itself */
    int readable;       /* watch callbacks seen */
    int cancels;        /* cancel() calls */
    int destroys;       /* destroy() calls */
    bool leak;          /* destroy() leaves the timer and watch to the host */
    bool destroy_in_cb; /* the timer callback destroys its own instance */
    struct kd_instance *self;
    int fetch_mode; /* 0 pending, 1 complete then return -EIO, 2 small forecast, 3 bad quantiles */
    struct kd_fetch *pending;
    int64_t window_first, window_last;
};

static struct probe probe;

static int p_create(const struct kd_host *host, const struct kd_instance *inst, const void *config,
                    void **ret_state)
{
    (void)config;
    probe.host = host;
    probe.inst = inst;
    *ret_state = &probe;
    return 0;
}

static void on_timer(void *arg)
{
    struct probe *p = arg;

    p->fires++;
    if (p->destroy_in_cb) {
        kd_instance_destroy(p->self); /* deferred: we are inside the instance */
        assert_int_equal(p->destroys, 0);
        p->fires += 100; /* the state is still ours to touch */
        return;
    }
    if (p->fires == p->fire_limit) {
        p->host->timer_free(p->timer); /* allowed inside its own callback */
        p->timer = NULL;
    }
}

static void on_readable(int fd, uint32_t events, void *arg)
{
    struct probe *p = arg;
    char c;

    assert_true(events & KD_IO_READ);
    assert_int_equal(read(fd, &c, 1), 1);
    p->readable++;
}

static int p_fetch(void *state, struct kd_fetch *fetch, const char *workload)
{
    struct probe *p = state;
    static const int64_t replicas[] = {1, 2};
    static const double values[] = {10, 20};
    static const double bad_levels[] = {0.9, 0.5};

    (void)workload;
    switch (p->fetch_mode) {
    case 1: {
        struct kd_forecast f = {KD_FORECAST_INIT, .n_desired_replicas = 2,
                                .desired_replicas = replicas};
        assert_int_equal(p->host->fetch_done(fetch, &f), 0);
        return -EIO;
    }
    case 2: {
        struct kd_forecast f = {.size = 16, .n_desired_replicas = 2, .desired_replicas = replicas};
        assert_int_equal(p->host->fetch_done(fetch, &f), -EINVAL);
        return 0;
    }
    case 3: {
        struct kd_forecast f = {KD_FORECAST_INIT,
                                .n_values = 2,
                                .values = values,
                                .n_quantiles = 2,
                                .quantile_levels = bad_levels,
                                .quantile_values = values};
        assert_int_equal(p->host->fetch_done(fetch, &f), -EINVAL);
        return 0;
    }
    }
    p->pending = fetch;
    return 0;
}

static void p_cancel(void *state, struct kd_fetch *fetch)
{
    struct probe *p = state;

    assert_ptr_equal(fetch, p->pending);
    p->pending = NULL;
    p->cancels++;
}

static void p_destroy(void *state)
{
    struct probe *p = state;

    assert_null(p->pending); /* rule 7: cancelled before destroy */
    p->destroys++;
    if (!p->leak) {
        p->host->timer_free(p->timer);
        p->host->watch_free(p->watch);
    }
}

static int p_decide(void *state, const struct kd_decide_args *args,
                    struct kd_policy_result *ret_result)
{
    struct probe *p = state;

    assert_true(KD_HAS_FIELD(args, struct kd_decide_args, lead_time_ms));
    assert_int_equal(args->forecast->size, sizeof(struct kd_forecast));
    assert_int_equal(ret_result->window_first, -1); /* the host's defaults */
    ret_result->value = (double)args->lead_time_ms;
    ret_result->window_first = p->window_first;
    ret_result->window_last = p->window_last;
    memset(ret_result->reason, 'x', sizeof(ret_result->reason)); /* no NUL: the host adds one */
    return 0;
}

static int64_t p_lookahead(const void *state)
{
    (void)state;
    return -5; /* nonsense: the host clamps it */
}

static const struct kd_source_ops source_ops = {
    .size = sizeof(struct kd_source_ops),
    .create = p_create,
    .fetch = p_fetch,
    .cancel = p_cancel,
    .destroy = p_destroy,
};

static const struct kd_policy_ops policy_ops = {
    .size = sizeof(struct kd_policy_ops),
    .create = p_create,
    .decide = p_decide,
    .lookahead_ms = p_lookahead,
    .destroy = p_destroy,
};

static const struct kd_plugin source_plugin = {
    KD_PLUGIN_ABI,  .kind = KD_PLUGIN_SOURCE, .name = "probe",
    .version = "0", .description = "probe",   .source = &source_ops,
};

static const struct kd_plugin policy_plugin = {
    KD_PLUGIN_ABI,  .kind = KD_PLUGIN_POLICY, .name = "probe",
    .version = "0", .description = "probe",   .policy = &policy_ops,
};

/* ---- Host side ---------------------------------------------------------------------------- */

struct fixture {
    struct event_base *base;
    struct kd_instance *inst;
};

static struct kd_instance *make(struct fixture *f, const struct kd_plugin *plugin)
{
    struct kd_plugin_handle *h = NULL;
    struct kd_instance *inst = NULL;
    char err[256];
    const struct kd_instance_args args = {.base = f->base};

    assert_int_equal(kd_plugin_host_open_builtin(plugin, "test", &h, err, sizeof(err)), 0);
    assert_int_equal(kd_instance_create(h, "probe", &args, &inst, err, sizeof(err)), 0);
    kd_plugin_host_close(h);
    probe.self = inst;
    return inst;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    memset(&probe, 0, sizeof(probe));
    f->base = event_base_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    kd_instance_destroy(f->inst);
    /* nothing of any instance is left on the loop */
    assert_int_equal(event_base_loop(f->base, EVLOOP_NONBLOCK), 1);
    event_base_free(f->base);
    free(f);
    return 0;
}

static void run_until(struct fixture *f, const int *counter, int at_least)
{
    for (int i = 0; i < 1000 && *counter < at_least; i++)
        event_base_loop(f->base, EVLOOP_ONCE);
    assert_true(*counter >= at_least);
}

static void test_timer_repeats_and_frees_itself(void **state)
{
    struct fixture *f = *state;

    f->inst = make(f, &source_plugin);
    assert_int_equal(probe.host->timer_create(probe.inst, on_timer, &probe, &probe.timer), 0);
    assert_int_equal(probe.host->timer_start(probe.timer, -1, 0), -EINVAL);
    assert_int_equal(probe.host->timer_start(probe.timer, 0, 1), 0);
    probe.fire_limit = 3;
    run_until(f, &probe.fires, 3);
    assert_null(probe.timer);
    assert_int_equal(event_base_loop(f->base, EVLOOP_NONBLOCK), 1); /* gone from the loop */
    assert_int_equal(probe.fires, 3);

    /* a stopped timer does not fire */
    assert_int_equal(probe.host->timer_create(probe.inst, on_timer, &probe, &probe.timer), 0);
    assert_int_equal(probe.host->timer_start(probe.timer, 0, 0), 0);
    probe.host->timer_stop(probe.timer);
    assert_int_equal(event_base_loop(f->base, EVLOOP_NONBLOCK), 1);
    assert_int_equal(probe.fires, 3);
}

static void test_watch_level_triggered(void **state)
{
    struct fixture *f = *state;
    int fds[2];

    assert_int_equal(pipe(fds), 0);
    f->inst = make(f, &source_plugin);
    assert_int_equal(probe.host->watch_create(probe.inst, -1, on_readable, &probe, &probe.watch),
                     -EINVAL);
    assert_int_equal(
        probe.host->watch_create(probe.inst, fds[0], on_readable, &probe, &probe.watch), 0);
    assert_int_equal(probe.host->watch_set(probe.watch, 1u << 7), -EINVAL);
    assert_int_equal(probe.host->watch_set(probe.watch, KD_IO_READ), 0);
    assert_int_equal(write(fds[1], "ab", 2), 2);
    run_until(f, &probe.readable, 2); /* one byte per call: level-triggered */
    assert_int_equal(probe.host->watch_set(probe.watch, 0), 0);
    assert_int_equal(write(fds[1], "c", 1), 1);
    assert_int_equal(event_base_loop(f->base, EVLOOP_NONBLOCK), 1); /* not watched */
    assert_int_equal(probe.readable, 2);
    kd_instance_destroy(f->inst); /* frees the watch before we close the fd */
    f->inst = NULL;
    close(fds[0]);
    close(fds[1]);
}

static void test_leftovers_swept(void **state)
{
    struct fixture *f = *state;
    int fds[2];

    assert_int_equal(pipe(fds), 0);
    f->inst = make(f, &source_plugin);
    assert_int_equal(probe.host->timer_create(probe.inst, on_timer, &probe, &probe.timer), 0);
    assert_int_equal(probe.host->timer_start(probe.timer, 60000, 0), 0);
    assert_int_equal(
        probe.host->watch_create(probe.inst, fds[0], on_readable, &probe, &probe.watch), 0);
    assert_int_equal(probe.host->watch_set(probe.watch, KD_IO_READ), 0);
    probe.leak = true;
    kd_instance_destroy(f->inst); /* warns, frees both: teardown checks the loop is empty */
    f->inst = NULL;
    assert_int_equal(probe.destroys, 1);
    close(fds[0]);
    close(fds[1]);
}

static void test_destroy_inside_callback_is_deferred(void **state)
{
    struct fixture *f = *state;

    f->inst = make(f, &source_plugin);
    assert_int_equal(probe.host->timer_create(probe.inst, on_timer, &probe, &probe.timer), 0);
    assert_int_equal(probe.host->timer_start(probe.timer, 0, 0), 0);
    probe.destroy_in_cb = true;
    run_until(f, &probe.destroys, 1);
    assert_int_equal(probe.fires, 101); /* the callback finished before destroy() ran */
    f->inst = NULL;
}

struct owner {
    struct kd_fetch fetch;
    int done, failed;
    char message[256];
};

static void on_done(struct kd_fetch *fetch, const struct kd_forecast *forecast)
{
    struct owner *o = (struct owner *)fetch;

    assert_int_equal(forecast->size, sizeof(struct kd_forecast));
    o->done++;
}

static void on_fail(struct kd_fetch *fetch, enum kd_fetch_error error, const char *message)
{
    struct owner *o = (struct owner *)fetch;

    (void)error;
    o->failed++;
    snprintf(o->message, sizeof(o->message), "%s", message);
}

static void test_destroy_cancels_outstanding(void **state)
{
    struct fixture *f = *state;
    struct owner o = {.fetch = {.on_done = on_done, .on_fail = on_fail}};

    f->inst = make(f, &source_plugin);
    assert_int_equal(kd_instance_fetch(f->inst, &o.fetch, "w"), 0);
    assert_true(kd_instance_fetch_outstanding(&o.fetch));
    kd_instance_destroy(f->inst); /* warns: the owner should have cancelled */
    f->inst = NULL;
    assert_int_equal(probe.cancels, 1);
    assert_int_equal(probe.destroys, 1);
    assert_int_equal(o.done + o.failed, 0);
}

static void test_cancel_then_nothing(void **state)
{
    struct fixture *f = *state;
    struct owner o = {.fetch = {.on_done = on_done, .on_fail = on_fail}};

    f->inst = make(f, &source_plugin);
    assert_int_equal(kd_instance_fetch(f->inst, &o.fetch, "w"), 0);
    kd_instance_cancel(f->inst, &o.fetch);
    assert_false(kd_instance_fetch_outstanding(&o.fetch));
    assert_int_equal(probe.cancels, 1);
    kd_instance_cancel(f->inst, &o.fetch); /* not outstanding: ignored */
    assert_int_equal(probe.cancels, 1);
}

static void test_forecast_checks(void **state)
{
    struct fixture *f = *state;
    struct owner o = {.fetch = {.on_done = on_done, .on_fail = on_fail}};

    f->inst = make(f, &source_plugin);
    /* completed, then an error: taken as started, delivered once */
    probe.fetch_mode = 1;
    assert_int_equal(kd_instance_fetch(f->inst, &o.fetch, "w"), 0);
    assert_int_equal(o.done, 1);
    assert_false(kd_instance_fetch_outstanding(&o.fetch));

    probe.fetch_mode = 2;
    assert_int_equal(kd_instance_fetch(f->inst, &o.fetch, "w"), 0);
    assert_int_equal(o.failed, 1);
    assert_string_equal(o.message, "the plugin's forecast has size 16, less than ABI 2.0's 104 "
                                   "(KD_FORECAST_INIT sets it)");

    probe.fetch_mode = 3;
    assert_int_equal(kd_instance_fetch(f->inst, &o.fetch, "w"), 0);
    assert_int_equal(o.failed, 2);
    assert_string_equal(o.message, "the plugin's forecast has quantile level 0.5 at 1; levels "
                                   "must be in (0, 1) and ascending");
}

static void test_decide_through_host(void **state)
{
    struct fixture *f = *state;
    static const int64_t replicas[] = {1, 2, 3};
    const struct kd_forecast forecast = {.n_desired_replicas = 3, .desired_replicas = replicas};
    struct kd_policy_result r;

    f->inst = make(f, &policy_plugin);
    assert_int_equal(kd_instance_lookahead_ms(f->inst), 0); /* -5 clamped */
    probe.window_first = 1;
    probe.window_last = 2;
    assert_int_equal(kd_instance_decide(f->inst, &forecast, 0, 7000, &r), 0);
    assert_true(r.value == 7000.0);
    assert_int_equal(r.window_first, 1);
    assert_int_equal(r.window_last, 2);
    assert_int_equal(strlen(r.reason), sizeof(r.reason) - 1);
    /* lead_time_ms < 0: the policy's own */
    assert_int_equal(kd_instance_decide(f->inst, &forecast, 0, -1, &r), 0);
    assert_true(r.value == 0.0);
    /* a window outside the series is reported as none */
    probe.window_last = 3;
    assert_int_equal(kd_instance_decide(f->inst, &forecast, 0, 0, &r), 0);
    assert_int_equal(r.window_first, -1);
    assert_int_equal(r.window_last, -1);
}

int main(void)
{
    kd_log_setup(KD_LOG_ERROR, KD_LOG_TEXT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_timer_repeats_and_frees_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_level_triggered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leftovers_swept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_inside_callback_is_deferred, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_cancels_outstanding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_then_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forecast_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decide_through_host, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
