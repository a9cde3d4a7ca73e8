/* SPDX-License-Identifier: Apache-2.0 */
/* Forecast models of the prometheus source: see prom_model.h. */
#include "prom_model.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#define MAX_ROWS 1000 /* prom_plan caps seasons at this */

static void sort(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++) { /* n is a handful of seasons: insertion sort */
        double x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

int kd_prom_model_seasonal(const double *grid, size_t n_rows, size_t n_cols,
                           enum kd_prom_combine combine, double *out, size_t *ret_col)
{
    double seen[MAX_ROWS];

    if (n_rows > MAX_ROWS)
        return -EINVAL;
    for (size_t i = 0; i < n_cols; i++) {
        size_t n = 0;
        for (size_t k = 0; k < n_rows; k++) {
            double v = grid[k * n_cols + i];
            if (!isnan(v))
                seen[n++] = v;
        }
        if (n == 0) {
            *ret_col = i;
            return -ENODATA;
        }
        double r = seen[0];
        if (combine == KD_PROM_MAX) {
            for (size_t k = 1; k < n; k++)
                r = seen[k] > r ? seen[k] : r;
        } else if (combine == KD_PROM_MEAN) {
            double sum = 0;
            for (size_t k = 0; k < n; k++)
                sum += seen[k];
            r = sum / (double)n;
        } else {
            sort(seen, n);
            r = n % 2 ? seen[n / 2] : (seen[n / 2 - 1] + seen[n / 2]) / 2;
        }
        out[i] = r;
    }
    return 0;
}

int kd_prom_model_linear(const int64_t *times_ms, const double *values, size_t n, int64_t now_ms,
                         int64_t step_ms, size_t n_out, double *out)
{
    /* Centred sums: x in seconds relative to now, then relative to the mean, for precision. */
    double sx = 0, sy = 0;
    size_t m = 0;

    for (size_t j = 0; j < n; j++) {
        if (isnan(values[j]))
            continue;
        sx += (double)(times_ms[j] - now_ms) / 1000.0;
        sy += values[j];
        m++;
    }
    if (m < 2)
        return -ENODATA;
    double mx = sx / (double)m, my = sy / (double)m, sxx = 0, sxy = 0;
    for (size_t j = 0; j < n; j++) {
        if (isnan(values[j]))
            continue;
        double dx = (double)(times_ms[j] - now_ms) / 1000.0 - mx;
        sxx += dx * dx;
        sxy += dx * (values[j] - my);
    }
    if (sxx == 0)
        return -ENODATA;
    double slope = sxy / sxx;
    double intercept = my - slope * mx; /* the line's value at now */
    for (size_t i = 0; i < n_out; i++)
        out[i] = intercept + slope * ((double)(i + 1) * (double)step_ms / 1000.0);
    return 0;
}

int64_t kd_prom_model_replicas(double value, double per_replica)
{
    if (!(per_replica > 0) || isnan(value) || value <= 0)
        return 0;
    double q = value / per_replica;
    if (!(q < (double)KD_PROM_MAX_REPLICAS))
        return KD_PROM_MAX_REPLICAS;
    double down = floor(q);
    if (q - down <= 1e-9 * (q > 1 ? q : 1))
        return (int64_t)down;
    return (int64_t)down + 1;
}
