/* SPDX-License-Identifier: Apache-2.0 */
/* The replay clock of source-file: which snapshot is current, and the time it shows. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "forecast_json.h"
#include "replay.h"

#define T0 1760636100000 /* 2025-10-16T17:35:00Z */
#define L 2000000000000  /* when the file was "loaded" */
#define MIN 60000

/* a: three snapshots a minute apart; b: one, half a minute in. desiredReplicas[0] tells
 * which snapshot came back. */
static const char recording[] =
    "[{\"workload\":\"b\",\"generatedAt\":\"2025-10-16T17:35:30Z\",\"stepSeconds\":60,"
    "\"desiredReplicas\":[9]},"
    "{\"workload\":\"a\",\"generatedAt\":\"2025-10-16T17:37:00Z\",\"stepSeconds\":60,"
    "\"desiredReplicas\":[3]},"
    "{\"workload\":\"a\",\"generatedAt\":\"2025-10-16T17:35:00Z\",\"stepSeconds\":60,"
    "\"desiredReplicas\":[1]},"
    "{\"workload\":\"a\",\"generatedAt\":\"2025-10-16T17:36:00Z\",\"stepSeconds\":60,"
    "\"desiredReplicas\":[2]}]";

struct fixture {
    struct kd_forecast_doc *doc;
    struct kd_replay *replay;
};

static struct fixture load(const char *json, bool rebase, bool loop)
{
    struct fixture fx = {0};
    char err[256];

    assert_int_equal(kd_forecast_json_parse(json, strlen(json), &fx.doc, err, sizeof(err)), 0);
    int rc = kd_replay_create(fx.doc, rebase, loop, L, &fx.replay, err, sizeof(err));
    if (rc != 0)
        fail_msg("replay: %s", err);
    return fx;
}

static void unload(struct fixture *fx)
{
    kd_replay_destroy(fx->replay);
    kd_forecast_json_free(fx->doc);
}

/* Pick and check which snapshot (by its first replica count) and the time shown. */
static void expect(const struct fixture *fx, const char *workload, int64_t now, int64_t which,
                   int64_t shown)
{
    struct kd_forecast f;

    assert_int_equal(kd_replay_pick(fx->replay, workload, now, &f), 0);
    if (f.desired_replicas[0] != which || f.generated_at_ms != shown)
        fail_msg("%s at L%+lld: got snapshot %lld shown at L%+lld, want %lld at L%+lld", workload,
                 (long long)(now - L), (long long)f.desired_replicas[0],
                 (long long)(f.generated_at_ms - L), (long long)which, (long long)(shown - L));
    assert_string_equal(f.workload, workload);
}

static void test_rebase_loop(void **state)
{
    struct fixture fx = load(recording, true, true);
    const int64_t period = 3 * MIN; /* last - first + step */

    (void)state;
    expect(&fx, "a", L, 1, L);
    expect(&fx, "a", L + MIN - 1, 1, L);
    expect(&fx, "a", L + MIN, 2, L + MIN);
    expect(&fx, "a", L + 2 * MIN, 3, L + 2 * MIN);
    expect(&fx, "a", L + period - 1, 3, L + 2 * MIN);
    expect(&fx, "a", L + period, 1, L + period); /* starts over */
    expect(&fx, "a", L + 10 * period + MIN + 1000, 2, L + 10 * period + MIN);
    /* b starts half a minute after the recording; before that its first snapshot is shown
     * with its future time, afterwards it re-bases every step */
    expect(&fx, "b", L, 9, L + 30000);
    expect(&fx, "b", L + 30000, 9, L + 30000);
    expect(&fx, "b", L + 30000 + MIN - 1, 9, L + 30000);
    expect(&fx, "b", L + 30000 + MIN, 9, L + 30000 + MIN);
    unload(&fx);
}

/* Looping keeps every delivered forecast younger than the largest gap of the recording. */
static void test_loop_never_stale(void **state)
{
    struct fixture fx = load(recording, true, true);
    uint64_t x = 88172645463325252ull;

    (void)state;
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: fixed sequence */
        int64_t now = L + 30000 + (int64_t)(x % (400LL * 24 * 3600 * 1000));
        struct kd_forecast f;
        for (const char *w = "a"; w; w = *w == 'a' ? "b" : NULL) {
            assert_int_equal(kd_replay_pick(fx.replay, w, now, &f), 0);
            assert_true(f.generated_at_ms <= now);
            assert_true(now - f.generated_at_ms < MIN);
        }
    }
    unload(&fx);
}

static void test_rebase_no_loop(void **state)
{
    struct fixture fx = load(recording, true, false);

    (void)state;
    expect(&fx, "a", L + MIN, 2, L + MIN);
    expect(&fx, "a", L + 3 * MIN, 3, L + 2 * MIN);
    expect(&fx, "a", L + 1000 * MIN, 3, L + 2 * MIN); /* grows stale */
    unload(&fx);
}

