/* SPDX-License-Identifier: Apache-2.0 */
/* Upstream Kedastral's lead-time rule (selectReplicasAtLeadTime), as pure integer maths. */
#ifndef KD_WINDOW_MAX_H
#define KD_WINDOW_MAX_H

#include <stddef.h>
#include <stdint.h>

/*
 * The last index of the look-ahead window: floor(lead_time_ms / (step_seconds * 1000)),
 * truncating like Go's Duration division, clamped to [0, n - 1] (n >= 1). A step so large
 * that step * 1000 overflows gives 0 instead of wrapping. -EINVAL when step_seconds <= 0.
 */
int kd_window_max_last_index(int64_t lead_time_ms, int64_t step_seconds, size_t n,
                             size_t *ret_index);

/*
 * max(replicas[0..last_index]) inclusive, i.e. the largest plan between now and now + lead
 * time. An empty series gives 1 before the step is looked at, as upstream does. -EINVAL when
 * the series is non-empty and step_seconds <= 0 (upstream divides by zero there).
 */
int kd_window_max_compute(const int64_t *replicas, size_t n, int64_t lead_time_ms,
                          int64_t step_seconds, int64_t *ret_max);

#endif /* KD_WINDOW_MAX_H */
