/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The forecast parser fed whole and fed in pieces (plugins/common/forecast_json.c on
 * json_stream.c) must agree: the same document or the same error text, whatever the cuts.
 * Input: one byte n (cuts = n % 8), n % 8 two-byte cut offsets, then the document.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forecast_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The document written out, so that two outcomes compare as strings. */
static size_t summarize(const struct kd_forecast_doc *doc, char *out, size_t out_len)
{
    size_t n = (size_t)snprintf(out, out_len, "%zu:", doc->n_forecasts);

    for (size_t i = 0; i < doc->n_forecasts && n < out_len; i++) {
        const struct kd_forecast *f = &doc->forecasts[i];
        n += (size_t)snprintf(out + n, out_len - n, "[%s|%s|%lld|%lld|%lld|%zu|%zu|", f->workload,
                              f->metric, (long long)f->generated_at_ms, (long long)f->step_seconds,
                              (long long)f->horizon_seconds, f->n_values, f->n_desired_replicas);
        for (size_t k = 0; k < f->n_values && n < out_len; k++)
            n += (size_t)snprintf(out + n, out_len - n, "%a,", f->values[k]);
        for (size_t k = 0; k < f->n_desired_replicas && n < out_len; k++)
            n += (size_t)snprintf(out + n, out_len - n, "%lld;", (long long)f->desired_replicas[k]);
    }
    return n;
}

static void outcome(int rc, struct kd_forecast_doc *doc, const char *err, char *out, size_t out_len)
{
    if (rc < 0) {
        snprintf(out, out_len, "error %d %s", rc, err);
        return;
    }
    int n = snprintf(out, out_len, "ok ");
    summarize(doc, out + n, out_len - (size_t)n);
    kd_forecast_json_free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char whole[1 << 16], split[1 << 16];
    size_t cuts[8], n_cuts;
    struct kd_forecast_doc *doc = NULL;
    struct kd_forecast_json_stream *s;
    char err[256];

    if (size < 1)
        return 0;
    n_cuts = data[0] % 8;
    if (size < 1 + 2 * n_cuts)
        return 0;
    const char *text = (const char *)data + 1 + 2 * n_cuts;
    size_t len = size - 1 - 2 * n_cuts;
    for (size_t i = 0; i < n_cuts; i++) {
        size_t at = (size_t)data[1 + 2 * i] << 8 | data[2 + 2 * i];
        cuts[i] = len ? at % (len + 1) : 0;
    }
    for (size_t i = 1; i < n_cuts; i++) { /* ascending: insertion sort of at most 8 */
        for (size_t k = i; k > 0 && cuts[k - 1] > cuts[k]; k--) {
            size_t tmp = cuts[k];
            cuts[k] = cuts[k - 1];
            cuts[k - 1] = tmp;
        }
    }

    int rc = kd_forecast_json_parse(text, len, &doc, err, sizeof(err));
    outcome(rc, doc, err, whole, sizeof(whole));

    if (kd_forecast_json_stream_new(&s) < 0)
        abort();
    size_t at = 0;
    rc = 0;
    for (size_t i = 0; i <= n_cuts && rc == 0; i++) {
        size_t end = i < n_cuts ? cuts[i] : len;
        rc = kd_forecast_json_stream_feed(s, text + at, end - at, err, sizeof(err));
        at = end;
    }
    doc = NULL;
    if (rc == 0)
        rc = kd_forecast_json_stream_finish(s, &doc, err, sizeof(err));
    kd_forecast_json_stream_free(s);
    outcome(rc, doc, err, split, sizeof(split));
    if (strcmp(whole, split) != 0) {
        fprintf(stderr, "whole: %.300s\nsplit: %.300s\n", whole, split);
        abort();
    }
    return 0;
}
