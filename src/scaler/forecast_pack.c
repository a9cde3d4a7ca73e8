/* SPDX-License-Identifier: Apache-2.0 */
/* Compact forecast storage (see forecast_pack.h). */
#include "scaler/forecast_pack.h"

#include <errno.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define RAW_VALUES 0xff
#define MAX_SCALE 9 /* 10^k is exact for k <= 22; past 9 decimals an int32 rarely holds them */

struct kd_packed_forecast {
    int64_t generated_at_ms;
    int64_t step_seconds;
    int64_t horizon_seconds;
    uint32_t n_values, n_replicas, n_quantiles;
    uint32_t gen;
    uint32_t size;         /* of the whole allocation */
    uint8_t replica_width; /* 1, 2, 4 or 8 bytes a step */
    uint8_t value_scale;   /* values are int32 x 10^-value_scale; RAW_VALUES: doubles */
    uint16_t metric_at;    /* offset of metric in strings[] */
    /* Then, each aligned: double quantile_levels[n_quantiles],
     * double quantile_values[n_quantiles * n_values], values (double or int32), replicas,
     * workload and metric (NUL-terminated). */
    alignas(double) unsigned char data[];
};

static const double pow10_table[MAX_SCALE + 1] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

struct layout {
    size_t levels_at, qvalues_at, values_at, replicas_at, workload_at, metric_at, end;
};

static size_t align_up(size_t n, size_t a)
{
    return (n + a - 1) / a * a;
}

static void lay_out(size_t nv, size_t nr, size_t nq, unsigned width, bool raw, size_t wl, size_t ml,
                    struct layout *l)
{
    l->levels_at = 0;
    l->qvalues_at = l->levels_at + nq * sizeof(double);
    l->values_at = l->qvalues_at + nq * nv * sizeof(double);
    l->replicas_at = align_up(l->values_at + nv * (raw ? sizeof(double) : sizeof(int32_t)), width);
    l->workload_at = l->replicas_at + nr * width;
    l->metric_at = l->workload_at + wl;
    l->end = l->metric_at + ml;
}

/* Nearest integer of a value already checked to be within int32 (no libm for one rounding;
 * every result is verified by dividing back). */
static int32_t round_i32(double v)
{
    return (int32_t)(v < 0 ? v - 0.5 : v + 0.5);
}

static bool same_bits(double a, double b)
{
    uint64_t x, y;
    memcpy(&x, &a, sizeof(x));
    memcpy(&y, &b, sizeof(y));
    return x == y;
}

/* The smallest k with every value == (double)m / 10^k for an int32 m; -1 if none. */
static int decimal_scale(const double *values, size_t n)
{
    int k = 0;

    for (size_t i = 0; i < n; i++) {
        while (k <= MAX_SCALE) {
            double scaled = values[i] * pow10_table[k];
            if (scaled > -2147483648.5 && scaled < 2147483647.5 &&
                same_bits((double)round_i32(scaled) / pow10_table[k], values[i]))
                break;
            k++;
        }
        if (k > MAX_SCALE)
            return -1;
    }
    /* A larger k than one value needed is exact too (the division is correctly rounded from
     * the same real number), but check every value against the final k all the same. */
    for (size_t i = 0; i < n; i++) {
        double scaled = values[i] * pow10_table[k];
        if (!(scaled > -2147483648.5 && scaled < 2147483647.5) ||
            !same_bits((double)round_i32(scaled) / pow10_table[k], values[i]))
            return -1;
    }
    return k;
}

static unsigned replica_width(const int64_t *replicas, size_t n)
{
    int64_t max = 0;

    for (size_t i = 0; i < n; i++) {
        if (replicas[i] < 0)
            return 8;
        if (replicas[i] > max)
            max = replicas[i];
    }
    return max <= UINT8_MAX ? 1 : max <= UINT16_MAX ? 2 : max <= UINT32_MAX ? 4 : 8;
}

static void put_replicas(unsigned char *to, const int64_t *replicas, size_t n, unsigned width)
{
    for (size_t i = 0; i < n; i++) {
        if (width == 1) {
            to[i] = (uint8_t)replicas[i];
        } else if (width == 2) {
            uint16_t v = (uint16_t)replicas[i];
            memcpy(to + 2 * i, &v, 2);
        } else if (width == 4) {
            uint32_t v = (uint32_t)replicas[i];
            memcpy(to + 4 * i, &v, 4);
        } else {
            memcpy(to + 8 * i, &replicas[i], 8);
        }
    }
}

int kd_forecast_pack(const struct kd_forecast *forecast, uint32_t gen,
                     struct kd_packed_forecast **ret_packed)
{
    const char *workload = forecast->workload ? forecast->workload : "";
    const char *metric = forecast->metric ? forecast->metric : "";
    size_t nv = forecast->values ? forecast->n_values : 0;
    size_t nr = forecast->desired_replicas ? forecast->n_desired_replicas : 0;
    size_t nq = forecast->quantile_levels && forecast->quantile_values ? forecast->n_quantiles : 0;
    size_t wl = strlen(workload) + 1, ml = strlen(metric) + 1;
    struct layout l;

