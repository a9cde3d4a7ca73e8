/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scaler.c glue: kd_scaler_create from a real config file with test plugins (fixtures/), and
 * the ExternalScaler handlers driven through a fake transport linked in place of grpc_server.c
 * (the real transport is tested on its own and end to end by the integration tests). Covers
 * cold waits, timeouts, cancellation, StreamIsActive edges and drain, with the transport
 * closing calls both later and from inside kd_grpc_call_finish(), and what a reload carries
 * from one scaler to the next (kd_scaler_adopt).
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

#include "config/config.h"
#include "externalscaler.pb-c.h"
#include "grpc/grpc_server.h"
#include "scaler/scaler.h"
#include "util/log.h"
#include "util/time.h"

#define HANG_GUARD_MS 10000

/* ---- fake transport ----------------------------------------------------------------------- */

struct kd_grpc_call {
    const struct kd_grpc_method *method;
    void *user;
    bool started, finished, closed;
    enum kd_grpc_status status;
    char message[512];
    int n_sent;
    uint8_t sent[4][64];
    size_t sent_len[4];
};

static const struct kd_grpc_method *registered;
static size_t n_registered;
static bool close_on_finish;

static void close_call(struct kd_grpc_call *call)
{
    if (call->closed || !call->started)
        return;
    call->closed = true;
    if (call->method->on_close)
        call->method->on_close(call, call->method->arg);
}

int kd_grpc_call_send(struct kd_grpc_call *call, const uint8_t *msg, size_t len)
{
    if (call->finished)
        return -EPIPE;
    assert_true(call->n_sent < 4 && len <= 64);
    memcpy(call->sent[call->n_sent], msg, len);
    call->sent_len[call->n_sent++] = len;
    return 0;
}

int kd_grpc_call_finish(struct kd_grpc_call *call, enum kd_grpc_status status, const char *message)
{
    if (call->finished)
        return -EALREADY;
    call->finished = true;
    call->status = status;
    snprintf(call->message, sizeof(call->message), "%s", message ? message : "");
    if (close_on_finish)
        close_call(call);
    return 0;
}

void kd_grpc_call_set_user(struct kd_grpc_call *call, void *user)
{
    call->user = user;
}

void *kd_grpc_call_user(const struct kd_grpc_call *call)
{
    return call->user;
}

int kd_grpc_server_register(struct kd_grpc_server *server, const struct kd_grpc_method *methods,
                            size_t n)
{
    (void)server;
    registered = methods;
    n_registered = n;
    return 0;
}

/* ---- fixture ------------------------------------------------------------------------------ */

struct fixture {
    char dir[64];
    char path[128];
    struct event_base *base;
    struct kd_config *config;
    struct kd_scaler *scaler;
};

static const char config_text[] =
    "plugin_dir = \"" KD_SCALER_FIXTURE_DIR "\";\n"
    "sources = ( { name = \"s\"; plugin = \"scripted\"; timeout = \"30ms\"; replicas = 4; } );\n"
    "policies = ( { name = \"p\"; plugin = \"first\"; lead_time = \"5m\"; } );\n"
    "workloads = (\n"
    "  { match = \"fb-*\"; source = \"s\"; policy = \"p\"; fallback_replicas = 9; },\n"
    "  { match = \"w-*\"; source = \"s\"; policy = \"p\"; }\n"
    ");\n";

static int write_config(struct fixture *f, const char *text)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/kd-test-scaler-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/scaler.conf", f->dir);
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    return 0;
}

static void remove_config(struct fixture *f)
{
    unlink(f->path);
    rmdir(f->dir);
}

static int setup_with(void **state, bool sync_close)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct kd_config_overrides ov = {0};
    char err[512];

    close_on_finish = sync_close;
    write_config(f, config_text);
    f->base = event_base_new();
    int r = kd_config_load(f->path, &ov, NULL, &f->config, err, sizeof(err));
    if (r < 0)
        fail_msg("config: %s", err);
    r = kd_scaler_create(f->config, f->base, &f->scaler, err, sizeof(err));
    if (r < 0)
        fail_msg("scaler: %s", err);
    assert_int_equal(kd_scaler_register(f->scaler, (struct kd_grpc_server *)f), 0);
    assert_int_equal(n_registered, 4);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, false);
}

static int setup_sync_close(void **state)
{
    return setup_with(state, true);
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    kd_scaler_destroy(f->scaler);
    kd_config_free(f->config);
    event_base_free(f->base);
    remove_config(f);
    free(f);
    return 0;
}

