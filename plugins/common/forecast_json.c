/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Forecast JSON -> struct kd_forecast, built from json_stream's tokens as they come: nothing
 * of the text is kept, only the forecasts. A field's problem is noted in its slot and judged
 * when the forecast object ends, because a later duplicate key may still replace it (the last
 * one wins, as in encoding/json) and because fields are judged in a fixed order.
 */
#include "forecast_json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_stream.h"
#include "rfc3339.h"

#define ERR_MAX KD_JSON_STREAM_ERR_MAX

enum field {
    F_WORKLOAD,
    F_METRIC,
    F_GENERATED_AT,
    F_STEP_SECONDS,
    F_HORIZON_SECONDS,
    F_VALUES,
    F_DESIRED_REPLICAS,
    F_COUNT /* an unknown key */
};

static const char *const field_names[F_COUNT] = {
    "workload",       "metric", "generatedAt",     "stepSeconds",
    "horizonSeconds", "values", "desiredReplicas",
};

/* The forecast object being read. */
struct building {
    char *strings[2]; /* workload, metric; NULL means "" */
    int64_t generated_at_ms, step_seconds, horizon_seconds;
    double *values;
    size_t n_values, cap_values;
    int64_t *replicas;
    size_t n_replicas, cap_replicas;
    char err[F_COUNT][ERR_MAX]; /* the first problem of each field's last occurrence */
};

struct doc {
    struct kd_forecast_doc pub; /* first: kd_forecast_json_free() gets this back */
    struct kd_forecast *items;
    size_t cap;
};

enum top { TOP_NONE, TOP_OBJECT, TOP_ARRAY, TOP_OTHER };

struct kd_forecast_json_stream {
    struct kd_json_stream *tok;
    size_t bytes;
    enum top top;
    size_t forecast_depth; /* where forecast objects are: 0 (one object) or 1 (an array) */
    bool in_forecast;
    size_t n_elements; /* of the top-level array */
    enum field field;  /* of the member whose value comes next */
    enum field array;  /* F_VALUES or F_DESIRED_REPLICAS while reading one, else F_COUNT */
    size_t n_array;    /* elements of that array so far */
    struct building cur;
    struct doc *doc;
    bool has_pending; /* a problem other than syntax or a limit: in pending, told at the end */
    char pending[ERR_MAX];
    unsigned bom; /* bytes of a leading UTF-8 BOM matched so far; 3 or BOM_DONE: past it */
    int rc;       /* once failed */
    char err[ERR_MAX];
};

/* A leading UTF-8 byte order mark is skipped, as cJSON did: editors on some systems write one
 * into forecast files. */
#define BOM "\xEF\xBB\xBF"
#define BOM_DONE 4u

static const char *type_name(enum kd_json_event ev)
{
    switch (ev) {
    case KD_JSON_NULL:
        return "null";
    case KD_JSON_TRUE:
    case KD_JSON_FALSE:
        return "a boolean";
    case KD_JSON_NUMBER:
        return "a number";
    case KD_JSON_STRING:
        return "a string";
    case KD_JSON_ARRAY_BEGIN:
        return "an array";
    default:
        return "an object";
    }
}

/* "[i]." inside an array document, "" for a single object: every message starts with it. */
static void where(const struct kd_forecast_json_stream *b, char *out, size_t out_len)
{
    if (b->top == TOP_ARRAY && b->n_elements > 0)
        snprintf(out, out_len, "[%zu].", b->n_elements - 1);
    else
        out[0] = '\0';
}

