/* SPDX-License-Identifier: Apache-2.0 */
/* query_range responses: see prom_response.h. */
#include "prom_response.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

static int fail(int rc, char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(int rc, char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return rc;
}

static const char *str_or(const cJSON *item, const char *fallback)
{
    return cJSON_IsString(item) && item->valuestring ? item->valuestring : fallback;
}

/* Appends `{a="x", b="y"}` for one series' "metric" object to err (as much as fits). */
static void append_labels(const cJSON *metric, char *out, size_t out_len)
{
    size_t n = strlen(out);
    bool is_first = true;

#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (n < out_len)                                                                           \
            n += (size_t)snprintf(out + n, out_len - n, __VA_ARGS__);                              \
    } while (0)

    ADD("{");
    for (const cJSON *l = metric ? metric->child : NULL; l; l = l->next) {
        ADD("%s%s=\"%s\"", is_first ? "" : ", ", l->string ? l->string : "", str_or(l, "?"));
        is_first = false;
    }
    ADD("}");
#undef ADD
}

void kd_prom_response_format_time(int64_t ms, char *out, size_t out_len)
{
    time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;

    if (!gmtime_r(&s, &tm) || strftime(out, out_len, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(out, out_len, "%lld ms", (long long)ms);
        return;
    }
    size_t n = strlen(out);
    snprintf(out + n, out_len - n, ".%03dZ", (int)(ms - (int64_t)s * 1000));
}

static int parse_points(const cJSON *values, const struct kd_prom_range *range, int64_t step_ms,
                        double *points, char *err, size_t err_len)
{
    char when[40];
    size_t i = 0;

    if (!cJSON_IsArray(values))
        return fail(-EBADMSG, err, err_len, "\"values\" is not an array");
    for (const cJSON *p = values->child; p; p = p->next, i++) {
        const cJSON *ts = cJSON_GetArrayItem(p, 0), *val = cJSON_GetArrayItem(p, 1);
        if (!cJSON_IsArray(p) || cJSON_GetArraySize(p) != 2 || !cJSON_IsNumber(ts))
            return fail(-EBADMSG, err, err_len,
                        "values[%zu] is not a [<unix time>, \"<value>\"] pair", i);
        double ms_f = ts->valuedouble * 1000.0;
        if (!(fabs(ms_f) < 9e15))
            return fail(-EBADMSG, err, err_len, "values[%zu]: time out of range", i);
        int64_t ms = (int64_t)llround(ms_f);
        int64_t off = ms - range->start_ms;
        kd_prom_response_format_time(ms, when, sizeof(when));
        if (off < 0 || off % step_ms != 0 || (uint64_t)(off / step_ms) >= range->n_points)
            return fail(-EBADMSG, err, err_len,
                        "values[%zu]: time %s is not on the query's grid (start %lld ms, step "
                        "%lld ms, %zu points)",
                        i, when, (long long)range->start_ms, (long long)step_ms, range->n_points);
        size_t j = (size_t)(off / step_ms);
        if (!isnan(points[j]))
            return fail(-EBADMSG, err, err_len, "values[%zu]: time %s appears twice", i, when);
        if (!cJSON_IsString(val) || !val->valuestring)
            return fail(-EBADMSG, err, err_len, "values[%zu]: the value is not a string", i);
        const char *s = val->valuestring;
        char *end;
        double v = strtod(s, &end);
        if (end == s || *end != '\0' || strchr(s, 'x') || strchr(s, 'X') || s[0] == ' ')
            return fail(-EBADMSG, err, err_len, "values[%zu]: \"%.40s\" at %s is not a number", i,
                        s, when);
        if (!isfinite(v))
            return fail(-ERANGE, err, err_len,
                        "%s at %s: the query must give finite numbers (guard divisions, e.g. "
                        "\"x / (y > 0)\")",
                        isnan(v) ? "NaN"
                        : v > 0  ? "+Inf"
                                 : "-Inf",
                        when);
        points[j] = v;
    }
    return 0;
}

int kd_prom_response_parse(const char *body, size_t len, const struct kd_prom_range *range,
                           int64_t step_ms, double *points, size_t *ret_n_series, char *err,
                           size_t err_len)
{
    const char *end = NULL;
    int rc;

    if (err_len)
        err[0] = '\0';
    for (size_t j = 0; j < range->n_points; j++)
        points[j] = NAN;
    if (len == 0)
        return fail(-EBADMSG, err, err_len, "empty body");
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= body && at <= body + len ? (size_t)(at - body) : 0;
        return fail(-EBADMSG, err, err_len, "not JSON (at byte %zu)", off);
    }
    while (end && end < body + len && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    if (end && end < body + len) {
        rc = fail(-EBADMSG, err, err_len, "trailing bytes after the JSON value");
        goto out;
    }

    const char *status = str_or(cJSON_GetObjectItemCaseSensitive(root, "status"), NULL);
    if (status && strcmp(status, "error") == 0) {
        rc = fail(-EPROTO, err, err_len, "%s: %s",
                  str_or(cJSON_GetObjectItemCaseSensitive(root, "errorType"), "error"),
                  str_or(cJSON_GetObjectItemCaseSensitive(root, "error"), "(no error text)"));
        goto out;
    }
    if (!status || strcmp(status, "success") != 0) {
        rc = fail(-EBADMSG, err, err_len, "\"status\" is neither \"success\" nor \"error\"");
        goto out;
    }
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const char *type = str_or(cJSON_GetObjectItemCaseSensitive(data, "resultType"), "");
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(data, "result");
    if (strcmp(type, "matrix") != 0 || !cJSON_IsArray(result)) {
        rc = fail(-EBADMSG, err, err_len, "\"data\" is not a matrix result (resultType \"%s\")",
                  type);
        goto out;
    }
    size_t n = (size_t)cJSON_GetArraySize(result);
    if (n > 1) {
        size_t k = 0;
        snprintf(err, err_len,
                 "%zu series where one was expected (aggregate the query to one "
                 "series per workload, e.g. sum(...)): ",
                 n);
        for (const cJSON *s = result->child; s && k < KD_PROM_RESPONSE_MAX_SERIES_NAMED;
             s = s->next, k++) {
            if (k)
                strncat(err, ", ", err_len - strlen(err) - 1);
            append_labels(cJSON_GetObjectItemCaseSensitive(s, "metric"), err, err_len);
        }
        if (n > k)
            strncat(err, ", ...", err_len - strlen(err) - 1);
        rc = -E2BIG;
        goto out;
    }
    *ret_n_series = n;
    rc = 0;
    if (n == 1) {
        const cJSON *series = result->child;
        const cJSON *values = cJSON_GetObjectItemCaseSensitive(series, "values");
        if (!values && cJSON_GetObjectItemCaseSensitive(series, "histograms"))
            rc = fail(-EBADMSG, err, err_len,
                      "the series holds native histograms; the query must give floats "
                      "(e.g. histogram_quantile or histogram_count)");
        else
            rc = parse_points(values, range, step_ms, points, err, err_len);
    }
out:
    cJSON_Delete(root);
    return rc;
}
