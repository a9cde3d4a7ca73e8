/* SPDX-License-Identifier: Apache-2.0 */
/*
 * query_range responses (see prom_response.h), read from json_stream's tokens as they arrive:
 * no tree and no copy of the body, only what the checks need (the first occurrence of each
 * key, as cJSON's lookup gave, the label sets of the first series, the points of the first).
 * Everything is judged at the end, in the order the whole-body parser used, so a syntax error
 * anywhere still wins and the outcome does not depend on how the body was cut.
 */
#include "prom_response.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_stream.h"

#define PROM_MAX_DEPTH 1000        /* cJSON's nesting limit, which the old parser had */
#define PROM_MAX_TOKEN (64 * 1024) /* longer strings are cut (and then match nothing) */
#define TEXT_MAX 512

enum key {
    K_OTHER,
    K_STATUS,
    K_ERROR_TYPE,
    K_ERROR,
    K_DATA,
    K_RESULT_TYPE,
    K_RESULT,
    K_METRIC,
    K_VALUES,
    K_HISTOGRAMS,
    K_COUNT
};

static const char *const key_names[K_COUNT] = {
    "",           "status", "errorType", "error",  "data",
    "resultType", "result", "metric",    "values", "histograms",
};

/* A string value kept for the end, NULL-like until set. */
struct text {
    bool is_set;
    char s[TEXT_MAX];
};

struct kd_prom_response {
    struct kd_json_stream *tok;
    const struct kd_prom_range *range;
    int64_t step_ms;
    double *points;
    size_t fed;
    bool seen[K_COUNT]; /* per level: reset when the level's object starts */
    enum key key[5];    /* the key whose value comes next, at depths 1..4 */
    bool in_data, in_result, result_is_array, in_series, in_metric;
    struct text status, error_type, error, result_type;
    size_t n_series;
    /* the first KD_PROM_RESPONSE_MAX_SERIES_NAMED series' label sets, "{a="x"}, {...}" */
    char labels[TEXT_MAX];
    char label_name[TEXT_MAX];
    bool is_first_label;
    /* series 0: its values */
    bool has_values, values_is_array, in_values, has_histograms;
    size_t pair;    /* index of the pair being read */
    size_t n_items; /* in it */
    bool ts_is_number, value_is_string;
    double ts;
    char value[TEXT_MAX];
    bool value_is_cut;
    int point_rc;
    char point_err[TEXT_MAX];
};

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

static void append(char *out, size_t out_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void append(char *out, size_t out_len, const char *fmt, ...)
{
    size_t n = strlen(out);
    va_list ap;

    if (n + 1 >= out_len)
        return;
    va_start(ap, fmt);
    vsnprintf(out + n, out_len - n, fmt, ap);
    va_end(ap);
}

static void set_text(struct text *t, const struct kd_json_token *tok)
{
    if (tok->event != KD_JSON_STRING)
        return;
    t->is_set = true;
    snprintf(t->s, sizeof(t->s), "%s", tok->text);
    if (tok->is_cut || strlen(tok->text) != tok->len)
        t->s[sizeof(t->s) - 1] = '\0'; /* kept as far as it went; it matches no keyword */
}

static bool text_is(const struct text *t, const char *word)
{
    return t->is_set && strcmp(t->s, word) == 0;
}

static bool is_begin(const struct kd_json_token *t)
{
    return t->event == KD_JSON_OBJECT_BEGIN || t->event == KD_JSON_ARRAY_BEGIN;
}

static bool is_end(const struct kd_json_token *t)
{
    return t->event == KD_JSON_OBJECT_END || t->event == KD_JSON_ARRAY_END;
}

/* The first occurrence of a key among `wanted` at this level counts; later ones do not. */
static enum key key_of(struct kd_prom_response *r, const struct kd_json_token *t,
                       const enum key *wanted, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!t->is_cut && strcmp(t->text, key_names[wanted[i]]) == 0 && strlen(t->text) == t->len) {
            if (r->seen[wanted[i]] && wanted[i] != K_HISTOGRAMS)
                return K_OTHER;
            r->seen[wanted[i]] = true;
            return wanted[i];
        }
    }
    return K_OTHER;
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