static const struct kd_grpc_method *method(const char *name)
{
    char path[128];

    snprintf(path, sizeof(path), "/externalscaler.ExternalScaler/%s", name);
    for (size_t i = 0; i < n_registered; i++) {
        if (strcmp(registered[i].path, path) == 0)
            return &registered[i];
    }
    return NULL;
}

static size_t pack_ref(uint8_t *buf, const char *name)
{
    Externalscaler__ScaledObjectRef ref = EXTERNALSCALER__SCALED_OBJECT_REF__INIT;

    ref.name = (char *)name;
    ref.namespace_ = "default";
    return externalscaler__scaled_object_ref__pack(&ref, buf);
}

static size_t pack_metrics(uint8_t *buf, const char *name, const char *metric)
{
    Externalscaler__GetMetricsRequest mr = EXTERNALSCALER__GET_METRICS_REQUEST__INIT;
    Externalscaler__ScaledObjectRef ref = EXTERNALSCALER__SCALED_OBJECT_REF__INIT;

    ref.name = (char *)name;
    mr.scaledobjectref = &ref;
    mr.metricname = (char *)metric;
    return externalscaler__get_metrics_request__pack(&mr, buf);
}

static void start(struct kd_grpc_call *call, const char *name, const uint8_t *msg, size_t len)
{
    call->method = method(name);
    assert_non_null(call->method);
    call->started = true;
    call->method->on_message(call, msg, len, call->method->arg);
}

static void get_metrics(struct kd_grpc_call *call, const char *workload)
{
    uint8_t buf[256];
    start(call, "GetMetrics", buf, pack_metrics(buf, workload, ""));
}

static void is_active(struct kd_grpc_call *call, const char *name, const char *workload)
{
    uint8_t buf[256];
    start(call, name, buf, pack_ref(buf, workload));
}

static void run_until_finished(struct fixture *f, struct kd_grpc_call *call)
{
    int64_t give_up = kd_time_mono_ms() + HANG_GUARD_MS;
    struct timeval tick = {0, 2000};

    while (!call->finished) {
        assert_true(kd_time_mono_ms() < give_up);
        event_base_loopexit(f->base, &tick);
        event_base_dispatch(f->base);
    }
}

static void run_for_a_moment(struct fixture *f, int ms)
{
    struct timeval tv = {0, ms * 1000};
    event_base_loopexit(f->base, &tv);
    event_base_dispatch(f->base);
}

static int64_t metric_value(const struct kd_grpc_call *call, const char *expect_name)
{
    assert_int_equal(call->status, KD_GRPC_OK);
    assert_int_equal(call->n_sent, 1);
    Externalscaler__GetMetricsResponse *r =
        externalscaler__get_metrics_response__unpack(NULL, call->sent_len[0], call->sent[0]);
    assert_non_null(r);
    assert_int_equal(r->n_metricvalues, 1);
    assert_string_equal(r->metricvalues[0]->metricname, expect_name);
    int64_t v = r->metricvalues[0]->metricvalue;
    assert_true(r->metricvalues[0]->metricvaluefloat == (double)v);
    externalscaler__get_metrics_response__free_unpacked(r, NULL);
    return v;
}