KD_PRINTF(3, 4)
static int fail(const struct kd_forecast_json_stream *b, char *err, const char *fmt, ...)
{
    va_list ap;
    char prefix[32];

    where(b, prefix, sizeof(prefix));
    int n = snprintf(err, ERR_MAX, "%s", prefix);
    va_start(ap, fmt);
    vsnprintf(err + n, ERR_MAX - (size_t)n, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/*
 * A problem that is not syntax or a limit waits for the end of the text, so that a syntax error
 * anywhere still wins, as when cJSON parsed the whole text first; the first one in document
 * order is told. Nothing more is built meanwhile.
 */
KD_PRINTF(2, 3) static void doc_error(struct kd_forecast_json_stream *b, const char *fmt, ...)
{
    va_list ap;
    char prefix[32];

    if (b->has_pending)
        return;
    b->has_pending = true;
    b->in_forecast = false;
    where(b, prefix, sizeof(prefix));
    int n = snprintf(b->pending, ERR_MAX, "%s", prefix);
    va_start(ap, fmt);
    vsnprintf(b->pending + n, ERR_MAX - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Notes the first problem of field f's current occurrence; the object's end decides. */
KD_PRINTF(3, 4)
static void note(struct kd_forecast_json_stream *b, enum field f, const char *fmt, ...)
{
    va_list ap;

    if (b->cur.err[f][0])
        return;
    va_start(ap, fmt);
    vsnprintf(b->cur.err[f], ERR_MAX, fmt, ap);
    va_end(ap);
}

static void building_fini(struct building *cur)
{
    free(cur->strings[0]);
    free(cur->strings[1]);
    free(cur->values);
    free(cur->replicas);
    memset(cur, 0, sizeof(*cur));
}

/* A key names field f again: its earlier occurrence no longer counts. */
static void field_reset(struct building *cur, enum field f)
{
    cur->err[f][0] = '\0';
    switch (f) {
    case F_WORKLOAD:
    case F_METRIC:
        free(cur->strings[f]);
        cur->strings[f] = NULL;
        break;
    case F_GENERATED_AT:
        cur->generated_at_ms = 0;
        break;
    case F_STEP_SECONDS:
        cur->step_seconds = 0;
        break;
    case F_HORIZON_SECONDS:
        cur->horizon_seconds = 0;
        break;
    case F_VALUES:
        cur->n_values = 0;
        break;
    default:
        cur->n_replicas = 0;
        break;
    }
}

static enum field field_of(const char *key, size_t len)
{
    for (int f = 0; f < F_COUNT; f++) {
        const char *name = field_names[f];
        size_t i = 0;
        while (i < len && name[i] && (key[i] | 0x20) == (name[i] | 0x20) &&
               ((key[i] | 0x20) >= 'a' && (key[i] | 0x20) <= 'z'))
            i++;
        if (i == len && name[i] == '\0')
            return (enum field)f; /* ASCII letters only, so |0x20 is a case fold */
    }
    return F_COUNT;
}

/* ---- Scalars ------------------------------------------------------------------------------ */

/*
 * Go wants an int: no fraction or exponent even when integral (60.0, 1e2), within int64.
 * `element` is the array index for messages, or SIZE_MAX outside an array; the "[i]" text is
 * made only for a message, as this runs for every element of desiredReplicas.
 */
static int int_of(struct kd_forecast_json_stream *b, enum field f, size_t element,
                  const struct kd_json_token *t, int64_t *ret_value)
{
    const char *name = field_names[f];
    char index[24] = "";

    long long v = 0;
    errno = 0;
    if (t->event == KD_JSON_NUMBER && t->is_integer && t->len < 32)
        v = strtoll(t->text, NULL, 10);
    if (t->event == KD_JSON_NUMBER && t->is_integer && t->len < 32 && errno != ERANGE) {
        *ret_value = v;
        return 0;
    }
    if (element != SIZE_MAX)
        snprintf(index, sizeof(index), "[%zu]", element);
    if (t->event != KD_JSON_NUMBER)
        note(b, f, "%s%s: expected an integer, got %s", name, index, type_name(t->event));
    else if (!t->is_integer)
        note(b, f, "%s%s: not an integer (%.*s)", name, index, (int)t->len, t->text);
    else
        note(b, f, "%s%s: out of the int64 range (%.*s)", name, index, (int)t->len, t->text);
    return -EINVAL;
}

static int out_of_memory(char *err);

/* -ENOMEM ends the parse at once (the caller may retry); a bad string is only noted. */
static int set_string(struct kd_forecast_json_stream *b, enum field f,
                      const struct kd_json_token *t, char *err)
{
    if (t->is_cut) {
        note(b, f, "%s: longer than %u bytes", field_names[f], KD_FORECAST_JSON_MAX_TOKEN);
        return 0;
    }
    for (size_t i = 0; i < t->len; i++) {
        unsigned char c = (unsigned char)t->text[i];
        if (c < 0x20 || c == 0x7f) {
            note(b, f, "%s: contains a control character", field_names[f]);
            return 0;
        }
    }
    char *copy = malloc(t->len + 1);
    if (!copy)
        return out_of_memory(err);
    memcpy(copy, t->text, t->len + 1);
    b->cur.strings[f] = copy;
    return 0;
}

static void set_time(struct kd_forecast_json_stream *b, const struct kd_json_token *t)
{
    int rc = t->is_cut ? -EINVAL : kd_rfc3339_parse(t->text, t->len, &b->cur.generated_at_ms);
    int n = (int)(t->len > 64 ? 64 : t->len);

    if (rc == -ERANGE)
        note(b, F_GENERATED_AT, "generatedAt: \"%.*s\" has a field out of range", n, t->text);
    else if (rc < 0)
        note(b, F_GENERATED_AT,
             "generatedAt: \"%.*s\" is not an RFC 3339 time "
             "like 2025-10-16T17:35:00Z or 2025-10-16T19:35:00.5+02:00",
             n, t->text);
    if (rc < 0)
        b->cur.generated_at_ms = 0;
}

/* The value of a known member, anything but an array of values or desiredReplicas. */
static int member_value(struct kd_forecast_json_stream *b, enum field f,
                        const struct kd_json_token *t, char *err)
{
    int64_t v = 0;

    if (t->event == KD_JSON_NULL)
        return 0; /* as missing: field_reset left the zero value */
    switch (f) {
    case F_WORKLOAD:
    case F_METRIC:
        if (t->event == KD_JSON_STRING)
            return set_string(b, f, t, err);
        else
            note(b, f, "%s: expected a string, got %s", field_names[f], type_name(t->event));
        break;
    case F_GENERATED_AT:
        if (t->event == KD_JSON_STRING)
            set_time(b, t);
        else
            note(b, f, "generatedAt: expected an RFC 3339 string, got %s", type_name(t->event));
        break;
    case F_STEP_SECONDS:
    case F_HORIZON_SECONDS:
        if (int_of(b, f, SIZE_MAX, t, &v) < 0)
            break;
        if (v < 0)
            note(b, f, "%s: must not be negative (%lld)", field_names[f], (long long)v);
        else if (f == F_STEP_SECONDS)
            b->cur.step_seconds = v;
        else
            b->cur.horizon_seconds = v;
        break;
    default:
        note(b, f, "%s: expected an array, got %s", field_names[f], type_name(t->event));
        break;
    }
    return 0;
}

/* ---- Arrays ------------------------------------------------------------------------------- */

static int out_of_memory(char *err)
{
    snprintf(err, ERR_MAX, "out of memory");
    return -ENOMEM;
}

static int grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t want = *cap ? *cap * 2 : 16;
    void *p = realloc(*items, want * size);
    if (!p)
        return -ENOMEM;
    *items = p;
    *cap = want;
    return 0;
}

/* One element of values or desiredReplicas; the limit is checked here, as it arrives. */
static int array_element(struct kd_forecast_json_stream *b, const struct kd_json_token *t,
                         char *err)
{
    struct building *c = &b->cur;
    enum field f = b->array;
    size_t i = b->n_array++;

    if (b->n_array > KD_FORECAST_JSON_MAX_POINTS)
        return fail(b, err, "%s: more than %d elements", field_names[f],
                    KD_FORECAST_JSON_MAX_POINTS);
    if (c->err[f][0])
        return 0; /* this occurrence already failed; only the count still matters */
    if (f == F_VALUES) {
        double d = t->event == KD_JSON_NUMBER ? strtod(t->text, NULL) : 0;
        if (t->event != KD_JSON_NUMBER)
            note(b, f, "values[%zu]: expected a number, got %s", i, type_name(t->event));
        else if (!isfinite(d))
            note(b, f, "values[%zu]: out of range (%.*s)", i, (int)t->len, t->text);
        else if (grow((void **)&c->values, &c->cap_values, c->n_values, sizeof(double)) < 0)
            return out_of_memory(err);
        else
            c->values[c->n_values++] = d;
        return 0;
    }
    int64_t v;
    if (int_of(b, f, i, t, &v) < 0)
        return 0;
    if (v < 0)
        note(b, f, "desiredReplicas[%zu]: negative (%lld); replica counts are >= 0", i,
             (long long)v);
    else if (grow((void **)&c->replicas, &c->cap_replicas, c->n_replicas, sizeof(int64_t)) < 0)
        return out_of_memory(err);
    else
        c->replicas[c->n_replicas++] = v;
    return 0;
}

/* ---- Forecasts ---------------------------------------------------------------------------- */

/* A copy of n items (at least one slot, so that empty arrays are not NULL either). */
static void *dup_items(const void *items, size_t n, size_t size)
{
    void *p = malloc(n ? n * size : size);

    if (p && n)
        memcpy(p, items, n * size);
    return p;
}

/* The forecast object ended: its fields are judged in order, then it joins the document. */
static int end_forecast(struct kd_forecast_json_stream *b, char *err)
{
    struct building *c = &b->cur;
    struct doc *d = b->doc;

    if (!b->in_forecast)
        return 0; /* a problem is pending: nothing is kept */
    b->in_forecast = false;
    for (int f = 0; f < F_COUNT; f++) {
        if (c->err[f][0]) {
            doc_error(b, "%s", c->err[f]);
            return 0;
        }
    }
    if (grow((void **)&d->items, &d->cap, d->pub.n_forecasts, sizeof(*d->items)) < 0)
        return out_of_memory(err);
    struct kd_forecast fc = {
        KD_FORECAST_INIT,
        .workload = c->strings[F_WORKLOAD] ? c->strings[F_WORKLOAD] : strdup(""),
        .metric = c->strings[F_METRIC] ? c->strings[F_METRIC] : strdup(""),
        .generated_at_ms = c->generated_at_ms,
        .step_seconds = c->step_seconds,
        .horizon_seconds = c->horizon_seconds,
        .n_values = c->n_values,
        .values = dup_items(c->values, c->n_values, sizeof(double)),
        .n_desired_replicas = c->n_replicas,
        .desired_replicas = dup_items(c->replicas, c->n_replicas, sizeof(int64_t)),
    };
    c->strings[F_WORKLOAD] = c->strings[F_METRIC] = NULL; /* now the forecast's */
    d->items[d->pub.n_forecasts++] = fc;
    d->pub.forecasts = d->items;
    building_fini(c);
    if (!fc.workload || !fc.metric || !fc.values || !fc.desired_replicas)
        return out_of_memory(err); /* what was taken goes with the document */
    return 0;
}

static void begin_forecast(struct kd_forecast_json_stream *b)
{
    building_fini(&b->cur);
    b->in_forecast = !b->has_pending;
    b->field = b->array = F_COUNT;
}

/* The top-level value, or an element of the top-level array. */
static int top_token(struct kd_forecast_json_stream *b, const struct kd_json_token *t, char *err)
{
    bool is_begin = t->event == KD_JSON_OBJECT_BEGIN || t->event == KD_JSON_ARRAY_BEGIN;
    bool is_end = t->event == KD_JSON_OBJECT_END || t->event == KD_JSON_ARRAY_END;

    if (t->depth == 0) {
        if (t->event == KD_JSON_OBJECT_BEGIN) {
            b->top = TOP_OBJECT;
            begin_forecast(b);
        } else if (t->event == KD_JSON_ARRAY_BEGIN) {
            b->top = TOP_ARRAY;
            b->forecast_depth = 1;
        } else if (t->event == KD_JSON_OBJECT_END) {
            return end_forecast(b, err);
        } else if (t->event == KD_JSON_ARRAY_END) {
            if (b->n_elements == 0)
                doc_error(b, "an empty array holds no forecast");
        } else {
            doc_error(b, "expected a forecast object or an array of them, got %s",
                      type_name(t->event));
        }
        return 0;
    }
    if (!is_end && ++b->n_elements > KD_FORECAST_JSON_MAX_FORECASTS) {
        b->top = TOP_OTHER; /* no "[i]." */
        return fail(b, err, "more than %d forecasts in one document",
                    KD_FORECAST_JSON_MAX_FORECASTS);
    }
    if (t->event == KD_JSON_OBJECT_BEGIN)
        begin_forecast(b);
    else if (t->event == KD_JSON_OBJECT_END)
        return end_forecast(b, err);
    else if (!is_begin && !b->has_pending) { /* a scalar, or the end of an array element */
        b->has_pending = true;
        snprintf(b->pending, ERR_MAX, "[%zu]: expected a forecast object, got %s",
                 b->n_elements - 1, is_end ? "an array" : type_name(t->event));
    }
    return 0;
}

static int on_token(void *ctx, const struct kd_json_token *t, char *err, size_t err_len)
{
    struct kd_forecast_json_stream *b = ctx;

    (void)err_len; /* json_stream hands us ERR_MAX bytes */
    if (t->depth <= b->forecast_depth)
        return top_token(b, t, err);
    if (!b->in_forecast)
        return 0; /* inside an array element that is not an object: judged at its end */
    size_t rel = t->depth - b->forecast_depth;
    if (rel == 2 && b->array != F_COUNT && t->event != KD_JSON_OBJECT_END &&
        t->event != KD_JSON_ARRAY_END)
        return array_element(b, t, err);
    if (rel != 1)
        return 0; /* deeper: unknown keys' values and bad elements' insides */
    enum field f = b->field;
    if (t->event == KD_JSON_KEY) {
        b->field = t->is_cut ? F_COUNT : field_of(t->text, t->len);
        if (b->field != F_COUNT)
            field_reset(&b->cur, b->field);
    } else if (t->event == KD_JSON_ARRAY_END || t->event == KD_JSON_OBJECT_END) {
        b->array = F_COUNT;
    } else if (f == F_COUNT) {
        return 0;
    } else if (t->event == KD_JSON_ARRAY_BEGIN && (f == F_VALUES || f == F_DESIRED_REPLICAS)) {
        b->array = f;
        b->n_array = 0;
    } else {
        return member_value(b, f, t, err);
    }
    return 0;
}

/* ---- The stream --------------------------------------------------------------------------- */

static int report(const struct kd_forecast_json_stream *b, char *err, size_t err_len)
{
    if (err_len)
        snprintf(err, err_len, "%s", b->rc < 0 ? b->err : "");
    return b->rc;
}

int kd_forecast_json_stream_new(struct kd_forecast_json_stream **ret_stream)
{
    struct kd_forecast_json_stream *b = calloc(1, sizeof(*b));

    if (!b)
        return -ENOMEM;
    b->doc = calloc(1, sizeof(*b->doc));
    if (!b->doc)
        goto fail_stream;
    b->field = b->array = F_COUNT;
    int rc = kd_json_stream_new(KD_FORECAST_JSON_MAX_DEPTH, KD_FORECAST_JSON_MAX_TOKEN, on_token, b,
                                &b->tok);
    if (rc < 0)
        goto fail_doc;
    /* Names that are not UTF-8 were accepted before (cJSON) and reach the log escaped; gRPC
     * refuses such names, so they never match a request. */
    kd_json_stream_allow_any_bytes(b->tok);
    *ret_stream = b;
    return 0;

fail_doc:
    free(b->doc);
fail_stream:
    free(b);
    return -ENOMEM;
}

/* Matches the BOM across any split of the input; bytes that turn out not to be one are given
 * to the tokenizer (which refuses them). */
static void skip_bom(struct kd_forecast_json_stream *b, const char **data, size_t *len)
{
    while (b->bom < 3 && *len > 0) {
        if (**data != BOM[b->bom]) {
            if (b->bom > 0)
                b->rc = kd_json_stream_feed(b->tok, BOM, b->bom, b->err, sizeof(b->err));
            b->bom = BOM_DONE;
            return;
        }
        b->bom++;
        (*data)++;
        (*len)--;
    }
}

int kd_forecast_json_stream_feed(struct kd_forecast_json_stream *b, const char *data, size_t len,
                                 char *err, size_t err_len)
{
    if (b->rc == 0 && len > KD_FORECAST_JSON_MAX_BYTES - b->bytes) {
        b->rc = -EINVAL;
        snprintf(b->err, sizeof(b->err), "document of more than %u bytes",
                 KD_FORECAST_JSON_MAX_BYTES);
    }
    if (b->rc == 0) {
        b->bytes += len;
        skip_bom(b, &data, &len);
    }
    if (b->rc == 0 && len > 0)
        b->rc = kd_json_stream_feed(b->tok, data, len, b->err, sizeof(b->err));
    return report(b, err, err_len);
}

int kd_forecast_json_stream_finish(struct kd_forecast_json_stream *b,
                                   struct kd_forecast_doc **ret_doc, char *err, size_t err_len)
{
    if (b->rc == 0 && b->bom > 0 && b->bom < 3) /* the text ended inside what began as a BOM */
        b->rc = kd_json_stream_feed(b->tok, BOM, b->bom, b->err, sizeof(b->err));
    if (b->rc == 0)
        b->rc = kd_json_stream_finish(b->tok, b->err, sizeof(b->err));
    if (b->rc == 0 && b->has_pending) {
        b->rc = -EINVAL;
        memcpy(b->err, b->pending, sizeof(b->err));
    }
    if (b->rc == 0 && !b->doc) {
        b->rc = -EINVAL;
        snprintf(b->err, sizeof(b->err), "the document was already taken");
    }
    if (b->rc < 0)
        return report(b, err, err_len);
    *ret_doc = &b->doc->pub;
    b->doc = NULL;
    return report(b, err, err_len);
}

void kd_forecast_json_stream_free(struct kd_forecast_json_stream *b)
{
    if (!b)
        return;
    kd_json_stream_free(b->tok);
    building_fini(&b->cur);
    kd_forecast_json_free(b->doc ? &b->doc->pub : NULL);
    free(b);
}

int kd_forecast_json_parse(const char *text, size_t len, struct kd_forecast_doc **ret_doc,
                           char *err, size_t err_len)
{
    struct kd_forecast_json_stream *b;
    int rc;

    if (err_len)
        err[0] = '\0';
    if (len > KD_FORECAST_JSON_MAX_BYTES) {
        if (err_len)
            snprintf(err, err_len, "document of %zu bytes, at most %u", len,
                     KD_FORECAST_JSON_MAX_BYTES);
        return -EINVAL;
    }
    rc = kd_forecast_json_stream_new(&b);
    if (rc < 0) {
        if (err_len)
            snprintf(err, err_len, "out of memory for a document of %zu bytes", len);
        return rc;
    }
    rc = kd_forecast_json_stream_feed(b, text, len, err, err_len);
    if (rc == 0)
        rc = kd_forecast_json_stream_finish(b, ret_doc, err, err_len);
    kd_forecast_json_stream_free(b);
    return rc;
}

void kd_forecast_json_free(struct kd_forecast_doc *pub)
{
    struct doc *d = (struct doc *)pub;

    if (!d)
        return;
    for (size_t i = 0; i < d->pub.n_forecasts; i++) {
        struct kd_forecast *f = &d->items[i];
        free((char *)f->workload);
        free((char *)f->metric);
        free((double *)f->values);
        free((int64_t *)f->desired_replicas);
    }
    free(d->items);
    free(d);
}
