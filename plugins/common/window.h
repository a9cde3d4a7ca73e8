/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The look-ahead window of a forecast, anchored at now: which desiredReplicas a policy looks
 * at, and the two reductions the shipped policies apply to it (max, nearest-rank quantile).
 * Pure integer maths: no I/O, no host, unit-tested directly; linked into policy plugins.
 *
 * desiredReplicas[i] is the plan for generatedAt + (i + 1) * step. Steps that have fully
 * passed leave the window:
 *     first = floor(age / step)                 (age = now - generatedAt; 0 if negative)
 *     last  = first + floor(lead_time / step)   inclusive, clamped to the array
 * At age 0 this is upstream Kedastral's [0 .. lead_time/step].
 */
#ifndef KD_WINDOW_H
#define KD_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include <kedastral/plugin.h>

struct kd_window {
    size_t first; /* index of the first element looked at */
    size_t last;  /* index of the last one, inclusive; first <= last < n */
};

/*
 * Compute the window of a series of `n` elements at `now_ms`. Returns 0, -ENODATA when
 * n == 0 (checked first), -EINVAL when step_seconds <= 0, -ERANGE when every step has passed (first
 * >= n: the forecast is exhausted). A negative lead time counts as 0; divisions truncate like Go's
 * Duration division and never overflow (a step too large for milliseconds is longer than any
 * age or lead time, so both quotients are 0).
 */
int kd_window_at(int64_t generated_at_ms, int64_t step_seconds, size_t n, int64_t now_ms,
                 int64_t lead_time_ms, struct kd_window *ret_window);

/*
 * kd_window_at() for `forecast` (its desired_replicas) with a policy's reason on error:
 * "forecast for "web" has stepSeconds 0; it must be positive", "every step has passed:
 * generated 540 s ago, 5 steps of 60 s". -ENODATA (an empty series) leaves the reason to the policy
 * (upstream answers 1 there).
 */
int kd_window_of(const struct kd_forecast *forecast, int64_t now_ms, int64_t lead_time_ms,
                 struct kd_window *ret_window, char *reason, size_t reason_len);

/* floor(duration_ms / (step_seconds * 1000)) for duration_ms >= 0, step_seconds > 0; 0 for
 * a negative duration, no overflow. */
int64_t kd_window_steps(int64_t duration_ms, int64_t step_seconds);

/* max(v[w->first .. w->last]). */
int64_t kd_window_max(const int64_t *v, const struct kd_window *w);

/*
 * Nearest-rank quantile of v[w->first .. w->last]: sort the k values, take the
 * ceil(q * k)-th smallest (rank clamped to [1, k]); q = 0 is the minimum, q = 1 the maximum.
 * `scratch` holds at least k = last - first + 1 values; its contents are overwritten.
 * q must be in [0, 1] (NaN counts as 1).
 */
int64_t kd_window_quantile(const int64_t *v, const struct kd_window *w, double q, int64_t *scratch);

/* The rank used above, 1-based: ceil(q * k) clamped to [1, k] (k >= 1). */
size_t kd_window_quantile_rank(double q, size_t k);

#endif /* KD_WINDOW_H */
