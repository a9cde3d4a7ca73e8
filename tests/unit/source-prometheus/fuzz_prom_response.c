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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct kd_prom_range range = {
        .start_ms = 1700000000000, .end_ms = 1700000600000, .n_points = 11};
    double points[11];
    size_t n_series;
    char err[256];

    if (kd_prom_response_parse((const char *)data, size, &range, 60000, points, &n_series, err,
                               sizeof(err)) == 0) {
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
