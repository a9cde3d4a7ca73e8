/* SPDX-License-Identifier: Apache-2.0 */
/* plugins/source-prometheus/prom_refresh.c: bodies in, one forecast or one message out. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prom_refresh.h"

#define MIN 60000LL
#define WEEK (7 * 24 * 60 * MIN)
#define NOW 1700000000000LL /* 2023-11-14T22:13:20Z */

static const struct kd_prom_refresh_params seasonal = {.plan = {.model = KD_PROM_SEASONAL,
                                                                .step_ms = MIN,
                                                                .horizon_ms = 4 * MIN,
                                                                .season_ms = WEEK,
                                                                .seasons = 3,
                                                                .window_ms = MIN,
                                                                .max_points = 3},
                                                       .combine = KD_PROM_MEDIAN,
                                                       .per_replica = 100};

/* A whole body for range `index`, through the streaming parser the plugin feeds. */
static int refresh_add(struct kd_prom_refresh *r, size_t index, long status, const char *body,
                       size_t len, char *err, size_t err_len)
{
    struct kd_prom_response *parsed;
    char why[512];

    int rc = kd_prom_refresh_stream(r, index, &parsed);
    if (rc < 0)
        return rc;
    kd_prom_response_feed(parsed, body, len, why, sizeof(why)); /* finish tells a failure */
    rc = kd_prom_refresh_add_parsed(r, index, status, parsed, err, err_len);
    kd_prom_response_free(parsed);
    return rc;
}

/* A matrix body for `range` with `values[j]` at its j-th point (NAN: none). */
static char *body_for(const struct kd_prom_range *range, const double *values)
{
    static char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof(buf),
                                "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\","
                                "\"result\":[{\"metric\":{},\"values\":[");
    bool is_first = true;
    for (size_t j = 0; j < range->n_points; j++) {
        if (isnan(values[j]))
            continue;
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s[%.3f,\"%.17g\"]", is_first ? "" : ",",
                              (double)(range->start_ms + (int64_t)j * MIN) / 1000.0, values[j]);
        is_first = false;
    }
    snprintf(buf + n, sizeof(buf) - n, "]}]}}");
    return buf;
}

static const char empty_body[] =
    "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}";

/* Season rows of four steps each; shards of three points: 2 ranges per season. */
static const double history[3][4] = {
    {100, 250, NAN, 90},
    {300, 150, NAN, NAN},
    {200, 50, 120, NAN},
};

static void feed(struct kd_prom_refresh *r, const double (*rows)[4])
{
    const struct kd_prom_plan *plan = kd_prom_refresh_plan(r);
    char err[512];

    for (size_t i = plan->n_ranges; i-- > 0;) { /* any order */
        const struct kd_prom_range *range = &plan->ranges[i];
        const char *body = body_for(range, &rows[range->row][range->first]);
        assert_int_equal(refresh_add(r, i, 200, body, strlen(body), err, sizeof(err)), 0);
    }
}

static void seasonal_forecast_from_sharded_ranges(void **state)
{
    struct kd_prom_refresh *r = NULL;
    struct kd_forecast f;
    char err[512];

    (void)state;
    assert_int_equal(kd_prom_refresh_create(&seasonal, "api", "sum(x{job=\"api\"})", NOW, &r), 0);
    assert_int_equal(kd_prom_refresh_plan(r)->n_ranges, 6);
    feed(r, history);
    assert_int_equal(kd_prom_refresh_finish(r, &f, err, sizeof(err)), 0);
    assert_string_equal(f.workload, "api");
    assert_int_equal(f.generated_at_ms, NOW);
    assert_int_equal(f.step_seconds, 60);
    assert_int_equal(f.horizon_seconds, 240);
    assert_int_equal(f.n_values, 4);
    const double want[4] = {200, 150, 120, 90};
    const int64_t replicas[4] = {2, 2, 2, 1};
    for (size_t i = 0; i < 4; i++) {
        assert_float_equal(f.values[i], want[i], 0);
        assert_int_equal(f.desired_replicas[i], replicas[i]);
    }
    kd_prom_refresh_free(r);
}

