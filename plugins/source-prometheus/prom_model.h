/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The forecast models of the prometheus source, on a grid that prom_plan.h describes (NAN =
 * no sample there), and the replica arithmetic. Pure.
 */
#ifndef KD_PROM_MODEL_H
#define KD_PROM_MODEL_H

#include <stddef.h>
#include <stdint.h>

enum kd_prom_combine { KD_PROM_MEDIAN = 1, KD_PROM_MAX = 2, KD_PROM_MEAN = 3 };

/*
 * Seasonal: out[i] = combine over rows k of grid[k * n_cols + i], the rows without a value
 * at i skipped. Median of an even count is the mean of the middle two. Returns 0, or
 * -ENODATA when some column has no value in any row (*ret_col then says which; out is
 * unspecified).
 */
int kd_prom_model_seasonal(const double *grid, size_t n_rows, size_t n_cols,
                           enum kd_prom_combine combine, double *out, size_t *ret_col);

/*
 * Linear: the least-squares line through the points (times_ms[j], values[j]) that have a
 * value, evaluated at now_ms + (i + 1) * step_ms for i < n_out, as PromQL's predict_linear
 * (intercept at now, slope per second). Returns 0, or -ENODATA with fewer than two points
 * (or all at one time): no line.
 */
int kd_prom_model_linear(const int64_t *times_ms, const double *values, size_t n, int64_t now_ms,
                         int64_t step_ms, size_t n_out, double *out);

/*
 * Replicas to handle `value` when one replica handles `per_replica` (> 0): ceil(value /
 * per_replica), never below 0, at most KD_PROM_MAX_REPLICAS. A quotient within 1e-9
 * (relative) above an integer counts as that integer, so 1.1 / 0.1 is 11, not 12. NaN is 0.
 */
#define KD_PROM_MAX_REPLICAS INT32_MAX
int64_t kd_prom_model_replicas(double value, double per_replica);

#endif /* KD_PROM_MODEL_H */
