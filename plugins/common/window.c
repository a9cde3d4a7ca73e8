/* SPDX-License-Identifier: Apache-2.0 */
/* The anchored look-ahead window and its reductions (see window.h). */
#include "window.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t kd_window_steps(int64_t duration_ms, int64_t step_seconds)
{
    if (duration_ms <= 0 || step_seconds <= 0 || step_seconds > INT64_MAX / 1000)
        return 0;
    return duration_ms / (step_seconds * 1000);
}

int kd_window_at(int64_t generated_at_ms, int64_t step_seconds, size_t n, int64_t now_ms,
                 int64_t lead_time_ms, struct kd_window *ret_window)
{
    if (n == 0) /* first: upstream answers an empty series before it looks at the step */
        return -ENODATA;
    if (step_seconds <= 0)
        return -EINVAL;

    /* now - generatedAt without overflow: a far-past generatedAt saturates. */
    int64_t age;
    if (generated_at_ms >= now_ms)
        age = 0;
    else if (generated_at_ms < 0 && now_ms > INT64_MAX + generated_at_ms)
        age = INT64_MAX;
    else
        age = now_ms - generated_at_ms;

    uint64_t first = (uint64_t)kd_window_steps(age, step_seconds);
    if (first >= n)
        return -ERANGE;
    uint64_t span = (uint64_t)kd_window_steps(lead_time_ms, step_seconds);
    uint64_t last = span >= n - first ? n - 1 : first + span;
    *ret_window = (struct kd_window){.first = (size_t)first, .last = (size_t)last};
    return 0;
}

int64_t kd_window_max(const int64_t *v, const struct kd_window *w)
{
    int64_t max = v[w->first];

    for (size_t i = w->first + 1; i <= w->last; i++) {
        if (v[i] > max)
            max = v[i];
    }
    return max;
}

size_t kd_window_quantile_rank(double q, size_t k)
{
    if (!(q < 1.0)) /* also NaN */
        return k;
    if (q <= 0.0)
        return 1;
    /* ceil(q * k), forgiving the rounding of q's binary fraction: 0.7 * 10 is
     * 7.000000000000001 in doubles, and the 7th value is meant. */
    double exact = q * (double)k;
    size_t rank = (size_t)exact;
    if (exact - (double)rank > 1e-9)
        rank++;
    return rank < 1 ? 1 : rank > k ? k : rank;
}

static int cmp_int64(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return (a > b) - (a < b);
}

int64_t kd_window_quantile(const int64_t *v, const struct kd_window *w, double q, int64_t *scratch)
{
    size_t k = w->last - w->first + 1;

    memcpy(scratch, v + w->first, k * sizeof(*scratch));
    qsort(scratch, k, sizeof(*scratch), cmp_int64);
    return scratch[kd_window_quantile_rank(q, k) - 1];
}

int kd_window_of(const struct kd_forecast *forecast, int64_t now_ms, int64_t lead_time_ms,
                 struct kd_window *ret_window, char *reason, size_t reason_len)
{
    size_t n = forecast->desired_replicas ? forecast->n_desired_replicas : 0;
    int rc = kd_window_at(forecast->generated_at_ms, forecast->step_seconds, n, now_ms,
                          lead_time_ms, ret_window);

    if (rc == -EINVAL)
        snprintf(reason, reason_len,
                 "forecast for \"%s\" has stepSeconds %" PRId64 "; it must be positive",
                 forecast->workload ? forecast->workload : "", forecast->step_seconds);
    else if (rc == -ERANGE)
        snprintf(reason, reason_len,
                 "every step has passed: generated %" PRId64 " s ago, %zu steps of %" PRId64 " s",
                 (now_ms - forecast->generated_at_ms) / 1000, n, forecast->step_seconds);
    return rc;
}
