/* SPDX-License-Identifier: Apache-2.0 */
/* query_range bodies (prom_response.c) and workload names through the PromQL escaping. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prom_response.h"
#include "promql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The streamed parse cut at `cuts` (ascending) must agree with the whole one. */
static void check_split(const uint8_t *data, size_t size, const size_t *cuts, size_t n_cuts,
                        int whole_rc, const char *whole_err, const double *whole_points)
{
    static const struct kd_prom_range range = {
        .start_ms = 1700000000000, .end_ms = 1700000600000, .n_points = 11};
    struct kd_prom_response *r;
    double points[11];
    size_t n_series = 0, at = 0;
    char err[256] = "";
    int rc = 0;

    if (kd_prom_response_new(&range, 60000, points, &r) < 0)
        abort();
    for (size_t i = 0; i <= n_cuts && rc == 0; i++) {
        size_t end = i < n_cuts ? cuts[i] : size;
        rc = kd_prom_response_feed(r, (const char *)data + at, end - at, err, sizeof(err));
        at = end;
    }
    if (rc == 0)
        rc = kd_prom_response_finish(r, &n_series, err, sizeof(err));
    kd_prom_response_free(r);
    if (rc != whole_rc || strcmp(err, whole_err) != 0 ||
        (rc == 0 && memcmp(points, whole_points, sizeof(points)) != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct kd_prom_range range = {
        .start_ms = 1700000000000, .end_ms = 1700000600000, .n_points = 11};
    double points[11];
    size_t n_series;
    char err[256];

    int whole_rc = kd_prom_response_parse((const char *)data, size, &range, 60000, points,
                                          &n_series, err, sizeof(err));
    size_t cuts[2] = {size / 3, 2 * size / 3};
    check_split(data, size, cuts, 2, whole_rc, err, points);
    if (size > 0 && size < 2048) { /* byte by byte */
        size_t *each = malloc(size * sizeof(*each));
        if (!each)
            return 0;
        for (size_t i = 0; i < size; i++)
            each[i] = i;
        check_split(data, size, each, size, whole_rc, err, points);
        free(each);
    }
    if (whole_rc == 0) {
        /* A parsed point is a sample (finite) or a gap (NaN): never an infinity. */
        for (size_t j = 0; j < 11; j++)
            if (!isnan(points[j]) && !isfinite(points[j]))
                abort();
    } else if (memchr(err, '\0', sizeof(err)) == NULL) {
        abort(); /* the error message is always terminated */
    }

    /* The same bytes as a workload name: the expansion must stay one closed literal. */
    char *name = malloc(size + 1);
    char *q = NULL;
    if (!name)
        return 0;
    memcpy(name, data, size);
    name[size] = '\0';
    if (kd_promql_expand("x{job=\"$workload\"}", name, &q) == 0) {
        if (kd_promql_check(q, err, sizeof(err)) != 0 || q[strlen(q) - 1] != '}')
            abort();
        free(q);
    }
    free(name);
    return 0;
}