/* The pair [time, "value"] at values[r->pair] ended: the checks of the whole-body parser. */
static void end_pair(struct kd_prom_response *r, bool is_array)
{
    const struct kd_prom_range *range = r->range;
    size_t i = r->pair++;
    char when[40], *e = r->point_err;
    size_t e_len = sizeof(r->point_err);

    if (r->point_rc)
        return;
    if (!is_array || r->n_items != 2 || !r->ts_is_number) {
        r->point_rc =
            fail(-EBADMSG, e, e_len, "values[%zu] is not a [<unix time>, \"<value>\"] pair", i);
        return;
    }
    double ms_f = r->ts * 1000.0;
    if (!(fabs(ms_f) < 9e15)) {
        r->point_rc = fail(-EBADMSG, e, e_len, "values[%zu]: time out of range", i);
        return;
    }
    int64_t ms = (int64_t)llround(ms_f);
    int64_t off = ms - range->start_ms;
    kd_prom_response_format_time(ms, when, sizeof(when));
    if (off < 0 || off % r->step_ms != 0 || (uint64_t)(off / r->step_ms) >= range->n_points) {
        r->point_rc =
            fail(-EBADMSG, e, e_len,
                 "values[%zu]: time %s is not on the query's grid (start %lld ms, "
                 "step %lld ms, %zu points)",
                 i, when, (long long)range->start_ms, (long long)r->step_ms, range->n_points);
        return;
    }
    size_t j = (size_t)(off / r->step_ms);
    if (!isnan(r->points[j])) {
        r->point_rc = fail(-EBADMSG, e, e_len, "values[%zu]: time %s appears twice", i, when);
        return;
    }
    if (!r->value_is_string) {
        r->point_rc = fail(-EBADMSG, e, e_len, "values[%zu]: the value is not a string", i);
        return;
    }
    const char *s = r->value;
    char *end;
    double v = strtod(s, &end);
    if (r->value_is_cut || end == s || *end != '\0' || strchr(s, 'x') || strchr(s, 'X') ||
        s[0] == ' ') {
        r->point_rc =
            fail(-EBADMSG, e, e_len, "values[%zu]: \"%.40s\" at %s is not a number", i, s, when);
        return;
    }
    if (!isfinite(v)) {
        r->point_rc = fail(-ERANGE, e, e_len,
                           "%s at %s: the query must give finite numbers (guard divisions, e.g. "
                           "\"x / (y > 0)\")",
                           isnan(v) ? "NaN"
                           : v > 0  ? "+Inf"
                                    : "-Inf",
                           when);
        return;
    }
    r->points[j] = v;
}

/* Inside series 0's values: pairs at depth 5, their items at 6. */
static void values_token(struct kd_prom_response *r, const struct kd_json_token *t)
{
    if (t->depth == 5) {
        if (t->event == KD_JSON_ARRAY_BEGIN) {
            r->n_items = 0;
            r->ts_is_number = r->value_is_string = r->value_is_cut = false;
        } else if (t->event == KD_JSON_ARRAY_END) {
            end_pair(r, true);
        } else if (!is_end(t)) {
            end_pair(r, false); /* a scalar or an object where a pair belongs */
        }
        return;
    }
    if (t->depth != 6 || is_end(t))
        return; /* inside an object in the list, or inside an item */
    size_t item = r->n_items++;
    if (item == 0 && t->event == KD_JSON_NUMBER) {
        r->ts_is_number = true;
        r->ts = strtod(t->text, NULL);
    } else if (item == 1 && t->event == KD_JSON_STRING) {
        r->value_is_string = true;
        r->value_is_cut = t->is_cut || t->len >= sizeof(r->value) || strlen(t->text) != t->len;
        snprintf(r->value, sizeof(r->value), "%s", t->text);
    }
}

/* One label of the first series' "metric", at depth 5: name="value" as the old text had. */
static void label_token(struct kd_prom_response *r, const struct kd_json_token *t)
{
    if (t->depth != 5 || is_end(t))
        return;
    if (t->event == KD_JSON_KEY) {
        snprintf(r->label_name, sizeof(r->label_name), "%s", t->text);
        return;
    }
    if (r->n_series > KD_PROM_RESPONSE_MAX_SERIES_NAMED)
        return;
    append(r->labels, sizeof(r->labels), "%s%s=\"%s\"", r->is_first_label ? "" : ", ",
           r->label_name, t->event == KD_JSON_STRING ? t->text : "?");
    r->is_first_label = false;
    r->label_name[0] = '\0';
}

