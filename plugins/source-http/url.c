/* SPDX-License-Identifier: Apache-2.0 */
/* The forecaster request URL: see url.h. */
#include "url.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FORECAST_PATH "/forecast/current?workload="

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Writes the encoding of `text` into `out` (which must hold 3 * strlen + 1) and NUL-ends it. */
static void encode_into(const char *text, char *out)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (is_unreserved(*p)) {
            *out++ = (char)*p;
            continue;
        }
        *out++ = '%';
        *out++ = hex[*p >> 4];
        *out++ = hex[*p & 0xf];
    }
    *out = '\0';
}

int kd_url_encode(const char *text, char **ret_text)
{
    size_t len = strlen(text);

    if (len > (SIZE_MAX - 1) / 3)
        return -ENOMEM;
    char *out = malloc(3 * len + 1);
    if (!out)
        return -ENOMEM;
    encode_into(text, out);
    *ret_text = out;
    return 0;
}

int kd_url_forecast(const char *base, const char *workload, char **ret_url)
{
    size_t base_len = strlen(base);
    size_t workload_len = strlen(workload);

    while (base_len > 0 && base[base_len - 1] == '/')
        base_len--;
    if (base_len == 0)
        return -EINVAL;
    if (workload_len > (SIZE_MAX - base_len - sizeof(FORECAST_PATH)) / 3)
        return -ENOMEM;

    char *url = malloc(base_len + sizeof(FORECAST_PATH) - 1 + 3 * workload_len + 1);
    if (!url)
        return -ENOMEM;
    memcpy(url, base, base_len);
    memcpy(url + base_len, FORECAST_PATH, sizeof(FORECAST_PATH) - 1);
    encode_into(workload, url + base_len + sizeof(FORECAST_PATH) - 1);
    *ret_url = url;
    return 0;
}
