/* SPDX-License-Identifier: Apache-2.0 */
/* Response helpers for the http source: see response.h. */
#include "response.h"

#include <stdbool.h>
#include <string.h>

void kd_response_excerpt(const char *body, size_t len, char *out, size_t out_len)
{
    size_t n = 0, start = 0;
    bool is_cut = len > KD_RESPONSE_EXCERPT_MAX;

    if (out_len == 0)
        return;
    if (is_cut)
        len = KD_RESPONSE_EXCERPT_MAX;
    while (start < len && (unsigned char)body[start] <= ' ')
        start++;
    for (size_t i = start; i < len && n + 1 < out_len; i++) {
        unsigned char c = (unsigned char)body[i];
        out[n++] = c < ' ' ? ' ' : c >= 0x7f ? '?' : (char)c;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    if (is_cut && n + 3 < out_len) {
        memcpy(out + n, "...", 3);
        out[n + 3] = '\0';
    }
}

const struct kd_forecast *kd_response_pick(const struct kd_forecast_doc *doc, const char *workload)
{
    for (size_t i = 0; i < doc->n_forecasts; i++) {
        if (doc->forecasts[i].workload && strcmp(doc->forecasts[i].workload, workload) == 0)
            return &doc->forecasts[i];
    }
    return &doc->forecasts[0];
}