    /* Parsed forecasts are far below these; anything else is refused, not truncated. */
    if (nv > UINT32_MAX / 8 || nr > UINT32_MAX / 8 || nq > UINT32_MAX / 8 ||
        (nv && nq > UINT32_MAX / 8 / nv) || wl + ml > UINT16_MAX)
        return -EOVERFLOW;
    if (!nv)
        nq = 0;
    int scale = decimal_scale(forecast->values, nv);
    unsigned width = replica_width(forecast->desired_replicas, nr);
    lay_out(nv, nr, nq, width, scale < 0, wl, ml, &l);
    size_t size = offsetof(struct kd_packed_forecast, data) + l.end;
    if (size > UINT32_MAX)
        return -EOVERFLOW;

    struct kd_packed_forecast *p = malloc(size);
    if (!p)
        return -ENOMEM;
    *p = (struct kd_packed_forecast){
        .generated_at_ms = forecast->generated_at_ms,
        .step_seconds = forecast->step_seconds,
        .horizon_seconds = forecast->horizon_seconds,
        .n_values = (uint32_t)nv,
        .n_replicas = (uint32_t)nr,
        .n_quantiles = (uint32_t)nq,
        .gen = gen,
        .size = (uint32_t)size,
        .replica_width = (uint8_t)width,
        .value_scale = scale < 0 ? RAW_VALUES : (uint8_t)scale,
        .metric_at = (uint16_t)wl,
    };
    if (nq) {
        memcpy(p->data + l.levels_at, forecast->quantile_levels, nq * sizeof(double));
        memcpy(p->data + l.qvalues_at, forecast->quantile_values, nq * nv * sizeof(double));
    }
    if (scale < 0) {
        if (nv)
            memcpy(p->data + l.values_at, forecast->values, nv * sizeof(double));
    } else {
        for (size_t i = 0; i < nv; i++) {
            int32_t m = round_i32(forecast->values[i] * pow10_table[scale]);
            memcpy(p->data + l.values_at + i * sizeof(m), &m, sizeof(m));
        }
    }
    put_replicas(p->data + l.replicas_at, forecast->desired_replicas, nr, width);
    memcpy(p->data + l.workload_at, workload, wl);
    memcpy(p->data + l.metric_at, metric, ml);
    *ret_packed = p;
    return 0;
}

uint32_t kd_forecast_packed_gen(const struct kd_packed_forecast *packed)
{
    return packed->gen;
}

size_t kd_forecast_packed_size(const struct kd_packed_forecast *packed)
{
    return packed->size;
}

size_t kd_forecast_unpacked_size(const struct kd_packed_forecast *p)
{
    size_t values = p->value_scale == RAW_VALUES ? 0 : p->n_values * sizeof(double);
    size_t replicas = p->replica_width == 8 ? 0 : p->n_replicas * sizeof(int64_t);
    return values + replicas;
}

static void get_replicas(const unsigned char *from, size_t n, unsigned width, int64_t *to)
{
    if (width == 1) {
        for (size_t i = 0; i < n; i++)
            to[i] = from[i];
    } else if (width == 2) {
        for (size_t i = 0; i < n; i++) {
            uint16_t v;
            memcpy(&v, from + 2 * i, 2);
            to[i] = v;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            uint32_t v;
            memcpy(&v, from + 4 * i, 4);
            to[i] = v;
        }
    }
}

void kd_forecast_unpack(const struct kd_packed_forecast *p, void *buf,
                        struct kd_forecast *ret_forecast)
{
    bool raw = p->value_scale == RAW_VALUES;
    size_t wl = p->metric_at;
    struct layout l;

    lay_out(p->n_values, p->n_replicas, p->n_quantiles, p->replica_width, raw, wl, 0, &l);
    const double *values = (const double *)(const void *)(p->data + l.values_at);
    const int64_t *replicas = (const int64_t *)(const void *)(p->data + l.replicas_at);
    double *out = buf;
    if (!raw) {
        double scale = pow10_table[p->value_scale];
        for (size_t i = 0; i < p->n_values; i++) {
            int32_t m;
            memcpy(&m, p->data + l.values_at + i * sizeof(m), sizeof(m));
            out[i] = (double)m / scale;
        }
        values = out;
        out += p->n_values;
    }
    if (p->replica_width != 8) {
        int64_t *to = (int64_t *)(void *)out;
        get_replicas(p->data + l.replicas_at, p->n_replicas, p->replica_width, to);
        replicas = to;
    }
    *ret_forecast = (struct kd_forecast){
        KD_FORECAST_INIT,
        .workload = (const char *)p->data + l.workload_at,
        .metric = (const char *)p->data + l.workload_at + wl,
        .generated_at_ms = p->generated_at_ms,
        .step_seconds = p->step_seconds,
        .horizon_seconds = p->horizon_seconds,
        .n_values = p->n_values,
        .values = values,
        .n_desired_replicas = p->n_replicas,
        .desired_replicas = replicas,
        .n_quantiles = p->n_quantiles,
        .quantile_levels =
            p->n_quantiles ? (const double *)(const void *)(p->data + l.levels_at) : NULL,
        .quantile_values =
            p->n_quantiles ? (const double *)(const void *)(p->data + l.qvalues_at) : NULL,
    };
}