static void series_token(struct kd_prom_response *r, const struct kd_json_token *t)
{
    static const enum key series_keys[] = {K_METRIC, K_VALUES, K_HISTOGRAMS};

    if (t->depth == 4) {
        if (t->event == KD_JSON_KEY) {
            r->key[4] = key_of(r, t, series_keys, 3);
            if (r->key[4] == K_HISTOGRAMS && r->n_series == 1)
                r->has_histograms = true;
            if (r->key[4] == K_VALUES && r->n_series == 1)
                r->has_values = true;
        } else if (r->key[4] == K_METRIC && is_begin(t)) {
            r->in_metric = true;
        } else if (r->key[4] == K_VALUES && r->n_series == 1 && is_begin(t)) {
            r->values_is_array = t->event == KD_JSON_ARRAY_BEGIN;
            r->in_values = r->values_is_array;
        } else if (is_end(t)) {
            r->in_metric = r->in_values = false;
        }
        return;
    }
    if (r->in_metric)
        label_token(r, t);
    else if (r->in_values)
        values_token(r, t);
}

/* An element of data.result at depth 3: a series begins or ends (or is not an object). */
static void series_edge(struct kd_prom_response *r, const struct kd_json_token *t)
{
    bool is_named = r->n_series < KD_PROM_RESPONSE_MAX_SERIES_NAMED;

    if (is_end(t)) {
        if (r->in_series && r->n_series <= KD_PROM_RESPONSE_MAX_SERIES_NAMED)
            append(r->labels, sizeof(r->labels), "}");
        r->in_series = false;
        return;
    }
    if (is_named)
        append(r->labels, sizeof(r->labels), "%s{%s", r->n_series ? ", " : "",
               t->event == KD_JSON_OBJECT_BEGIN ? "" : "}");
    r->n_series++;
    r->in_series = t->event == KD_JSON_OBJECT_BEGIN;
    r->is_first_label = true;
    r->seen[K_METRIC] = r->seen[K_VALUES] = false;
    r->key[4] = K_OTHER;
}

static int on_token(void *ctx, const struct kd_json_token *t, char *err, size_t err_len)
{
    static const enum key root_keys[] = {K_STATUS, K_ERROR_TYPE, K_ERROR, K_DATA};
    static const enum key data_keys[] = {K_RESULT_TYPE, K_RESULT};
    struct kd_prom_response *r = ctx;

    (void)err, (void)err_len; /* nothing is refused before the end */
    if (t->depth == 1 && t->event == KD_JSON_KEY) {
        r->key[1] = key_of(r, t, root_keys, 4);
    } else if (t->depth == 1) {
        if (r->key[1] == K_STATUS)
            set_text(&r->status, t);
        else if (r->key[1] == K_ERROR_TYPE)
            set_text(&r->error_type, t);
        else if (r->key[1] == K_ERROR)
            set_text(&r->error, t);
        else if (r->key[1] == K_DATA && t->event == KD_JSON_OBJECT_BEGIN)
            r->in_data = true;
        else if (r->key[1] == K_DATA && is_end(t))
            r->in_data = false;
        if (!is_begin(t))
            r->key[1] = K_OTHER;
    } else if (r->in_data && t->depth == 2 && t->event == KD_JSON_KEY) {
        r->key[2] = key_of(r, t, data_keys, 2);
    } else if (r->in_data && t->depth == 2) {
        if (r->key[2] == K_RESULT_TYPE)
            set_text(&r->result_type, t);
        else if (r->key[2] == K_RESULT && t->event == KD_JSON_ARRAY_BEGIN)
            r->in_result = r->result_is_array = true;
        else if (r->key[2] == K_RESULT && is_end(t))
            r->in_result = false;
        if (!is_begin(t))
            r->key[2] = K_OTHER;
    } else if (r->in_result && t->depth == 3) {
        series_edge(r, t);
    } else if (r->in_series && t->depth >= 4) {
        series_token(r, t);
    }
    return 0;
}

int kd_prom_response_new(const struct kd_prom_range *range, int64_t step_ms, double *points,
                         struct kd_prom_response **ret)
{
    struct kd_prom_response *r = calloc(1, sizeof(*r));

