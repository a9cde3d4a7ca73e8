/* SPDX-License-Identifier: Apache-2.0 */
/* The look-ahead window of policy-max; no I/O, no host, unit-tested directly. */
#include "window_max.h"

#include <errno.h>

int kd_window_max_last_index(int64_t lead_time_ms, int64_t step_seconds, size_t n,
                             size_t *ret_index)
{
    if (step_seconds <= 0 || n == 0)
        return -EINVAL;

    int64_t steps = 0;
    if (lead_time_ms > 0 && step_seconds <= INT64_MAX / 1000)
        steps = lead_time_ms / (step_seconds * 1000);
    *ret_index = (uint64_t)steps >= n ? n - 1 : (size_t)steps;
    return 0;
}

int kd_window_max_compute(const int64_t *replicas, size_t n, int64_t lead_time_ms,
                          int64_t step_seconds, int64_t *ret_max)
{
    size_t last;

    if (n == 0) {
        *ret_max = 1;
        return 0;
    }
    int rc = kd_window_max_last_index(lead_time_ms, step_seconds, n, &last);
    if (rc < 0)
        return rc;

    int64_t max = replicas[0];
    for (size_t i = 1; i <= last; i++) {
        if (replicas[i] > max)
            max = replicas[i];
    }
    *ret_max = max;
    return 0;
}