static bool active_answer(const struct kd_grpc_call *call)
{
    assert_int_equal(call->status, KD_GRPC_OK);
    assert_int_equal(call->n_sent, 1);
    Externalscaler__IsActiveResponse *r =
        externalscaler__is_active_response__unpack(NULL, call->sent_len[0], call->sent[0]);
    assert_non_null(r);
    bool v = r->result;
    externalscaler__is_active_response__free_unpacked(r, NULL);
    return v;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_create_errors(void **state)
{
    struct fixture f = {0};
    struct kd_config_overrides ov = {0};
    struct kd_config *config;
    struct kd_scaler *scaler = NULL;
    char err[512];

    (void)state;
    write_config(&f, "plugin_dir = \"" KD_SCALER_FIXTURE_DIR "\";\n"
                     "sources = ( { name = \"s\"; plugin = \"nosuch\"; } );\n"
                     "policies = ( { name = \"p\"; plugin = \"first\"; } );\n"
                     "workloads = ( { match = \"*\"; source = \"s\"; policy = \"p\"; } );\n");
    struct event_base *base = event_base_new();
    assert_int_equal(kd_config_load(f.path, &ov, NULL, &config, err, sizeof(err)), 0);
    assert_true(kd_scaler_create(config, base, &scaler, err, sizeof(err)) < 0);
    assert_null(scaler);
    assert_non_null(strstr(err, "source-nosuch.so"));
    assert_null(strchr(err, '\n'));
    kd_config_free(config);
    remove_config(&f);

    write_config(&f, "plugin_dir = \"" KD_SCALER_FIXTURE_DIR "\";\n"
                     "sources = ( { name = \"s\"; plugin = \"scripted\"; replicas = \"x\"; } );\n"
                     "policies = ( { name = \"p\"; plugin = \"first\"; } );\n"
                     "workloads = ( { match = \"*\"; source = \"s\"; policy = \"p\"; } );\n");
    assert_int_equal(kd_config_load(f.path, &ov, NULL, &config, err, sizeof(err)), 0);
    assert_true(kd_scaler_create(config, base, &scaler, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "replicas"));
    kd_config_free(config);
    remove_config(&f);
    event_base_free(base);
}

static void test_metric_spec_needs_no_route(void **state)
{
    struct kd_grpc_call call = {0};
    uint8_t buf[64];

    (void)state;
    start(&call, "GetMetricSpec", buf, pack_ref(buf, "nomatch"));
    assert_true(call.finished);
    assert_int_equal(call.status, KD_GRPC_OK);
    Externalscaler__GetMetricSpecResponse *r =
        externalscaler__get_metric_spec_response__unpack(NULL, call.sent_len[0], call.sent[0]);
    assert_non_null(r);
    assert_int_equal(r->n_metricspecs, 1);
    assert_string_equal(r->metricspecs[0]->metricname, "kedastral-nomatch-desired-replicas");
    assert_int_equal(r->metricspecs[0]->targetsize, 1);
    externalscaler__get_metric_spec_response__free_unpacked(r, NULL);
    close_call(&call);
}

static void test_get_metrics_sync_and_async(void **state)
{
    struct fixture *f = *state;
    struct kd_grpc_call a = {0}, b = {0}, c = {0}, d = {0};

    get_metrics(&a, "w-sync");
    assert_true(a.finished); /* the source completed inside fetch() */
    assert_int_equal(metric_value(&a, "kedastral-w-sync-desired-replicas"), 4);
    close_call(&a);

    get_metrics(&b, "w-async");
    is_active(&c, "IsActive", "w-async");
    assert_false(b.finished);
    assert_false(c.finished);
    run_until_finished(f, &b);
    run_until_finished(f, &c);
    assert_int_equal(metric_value(&b, "kedastral-w-async-desired-replicas"), 4);
    assert_true(active_answer(&c));
    close_call(&b);
    close_call(&c);

    get_metrics(&d, "w-async"); /* warm: answered at once */
    assert_true(d.finished);
    close_call(&d);
}

static void test_get_metrics_errors(void **state)
{
    struct fixture *f = *state;
    struct kd_grpc_call a = {0}, b = {0}, c = {0}, d = {0}, e = {0}, g = {0}, h = {0}, i = {0};
    static const uint8_t junk[] = {0xff, 0xff};

    get_metrics(&a, "nomatch");
    assert_int_equal(a.status, KD_GRPC_NOT_FOUND);
    assert_string_equal(a.message, "no workload route matches \"nomatch\"; routes: fb-*, w-*");
    is_active(&b, "IsActive", "nomatch");
    assert_int_equal(b.status, KD_GRPC_NOT_FOUND);

    get_metrics(&c, "w-fail");
    assert_int_equal(c.status, KD_GRPC_UNAVAILABLE);
    assert_string_equal(c.message, "no forecast for w-fail yet: scripted failure for w-fail");
    is_active(&d, "IsActive", "w-fail");
    /* a dead source is an error, never "inactive": KEDA must not scale to zero for it */
    assert_int_equal(d.status, KD_GRPC_UNAVAILABLE);
    assert_string_equal(d.message, "no forecast for w-fail yet: scripted failure for w-fail");

    get_metrics(&e, "w-missing");
    assert_int_equal(e.status, KD_GRPC_NOT_FOUND);
    assert_string_equal(e.message, "no forecast for w-missing: unknown workload \"w-missing\"");

    get_metrics(&g, "w-never");
    assert_false(g.finished);
    run_until_finished(f, &g);
    assert_int_equal(g.status, KD_GRPC_UNAVAILABLE);
    assert_string_equal(g.message, "no forecast for w-never yet: timed out after 30 ms");

    start(&h, "GetMetrics", junk, sizeof(junk));
    assert_int_equal(h.status, KD_GRPC_INVALID_ARGUMENT);
    assert_string_equal(h.message, "malformed GetMetricsRequest");
    start(&i, "IsActive", junk, sizeof(junk));
    assert_int_equal(i.status, KD_GRPC_INVALID_ARGUMENT);
    assert_string_equal(i.message, "malformed ScaledObjectRef");

    struct kd_grpc_call *all[] = {&a, &b, &c, &d, &e, &g, &h, &i};
    for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
        close_call(all[k]);
}

static void test_stale_and_fallback(void **state)
{
    struct kd_grpc_call a = {0}, b = {0}, c = {0};
    uint8_t buf[256];

    (void)state;
    get_metrics(&a, "w-old");
    assert_int_equal(a.status, KD_GRPC_UNAVAILABLE);
    assert_non_null(strstr(a.message, "forecast for w-old is stale"));
    is_active(&b, "IsActive", "w-old");
    assert_int_equal(b.status, KD_GRPC_UNAVAILABLE);
    assert_non_null(strstr(b.message, "forecast for w-old is stale"));
    start(&c, "GetMetrics", buf, pack_metrics(buf, "fb-old", "custom"));
    assert_int_equal(metric_value(&c, "custom"), 9);
    close_call(&a);
    close_call(&b);
    close_call(&c);
}

static void test_cancelled_waiter(void **state)
{
    struct fixture *f = *state;
    struct kd_grpc_call a = {0}, b = {0};

    get_metrics(&a, "w-never-2");
    get_metrics(&b, "w-never-2");
    assert_false(a.finished);
    close_call(&a); /* client RST_STREAM: the transport closes without finishing */
    run_until_finished(f, &b);
    assert_false(a.finished);
    assert_int_equal(b.status, KD_GRPC_UNAVAILABLE);
    close_call(&b);
}

static void test_stream_is_active(void **state)
{
    struct fixture *f = *state;
    struct kd_grpc_call a = {0}, b = {0}, c = {0}, d = {0};

    is_active(&a, "StreamIsActive", "w-sync");
    assert_false(a.finished);
    assert_int_equal(a.n_sent, 1); /* active now: first message true */
    assert_int_equal(a.sent_len[0], 2);
    assert_memory_equal(a.sent[0], "\x08\x01", 2);

    is_active(&b, "StreamIsActive", "w-async-s");
    assert_int_equal(b.n_sent, 0);
    while (b.n_sent == 0)
        run_for_a_moment(f, 2);
    assert_int_equal(b.n_sent, 1);
    assert_memory_equal(b.sent[0], "\x08\x01", 2);

    is_active(&c, "StreamIsActive", "w-old");
    assert_int_equal(c.n_sent, 0); /* inactive: nothing sent */
    is_active(&d, "StreamIsActive", "nomatch");
    assert_true(d.finished);
    assert_int_equal(d.status, KD_GRPC_NOT_FOUND);
    close_call(&d);

    run_for_a_moment(f, 5);
    assert_int_equal(a.n_sent, 1); /* no repeated true */
    assert_int_equal(b.n_sent, 1);

    close_call(&c); /* client cancel frees the subscription */
    kd_scaler_drain(f->scaler);
    assert_true(a.finished && b.finished);
    assert_int_equal(a.status, KD_GRPC_OK);
    assert_int_equal(b.status, KD_GRPC_OK);
    close_call(&a);
    close_call(&b);
}

static void test_drain_fails_waiters(void **state)
{
    struct fixture *f = *state;
    struct kd_grpc_call a = {0}, b = {0};

    get_metrics(&a, "w-never-3");
    assert_false(a.finished);
    kd_scaler_drain(f->scaler);
    assert_true(a.finished);
    assert_int_equal(a.status, KD_GRPC_UNAVAILABLE);
    assert_string_equal(a.message, "shutting down");
    close_call(&a);
    get_metrics(&b, "w-sync");
    assert_int_equal(b.status, KD_GRPC_UNAVAILABLE);
    close_call(&b);
}

/* A reload's next configuration, written over the fixture's file (same base_dir). */
static struct kd_scaler *next_scaler(struct fixture *f, const char *text,
                                     struct kd_config **ret_config)
{
    struct kd_config_overrides ov = {0};
    struct kd_scaler *scaler;
    char err[512];
    FILE *fp = fopen(f->path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    if (kd_config_load(f->path, &ov, NULL, ret_config, err, sizeof(err)) < 0)
        fail_msg("config: %s", err);
    if (kd_scaler_create(*ret_config, f->base, &scaler, err, sizeof(err)) < 0)
        fail_msg("scaler: %s", err);
    assert_int_equal(kd_scaler_register(scaler, (struct kd_grpc_server *)f), 0);
    return scaler;
}

static const char config_new_policy[] =
    "plugin_dir = \"" KD_SCALER_FIXTURE_DIR "\";\n"
    "sources = ( { replicas = 4; timeout = \"30ms\"; plugin = \"scripted\"; name = \"s\"; } );\n"
    "policies = ( { name = \"p\"; plugin = \"first\"; lead_time = \"10m\"; } );\n"
    "workloads = (\n"
    "  { match = \"fb-*\"; source = \"s\"; policy = \"p\"; fallback_replicas = 9; },\n"
    "  { match = \"w-*\"; source = \"s\"; policy = \"p\"; }\n"
    ");\n";

static const char config_new_source[] =
    "plugin_dir = \"" KD_SCALER_FIXTURE_DIR "\";\n"
    "sources = ( { name = \"s\"; plugin = \"scripted\"; timeout = \"30ms\"; replicas = 5; } );\n"
    "policies = ( { name = \"p\"; plugin = \"first\"; lead_time = \"5m\"; } );\n"
    "workloads = ( { match = \"w-*\"; source = \"s\"; policy = \"p\"; } );\n";

static const char config_new_route[] =
    "plugin_dir = \"" KD_SCALER_FIXTURE_DIR "\";\n"
    "sources = ( { name = \"s\"; plugin = \"scripted\"; timeout = \"30ms\"; replicas = 5; },\n"
    "            { name = \"t\"; plugin = \"scripted\"; timeout = \"30ms\"; replicas = 5; } );\n"
    "policies = ( { name = \"p\"; plugin = \"first\"; lead_time = \"5m\"; } );\n"
    "workloads = ( { match = \"w-*\"; source = \"t\"; policy = \"p\"; } );\n";

/* Reload: forecasts from a source whose definition did not change are answered at once by the
 * new scaler; a changed source, or a workload now routed to another source, fetches anew. */
static void test_adopt_unchanged_sources(void **state)
{
    struct fixture *f = *state;
    struct kd_grpc_call a = {0}, b = {0}, c = {0}, d = {0}, e = {0};
    struct kd_config *config2, *config3, *config4;
    struct kd_scaler_stats st;

    get_metrics(&a, "w-async");
    get_metrics(&b, "fb-async");
    run_until_finished(f, &a);
    run_until_finished(f, &b);
    close_call(&a);
    close_call(&b);

    /* Only the policy changed (and the source's keys were reordered). */
    struct kd_scaler *scaler2 = next_scaler(f, config_new_policy, &config2);
    assert_int_equal(kd_scaler_adopt(scaler2, f->scaler), 2);
    kd_scaler_stats(scaler2, &st);
    assert_int_equal(st.cache_entries, 2);
    get_metrics(&c, "w-async");
    assert_true(c.finished); /* warm: no fetch to wait for */
    assert_int_equal(metric_value(&c, "kedastral-w-async-desired-replicas"), 4);
    close_call(&c);

    /* The source's options changed: its forecasts are not carried. */
    struct kd_scaler *scaler3 = next_scaler(f, config_new_source, &config3);
    assert_int_equal(kd_scaler_adopt(scaler3, scaler2), 0);
    get_metrics(&d, "w-async");
    assert_false(d.finished);
    run_until_finished(f, &d);
    assert_int_equal(metric_value(&d, "kedastral-w-async-desired-replicas"), 5);
    close_call(&d);

    /* "s" is unchanged, but w-* now routes to "t" (defined alike): fetched from "t". */
    struct kd_scaler *scaler4 = next_scaler(f, config_new_route, &config4);
    assert_int_equal(kd_scaler_adopt(scaler4, scaler3), 0);
    get_metrics(&e, "w-async");
    assert_false(e.finished);
    run_until_finished(f, &e);
    close_call(&e);

    kd_scaler_destroy(scaler4);
    kd_scaler_destroy(scaler3);
    kd_scaler_destroy(scaler2);
    kd_config_free(config4);
    kd_config_free(config3);
    kd_config_free(config2);
}

int main(void)
{
    kd_log_setup(KD_LOG_ERROR, KD_LOG_TEXT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test_setup_teardown(test_metric_spec_needs_no_route, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_metrics_sync_and_async, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_metrics_sync_and_async, setup_sync_close,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_get_metrics_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_metrics_errors, setup_sync_close, teardown),
        cmocka_unit_test_setup_teardown(test_stale_and_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_waiter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_is_active, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_is_active, setup_sync_close, teardown),
        cmocka_unit_test_setup_teardown(test_drain_fails_waiters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adopt_unchanged_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adopt_unchanged_sources, setup_sync_close, teardown),
        cmocka_unit_test_setup_teardown(test_drain_fails_waiters, setup_sync_close, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