    if (!r)
        return -ENOMEM;
    if (kd_json_stream_new(PROM_MAX_DEPTH, PROM_MAX_TOKEN, on_token, r, &r->tok) < 0) {
        free(r);
        return -ENOMEM;
    }
    r->range = range;
    r->step_ms = step_ms;
    r->points = points;
    for (size_t j = 0; j < range->n_points; j++)
        points[j] = NAN;
    *ret = r;
    return 0;
}

/* The tokenizer's refusal in the words the cJSON-based parser used. */
static int syntax_error(const struct kd_prom_response *r, int rc, const char *why, char *err,
                        size_t err_len)
{
    if (rc == -ENOMEM)
        return fail(rc, err, err_len, "out of memory");
    if (r->fed == 0)
        return fail(-EBADMSG, err, err_len, "empty body");
    if (strncmp(why, "unexpected data after", 21) == 0)
        return fail(-EBADMSG, err, err_len, "trailing bytes after the JSON value");
    size_t at = kd_json_stream_offset(r->tok);
    return fail(-EBADMSG, err, err_len, "not JSON (at byte %zu): %s", at ? at - 1 : 0, why);
}

int kd_prom_response_feed(struct kd_prom_response *r, const char *data, size_t len, char *err,
                          size_t err_len)
{
    char why[KD_JSON_STREAM_ERR_MAX];

    r->fed += len;
    int rc = kd_json_stream_feed(r->tok, data, len, why, sizeof(why));
    return rc < 0 ? syntax_error(r, rc, why, err, err_len) : 0;
}

static int several_series(const struct kd_prom_response *r, char *err, size_t err_len)
{
    fail(-E2BIG, err, err_len,
         "%zu series where one was expected (aggregate the query to one series per workload, "
         "e.g. sum(...)): %s%s",
         r->n_series, r->labels, r->n_series > KD_PROM_RESPONSE_MAX_SERIES_NAMED ? ", ..." : "");
    return -E2BIG;
}

int kd_prom_response_finish(struct kd_prom_response *r, size_t *ret_n_series, char *err,
                            size_t err_len)
{
    char why[KD_JSON_STREAM_ERR_MAX];

    if (err_len)
        err[0] = '\0';
    int rc = kd_json_stream_finish(r->tok, why, sizeof(why));
    if (rc < 0)
        return syntax_error(r, rc, why, err, err_len);
    if (text_is(&r->status, "error"))
        return fail(-EPROTO, err, err_len, "%s: %s",
                    r->error_type.is_set ? r->error_type.s : "error",
                    r->error.is_set ? r->error.s : "(no error text)");
    if (!text_is(&r->status, "success"))
        return fail(-EBADMSG, err, err_len, "\"status\" is neither \"success\" nor \"error\"");
    if (!text_is(&r->result_type, "matrix") || !r->result_is_array)
        return fail(-EBADMSG, err, err_len, "\"data\" is not a matrix result (resultType \"%s\")",
                    r->result_type.is_set ? r->result_type.s : "");
    if (r->n_series > 1)
        return several_series(r, err, err_len);
    if (r->n_series == 1 && !r->has_values && r->has_histograms)
        return fail(-EBADMSG, err, err_len,
                    "the series holds native histograms; the query must give floats "
                    "(e.g. histogram_quantile or histogram_count)");
    if (r->n_series == 1 && !r->values_is_array)
        return fail(-EBADMSG, err, err_len, "\"values\" is not an array");
    if (r->n_series == 1 && r->point_rc)
        return fail(r->point_rc, err, err_len, "%s", r->point_err);
    *ret_n_series = r->n_series;
    return 0;
}

void kd_prom_response_free(struct kd_prom_response *r)
{
    if (!r)
        return;
    kd_json_stream_free(r->tok);
    free(r);
}

int kd_prom_response_parse(const char *body, size_t len, const struct kd_prom_range *range,
                           int64_t step_ms, double *points, size_t *ret_n_series, char *err,
                           size_t err_len)
{
    struct kd_prom_response *r;
    int rc;

    if (err_len)
        err[0] = '\0';
    rc = kd_prom_response_new(range, step_ms, points, &r);
    if (rc < 0)
        return fail(rc, err, err_len, "out of memory");
    rc = kd_prom_response_feed(r, body, len, err, err_len);
    if (rc == 0)
        rc = kd_prom_response_finish(r, ret_n_series, err, err_len);
    kd_prom_response_free(r);
    return rc;
}