static void errors_name_the_query(void **state)
{
    static const struct {
        long status;
        const char *body;
        int rc;
        const char *words;
    } rows[] = {
        {400, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"parse error\"}",
         -EPROTO, "Prometheus says (HTTP 400) bad_data: parse error"},
        {503, "<html>upstream down</html>", -EIO, "HTTP 503, not a Prometheus API response"},
        {200,
         "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":"
         "{\"pod\":\"a\"},\"values\":[]},{\"metric\":{\"pod\":\"b\"},\"values\":[]}]}}",
         -E2BIG, "2 series"},
    };
    struct kd_prom_refresh *r = NULL;
    char err[512];

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(kd_prom_refresh_create(&seasonal, "api", "x{job=\"api\"}", NOW, &r), 0);
        assert_int_equal(
            refresh_add(r, 2, rows[i].status, rows[i].body, strlen(rows[i].body), err, sizeof(err)),
            rows[i].rc);
        assert_non_null(strstr(err, rows[i].words));
        /* Range 2 is season 2's first shard: its window, one week before season 1's. */
        assert_non_null(strstr(err, "query_range `x{job=\"api\"}` from 2023-10-31T22:14:20.000Z "
                                    "to 2023-10-31T22:16:20.000Z step 60s: "));
        kd_prom_refresh_free(r);
    }
}

static void nothing_anywhere_or_at_one_step(void **state)
{
    struct kd_prom_refresh *r = NULL;
    struct kd_forecast f;
    char err[512];

    (void)state;
    assert_int_equal(kd_prom_refresh_create(&seasonal, "ghost", "x{job=\"ghost\"}", NOW, &r), 0);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(refresh_add(r, i, 200, empty_body, strlen(empty_body), err, sizeof(err)),
                         0);
    assert_int_equal(kd_prom_refresh_finish(r, &f, err, sizeof(err)), -ENODATA);
    assert_string_equal(err, "`x{job=\"ghost\"}` found no series in any of the 3 past seasons; "
                             "does it select the workload \"ghost\"?");
    kd_prom_refresh_free(r);

    const double holes[3][4] = {{1, NAN, 1, 1}, {1, NAN, 1, 1}, {1, NAN, 1, 1}};
    assert_int_equal(kd_prom_refresh_create(&seasonal, "api", "x", NOW, &r), 0);
    feed(r, holes);
    assert_int_equal(kd_prom_refresh_finish(r, &f, err, sizeof(err)), -ENODATA);
    assert_string_equal(err, "no past season has a sample for 2023-11-14T22:15:20.000Z (now + 2 "
                             "steps): `x` found nothing at 2023-11-07T22:15:20.000Z, "
                             "2023-10-31T22:15:20.000Z, 2023-10-24T22:15:20.000Z");
    kd_prom_refresh_free(r);
}

static void linear_forecast_and_too_few_samples(void **state)
{
    struct kd_prom_refresh_params p = seasonal;
    struct kd_prom_refresh *r = NULL;
    struct kd_forecast f;
    char err[512];

    (void)state;
    p.plan.model = KD_PROM_LINEAR;
    p.plan.window_ms = 5 * MIN; /* 6 points, two shards of 3 */
    p.plan.horizon_ms = 2 * MIN;
    const double ramp[1][6] = {{0, 10, 20, NAN, 40, 50}}; /* 10 per minute, ends at 50 at now */
    assert_int_equal(kd_prom_refresh_create(&p, "ramp", "x", NOW, &r), 0);
    const struct kd_prom_plan *plan = kd_prom_refresh_plan(r);
    assert_int_equal(plan->n_ranges, 2);
    assert_int_equal(plan->ranges[1].end_ms, NOW);
    for (size_t i = 0; i < 2; i++) {
        const char *body = body_for(&plan->ranges[i], &ramp[0][plan->ranges[i].first]);
        assert_int_equal(refresh_add(r, i, 200, body, strlen(body), err, sizeof(err)), 0);
    }
    assert_int_equal(kd_prom_refresh_finish(r, &f, err, sizeof(err)), 0);
    assert_int_equal(f.n_values, 2);
    assert_float_equal(f.values[0], 60, 1e-9);
    assert_float_equal(f.values[1], 70, 1e-9);
    assert_int_equal(f.desired_replicas[0], 1);
    kd_prom_refresh_free(r);

    const double one[1][6] = {{NAN, NAN, 5, NAN, NAN, NAN}};
    assert_int_equal(kd_prom_refresh_create(&p, "ramp", "x", NOW, &r), 0);
    plan = kd_prom_refresh_plan(r);
    for (size_t i = 0; i < 2; i++) {
        const char *body = body_for(&plan->ranges[i], &one[0][plan->ranges[i].first]);
        assert_int_equal(refresh_add(r, i, 200, body, strlen(body), err, sizeof(err)), 0);
    }
    assert_int_equal(kd_prom_refresh_finish(r, &f, err, sizeof(err)), -ENODATA);
    assert_non_null(strstr(err, "fewer than two samples from 2023-11-14T22:08:20.000Z to "
                                "2023-11-14T22:13:20.000Z"));
    kd_prom_refresh_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seasonal_forecast_from_sharded_ranges),
        cmocka_unit_test(errors_name_the_query),
        cmocka_unit_test(nothing_anywhere_or_at_one_step),
        cmocka_unit_test(linear_forecast_and_too_few_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