/* Recorded times as they are: for staleness tests. loop has no effect without rebase. */
static void test_no_rebase(void **state)
{
    struct fixture fx = load(recording, false, true);

    (void)state;
    expect(&fx, "a", T0 - 1, 1, T0); /* before the recording: its first snapshot */
    expect(&fx, "a", T0 + MIN + 1, 2, T0 + MIN);
    expect(&fx, "a", L, 3, T0 + 2 * MIN);
    expect(&fx, "b", L, 9, T0 + 30000);
    unload(&fx);
}

static void test_single_snapshot(void **state)
{
    struct fixture fx = load("{\"workload\":\"w\",\"generatedAt\":\"2020-01-01T00:00:00Z\","
                             "\"stepSeconds\":60,\"desiredReplicas\":[4]}",
                             true, true);

    (void)state;
    expect(&fx, "w", L, 4, L);
    expect(&fx, "w", L + 59999, 4, L);
    expect(&fx, "w", L + 60000, 4, L + 60000);
    expect(&fx, "w", L + 3600 * 1000 + 5, 4, L + 3600 * 1000);
    expect(&fx, "w", L - 5000, 4, L); /* clock went back: still the snapshot, in the future */
    unload(&fx);
}

/* step 0 or absurd steps still give a loop period; the policy rejects such forecasts. */
static void test_odd_steps(void **state)
{
    struct fixture fx = load("[{\"workload\":\"z\",\"desiredReplicas\":[1]},"
                             "{\"workload\":\"h\",\"stepSeconds\":9223372036854775807,"
                             "\"desiredReplicas\":[2]}]",
                             true, true);

    (void)state;
    expect(&fx, "z", L + 61000, 1, L + 60000); /* 60 s fallback period */
    expect(&fx, "h", L + 1000, 2, L);
    expect(&fx, "h", INT64_MAX, 2, L + (INT64_MAX - L) / (1000000000000LL) * 1000000000000LL);
    expect(&fx, "h", INT64_MIN, 2, L);
    unload(&fx);
}

static void test_ties_keep_file_order(void **state)
{
    struct fixture fx = load("[{\"workload\":\"t\",\"generatedAt\":\"2025-10-16T17:35:00Z\","
                             "\"stepSeconds\":60,\"desiredReplicas\":[1]},"
                             "{\"workload\":\"t\",\"generatedAt\":\"2025-10-16T17:35:00Z\","
                             "\"stepSeconds\":60,\"desiredReplicas\":[2]}]",
                             true, true);

    (void)state;
    expect(&fx, "t", L + 1, 2, L);
    unload(&fx);
}

static void test_unknown_workload_and_list(void **state)
{
    struct fixture fx = load(recording, true, true);
    struct kd_forecast f = {.step_seconds = 42};
    char names[64];

    (void)state;
    assert_int_equal(kd_replay_pick(fx.replay, "c", L, &f), -ENOENT);
    assert_int_equal(kd_replay_pick(fx.replay, "", L, &f), -ENOENT);
    assert_int_equal(f.step_seconds, 42);
    assert_int_equal(kd_replay_count(fx.replay), 2);
    kd_replay_list(fx.replay, names, sizeof(names));
    assert_string_equal(names, "a, b");
    kd_replay_list(fx.replay, names, 4);
    assert_string_equal(names, "...");
    kd_replay_list(fx.replay, names, 5);
    assert_string_equal(names, "a, b"); /* just fits */
    unload(&fx);
}

static void test_rejects_missing_workload(void **state)
{
    struct kd_forecast_doc *doc;
    struct kd_replay *replay = (struct kd_replay *)&replay;
    char err[128];
    const char *json = "[{\"workload\":\"a\"},{\"stepSeconds\":60}]";

    (void)state;
    assert_int_equal(kd_forecast_json_parse(json, strlen(json), &doc, err, sizeof(err)), 0);
    assert_int_equal(kd_replay_create(doc, true, true, L, &replay, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "[1]: no workload; every recorded forecast needs one");
    assert_ptr_equal(replay, (struct kd_replay *)&replay);
    kd_forecast_json_free(doc);
    kd_replay_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rebase_loop),
        cmocka_unit_test(test_loop_never_stale),
        cmocka_unit_test(test_rebase_no_loop),
        cmocka_unit_test(test_no_rebase),
        cmocka_unit_test(test_single_snapshot),
        cmocka_unit_test(test_odd_steps),
        cmocka_unit_test(test_ties_keep_file_order),
        cmocka_unit_test(test_unknown_workload_and_list),
        cmocka_unit_test(test_rejects_missing_workload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
