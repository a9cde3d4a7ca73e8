/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Forecast JSON -> struct kd_forecast views. cJSON builds the tree; the original text decides
 * what cJSON cannot tell (60 vs 60.0, int64 range). Two passes over the tree: the first
 * checks everything and measures, the second copies into one allocation owned by the doc.
 */
#include "forecast_json.h"

#include <errno.h>
#include <math.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "rfc3339.h"

struct ctx {
    const char *text;
    size_t end; /* where cJSON stopped: the scan for number literals ends here */
    size_t scan_pos;
    char where[24]; /* "[12]." inside an array document, "" for a single object */
    char *err;
    size_t err_len;
};

/* Measuring when base is NULL, so both passes run the same code. */
struct arena {
    char *base;
    size_t used;
};

enum field {
    F_WORKLOAD,
    F_METRIC,
    F_GENERATED_AT,
    F_STEP_SECONDS,
    F_HORIZON_SECONDS,
    F_VALUES,
    F_DESIRED_REPLICAS,
    F_COUNT
};

static const char *const field_names[F_COUNT] = {
    "workload",       "metric", "generatedAt",     "stepSeconds",
    "horizonSeconds", "values", "desiredReplicas",
};

KD_PRINTF(2, 3) static int fail(struct ctx *c, const char *fmt, ...)
{
    va_list ap;

    if (c->err_len == 0)
        return -EINVAL;
    int n = snprintf(c->err, c->err_len, "%s", c->where);
    if (n >= 0 && (size_t)n < c->err_len) {
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->err_len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static const char *type_name(const cJSON *item)
{
    if (cJSON_IsNull(item))
        return "null";
    if (cJSON_IsBool(item))
        return "a boolean";
    if (cJSON_IsNumber(item))
        return "a number";
    if (cJSON_IsString(item))
        return "a string";
    if (cJSON_IsArray(item))
        return "an array";
    return "an object";
}

static void *arena_take(struct arena *a, size_t size)
{
    void *p = a->base ? a->base + a->used : NULL;

    a->used += (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    return p;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool is_number_char(char ch)
{
    return is_digit(ch) || ch == '-' || ch == '+' || ch == '.' || ch == 'e' || ch == 'E';
}

static size_t number_len(const char *p, size_t max)
{
    size_t n = 0;

    while (n < max && is_number_char(p[n]))
        n++;
    return n;
}

/* RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? ; cJSON's strtod takes more. */
static bool is_json_number(const char *p, size_t n)
{
    size_t i = 0;

    if (i < n && p[i] == '-')
        i++;
    if (i < n && p[i] == '0') {
        i++;
    } else if (i < n && is_digit(p[i])) {
        while (i < n && is_digit(p[i]))
            i++;
    } else {
        return false;
    }
    if (i < n && p[i] == '.') {
        size_t start = ++i;
        while (i < n && is_digit(p[i]))
            i++;
        if (i == start)
            return false;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        size_t start = i;
        while (i < n && is_digit(p[i]))
            i++;
        if (i == start)
            return false;
    }
    return i == n;
}

static void line_column(const char *text, size_t off, size_t *ret_line, size_t *ret_col)
{
    size_t line = 1, col = 1;

    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    *ret_line = line;
    *ret_col = col;
}

/* The next number literal of the text in document order; string contents are skipped. */
static size_t next_number(struct ctx *c)
{
    while (c->scan_pos < c->end) {
        char ch = c->text[c->scan_pos];
        if (ch == '"') {
            c->scan_pos++;
            while (c->scan_pos < c->end && c->text[c->scan_pos] != '"')
                c->scan_pos += c->text[c->scan_pos] == '\\' ? 2 : 1;
            c->scan_pos++;
        } else if (ch == '-' || is_digit(ch)) {
            size_t start = c->scan_pos;
            c->scan_pos += number_len(c->text + start, c->end - start);
            return start;
        } else {
            c->scan_pos++;
        }
    }
    return c->end;
}

/*
 * Walk the tree in document order (the order cJSON keeps), pairing every number node with its
 * literal. The literal's offset goes into valueint, which cJSON only fills with a saturated
 * copy of valuedouble that we never use; the document cap keeps offsets within int.
 */
static int annotate(struct ctx *c, cJSON *item, int depth)
{
    if (depth > KD_FORECAST_JSON_MAX_DEPTH)
        return fail(c, "nesting deeper than %d levels", KD_FORECAST_JSON_MAX_DEPTH);
    if (cJSON_IsNumber(item)) {
        size_t off = next_number(c);
        size_t n = number_len(c->text + off, c->end - off);
        if (off >= c->end || !is_json_number(c->text + off, n)) {
            size_t line, col;
            line_column(c->text, off, &line, &col);
            return fail(c, "line %zu, column %zu: invalid number \"%.*s\"", line, col,
                        (int)(n > 40 ? 40 : n), c->text + off);
        }
        item->valueint = (int)off;
        return 0;
    }
    for (cJSON *child = item->child; child; child = child->next) {
        int rc = annotate(c, child, depth + 1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static const char *literal(const struct ctx *c, const cJSON *number, int *ret_len)
{
    size_t off = (size_t)number->valueint;

    *ret_len = (int)number_len(c->text + off, c->end - off);
    return c->text + off;
}

static int get_int(struct ctx *c, const cJSON *item, const char *name, const char *index,
                   int64_t *ret_value)
{
    if (!cJSON_IsNumber(item))
        return fail(c, "%s%s: expected an integer, got %s", name, index, type_name(item));

    int n;
    const char *lit = literal(c, item, &n);
    if (memchr(lit, '.', (size_t)n) || memchr(lit, 'e', (size_t)n) || memchr(lit, 'E', (size_t)n))
        return fail(c, "%s%s: not an integer (%.*s)", name, index, n, lit);

    char buf[32];
    if ((size_t)n >= sizeof(buf))
        return fail(c, "%s%s: out of the int64 range (%.*s)", name, index, n, lit);
    memcpy(buf, lit, (size_t)n);
    buf[n] = '\0';
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno == ERANGE)
        return fail(c, "%s%s: out of the int64 range (%s)", name, index, buf);
    *ret_value = v;
    return 0;
}

static int get_string(struct ctx *c, const cJSON *item, enum field f, struct arena *a,
                      const char **ret_value)
{
    const char *s = "";

    if (item && cJSON_IsString(item)) {
        s = item->valuestring;
        for (const char *p = s; *p; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return fail(c, "%s: contains a control character", field_names[f]);
        }
    } else if (item && !cJSON_IsNull(item)) {
        return fail(c, "%s: expected a string, got %s", field_names[f], type_name(item));
    }

    size_t n = strlen(s) + 1;
    char *copy = arena_take(a, n);
    if (copy)
        memcpy(copy, s, n);
    *ret_value = copy;
    return 0;
}

static int get_seconds(struct ctx *c, const cJSON *item, enum field f, int64_t *ret_value)
{
    int64_t v = 0;

    if (item && !cJSON_IsNull(item)) {
        int rc = get_int(c, item, field_names[f], "", &v);
        if (rc < 0)
            return rc;
        if (v < 0)
            return fail(c, "%s: must not be negative (%lld)", field_names[f], (long long)v);
    }
    *ret_value = v;
    return 0;
}

static int get_time(struct ctx *c, const cJSON *item, int64_t *ret_ms)
{
    int64_t ms = 0;

    if (item && cJSON_IsString(item)) {
        const char *s = item->valuestring;
        int rc = kd_rfc3339_parse(s, strlen(s), &ms);
        if (rc == -ERANGE)
            return fail(c, "generatedAt: \"%.64s\" has a field out of range", s);
        if (rc < 0)
            return fail(c,
                        "generatedAt: \"%.64s\" is not an RFC 3339 time "
                        "like 2025-10-16T17:35:00Z or 2025-10-16T19:35:00.5+02:00",
                        s);
    } else if (item && !cJSON_IsNull(item)) {
        return fail(c, "generatedAt: expected an RFC 3339 string, got %s", type_name(item));
    }
    *ret_ms = ms;
    return 0;
}

static int array_size(struct ctx *c, const cJSON *item, enum field f, size_t *ret_n)
{
    size_t n = 0;

    if (item && cJSON_IsArray(item)) {
        for (const cJSON *e = item->child; e; e = e->next) {
            if (++n > KD_FORECAST_JSON_MAX_POINTS)
                return fail(c, "%s: more than %d elements", field_names[f],
                            KD_FORECAST_JSON_MAX_POINTS);
        }
    } else if (item && !cJSON_IsNull(item)) {
        return fail(c, "%s: expected an array, got %s", field_names[f], type_name(item));
    }
    *ret_n = n;
    return 0;
}

static int get_values(struct ctx *c, const cJSON *item, struct arena *a, const double **ret_values,
                      size_t *ret_n)
{
    size_t n;
    int rc = array_size(c, item, F_VALUES, &n);
    if (rc < 0)
        return rc;

    double *out = arena_take(a, n * sizeof(*out));
    size_t i = 0;
    for (const cJSON *e = n ? item->child : NULL; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e))
            return fail(c, "values[%zu]: expected a number, got %s", i, type_name(e));
        if (!isfinite(e->valuedouble)) {
            int len;
            const char *lit = literal(c, e, &len);
            return fail(c, "values[%zu]: out of range (%.*s)", i, len, lit);
        }
        if (out)
            out[i] = e->valuedouble;
    }
    *ret_values = out;
    *ret_n = n;
    return 0;
}

static int get_replicas(struct ctx *c, const cJSON *item, struct arena *a,
                        const int64_t **ret_replicas, size_t *ret_n)
{
    size_t n;
    int rc = array_size(c, item, F_DESIRED_REPLICAS, &n);
    if (rc < 0)
        return rc;

    int64_t *out = arena_take(a, n * sizeof(*out));
    size_t i = 0;
    for (const cJSON *e = n ? item->child : NULL; e; e = e->next, i++) {
        char index[24];
        int64_t v;
        snprintf(index, sizeof(index), "[%zu]", i);
        rc = get_int(c, e, "desiredReplicas", index, &v);
        if (rc < 0)
            return rc;
        if (v < 0)
            return fail(c, "desiredReplicas[%zu]: negative (%lld); replica counts are >= 0", i,
                        (long long)v);
        if (out)
            out[i] = v;
    }
    *ret_replicas = out;
    *ret_n = n;
    return 0;
}

static int parse_forecast(struct ctx *c, const cJSON *obj, struct arena *a,
                          struct kd_forecast *ret_forecast)
{
    const cJSON *fields[F_COUNT] = {NULL};
    struct kd_forecast fc = {KD_FORECAST_INIT};
    int rc;

    /* Last one wins for duplicates, as in encoding/json. */
    for (const cJSON *m = obj->child; m; m = m->next) {
        for (int f = 0; f < F_COUNT; f++) {
            if (m->string && strcasecmp(m->string, field_names[f]) == 0)
                fields[f] = m;
        }
    }

    rc = get_string(c, fields[F_WORKLOAD], F_WORKLOAD, a, &fc.workload);
    if (rc == 0)
        rc = get_string(c, fields[F_METRIC], F_METRIC, a, &fc.metric);
    if (rc == 0)
        rc = get_time(c, fields[F_GENERATED_AT], &fc.generated_at_ms);
    if (rc == 0)
        rc = get_seconds(c, fields[F_STEP_SECONDS], F_STEP_SECONDS, &fc.step_seconds);
    if (rc == 0)
        rc = get_seconds(c, fields[F_HORIZON_SECONDS], F_HORIZON_SECONDS, &fc.horizon_seconds);
    if (rc == 0)
        rc = get_values(c, fields[F_VALUES], a, &fc.values, &fc.n_values);
    if (rc == 0)
        rc = get_replicas(c, fields[F_DESIRED_REPLICAS], a, &fc.desired_replicas,
                          &fc.n_desired_replicas);
    if (rc < 0)
        return rc;
    *ret_forecast = fc;
    return 0;
}

/* One pass over the top level; with a NULL arena base it only checks and measures. */
static int parse_all(struct ctx *c, const cJSON *root, struct arena *a,
                     struct kd_forecast *forecasts)
{
    struct kd_forecast scratch;

    if (cJSON_IsObject(root)) {
        c->where[0] = '\0';
        return parse_forecast(c, root, a, forecasts ? &forecasts[0] : &scratch);
    }
    size_t i = 0;
    for (const cJSON *e = root->child; e; e = e->next, i++) {
        snprintf(c->where, sizeof(c->where), "[%zu].", i);
        if (!cJSON_IsObject(e)) {
            snprintf(c->where, sizeof(c->where), "[%zu]", i);
            return fail(c, ": expected a forecast object, got %s", type_name(e));
        }
        int rc = parse_forecast(c, e, a, forecasts ? &forecasts[i] : &scratch);
        if (rc < 0)
            return rc;
    }
    c->where[0] = '\0';
    return 0;
}

static int count_forecasts(struct ctx *c, const cJSON *root, size_t *ret_n)
{
    size_t n = 0;

    if (cJSON_IsObject(root)) {
        *ret_n = 1;
        return 0;
    }
    if (!cJSON_IsArray(root))
        return fail(c, "expected a forecast object or an array of them, got %s", type_name(root));
    for (const cJSON *e = root->child; e; e = e->next) {
        if (++n > KD_FORECAST_JSON_MAX_FORECASTS)
            return fail(c, "more than %d forecasts in one document",
                        KD_FORECAST_JSON_MAX_FORECASTS);
    }
    if (n == 0)
        return fail(c, "an empty array holds no forecast");
    *ret_n = n;
    return 0;
}

static int parse_tree(struct ctx *c, size_t len, cJSON **ret_root)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(c->text, len, &end, false);

    if (!root) {
        size_t off = end && end >= c->text ? (size_t)(end - c->text) : 0;
        size_t line, col;
        if (off > len)
            off = len;
        line_column(c->text, off, &line, &col);
        return fail(c, "invalid JSON at line %zu, column %zu", line, col);
    }
    c->end = (size_t)(end - c->text);
    for (size_t i = c->end; i < len; i++) {
        if (!is_space(c->text[i])) {
            size_t line, col;
            line_column(c->text, i, &line, &col);
            cJSON_Delete(root);
            return fail(c, "unexpected data after the JSON value at line %zu, column %zu", line,
                        col);
        }
    }
    *ret_root = root;
    return 0;
}

int kd_forecast_json_parse(const char *text, size_t len, struct kd_forecast_doc **ret_doc,
                           char *err, size_t err_len)
{
    struct ctx c = {.text = text, .err = err, .err_len = err_len};
    struct arena measure = {0}, fill = {0};
    struct kd_forecast_doc *doc;
    struct kd_forecast *forecasts;
    cJSON *root = NULL;
    size_t n = 0;
    int rc;

    if (err_len)
        err[0] = '\0';
    if (len > KD_FORECAST_JSON_MAX_BYTES)
        return fail(&c, "document of %zu bytes, at most %u", len, KD_FORECAST_JSON_MAX_BYTES);
    size_t first = 0;
    while (first < len && is_space(text[first]))
        first++;
    if (first == len)
        return fail(&c, "empty document");

    rc = parse_tree(&c, len, &root);
    if (rc < 0)
        return rc;
    if ((rc = annotate(&c, root, 1)) < 0 || (rc = count_forecasts(&c, root, &n)) < 0)
        goto fail_root;

    arena_take(&measure, sizeof(struct kd_forecast_doc));
    arena_take(&measure, n * sizeof(struct kd_forecast));
    if ((rc = parse_all(&c, root, &measure, NULL)) < 0)
        goto fail_root;

    fill.base = malloc(measure.used);
    if (!fill.base) {
        rc = -ENOMEM;
        fail(&c, "out of memory for a document of %zu bytes", len);
        goto fail_root;
    }
    doc = arena_take(&fill, sizeof(*doc));
    forecasts = arena_take(&fill, n * sizeof(*forecasts));
    if ((rc = parse_all(&c, root, &fill, forecasts)) < 0)
        goto fail_fill;
    doc->n_forecasts = n;
    doc->forecasts = forecasts;

    cJSON_Delete(root);
    *ret_doc = doc;
    return 0;

fail_fill:
    free(fill.base);
fail_root:
    cJSON_Delete(root);
    return rc;
}

void kd_forecast_json_free(struct kd_forecast_doc *doc)
{
    free(doc);
}
