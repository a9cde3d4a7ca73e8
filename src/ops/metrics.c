/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Metrics registry and Prometheus text exposition (see metrics.h). Labelled series are found
 * through a hash map keyed by their joined label values; the map only grows when a new series
 * is created, so an update through a held handle is a plain store.
 */
#include "ops/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"

#define SEP '\x1f'

/* prometheus.DefBuckets */
static const double def_buckets[] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};

struct kd_series {
    struct kd_metric *metric;
    bool in_use;
    bool touched;                    /* labelled series are exposed from their first update */
    char key[KD_METRICS_LABEL_TEXT]; /* values joined by SEP; the hash map key */
    double value;                    /* counter, gauge; histogram sum */
    uint64_t count;                  /* histogram */
    uint64_t buckets[KD_METRICS_MAX_BUCKETS]; /* non-cumulative counts per upper bound */
};

struct kd_metric {
    struct kd_metric_desc desc;
    size_t n_labels;
    double buckets[KD_METRICS_MAX_BUCKETS];
    size_t n_buckets;
    struct kd_series *series;
    size_t cap;
    size_t used;
    struct kd_hashmap index;
};

struct kd_metrics {
    struct kd_metric **metrics;
    size_t n, cap;
};

int kd_metrics_create(struct kd_metrics **ret_metrics)
{
    struct kd_metrics *m = calloc(1, sizeof(*m));

    if (!m)
        return -ENOMEM;
    *ret_metrics = m;
    return 0;
}

static void metric_free(struct kd_metric *metric)
{
    kd_hashmap_fini(&metric->index);
    free(metric->series);
    free(metric);
}

void kd_metrics_destroy(struct kd_metrics *metrics)
{
    if (!metrics)
        return;
    for (size_t i = 0; i < metrics->n; i++)
        metric_free(metrics->metrics[i]);
    free(metrics->metrics);
    free(metrics);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for names; labels additionally forbid ':' and the "__" prefix. */
static bool valid_name(const char *s, bool is_label)
{
    if (!s || !*s || (is_label && strncmp(s, "__", 2) == 0))
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (!is_label && c == ':') || (p != s && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static bool valid_desc(const struct kd_metrics *metrics, const struct kd_metric_desc *desc,
                       size_t *ret_labels)
{
    size_t n = 0;

    if (!valid_name(desc->name, false) || !desc->help)
        return false;
    for (size_t i = 0; i < metrics->n; i++) {
        if (strcmp(metrics->metrics[i]->desc.name, desc->name) == 0)
            return false;
    }
    while (n < KD_METRICS_MAX_LABELS && desc->labels[n]) {
        if (!valid_name(desc->labels[n], true) ||
            (desc->type == KD_METRIC_HISTOGRAM && strcmp(desc->labels[n], "le") == 0))
            return false;
        n++;
    }
    for (size_t i = n; i < KD_METRICS_MAX_LABELS; i++) {
        if (desc->labels[i])
            return false;
    }
    if (n > 0 && desc->max_series == 0)
        return false;
    *ret_labels = n;
    return true;
}

int kd_metrics_add(struct kd_metrics *metrics, const struct kd_metric_desc *desc,
                   struct kd_metric **ret_metric)
{
    const double *buckets = desc->buckets ? desc->buckets : def_buckets;
    size_t n_buckets = desc->buckets ? desc->n_buckets : sizeof(def_buckets) / sizeof(double);
    struct kd_metric *metric;
    size_t n_labels;

    if (!valid_desc(metrics, desc, &n_labels))
        return -EINVAL;
    if (desc->type == KD_METRIC_HISTOGRAM) {
        if (n_buckets == 0 || n_buckets > KD_METRICS_MAX_BUCKETS)
            return -EINVAL;
        for (size_t i = 0; i < n_buckets; i++) {
            if (!isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
                return -EINVAL;
        }
    }
    if (metrics->n == metrics->cap) {
        size_t cap = metrics->cap ? metrics->cap * 2 : 16;
        struct kd_metric **v = realloc(metrics->metrics, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        metrics->metrics = v;
        metrics->cap = cap;
    }
    metric = calloc(1, sizeof(*metric));
    if (!metric)
        return -ENOMEM;
    metric->desc = *desc;
    metric->n_labels = n_labels;
    metric->cap = n_labels ? desc->max_series : 1;
    if (desc->type == KD_METRIC_HISTOGRAM) {
        memcpy(metric->buckets, buckets, n_buckets * sizeof(double));
        metric->n_buckets = n_buckets;
    }
    kd_hashmap_init(&metric->index);
    metric->series = calloc(metric->cap, sizeof(*metric->series));
    if (!metric->series) {
        free(metric);
        return -ENOMEM;
    }
    if (n_labels == 0) {
        metric->series[0].metric = metric;
        metric->series[0].in_use = true;
        metric->series[0].touched = true;
        metric->used = 1;
    }
    metrics->metrics[metrics->n++] = metric;
    *ret_metric = metric;
    return 0;
}

/* Join the values with SEP into key; -EINVAL if a value holds SEP or the key does not fit. */
static int join_key(const struct kd_metric *metric, const char *const *values, char *key)
{
    size_t at = 0;

    for (size_t i = 0; i < metric->n_labels; i++) {
        const char *v = values[i] ? values[i] : "";
        size_t len = strlen(v);
        if (strchr(v, SEP) || at + len + 1 > KD_METRICS_LABEL_TEXT)
            return -EINVAL;
        memcpy(key + at, v, len);
        at += len;
        key[at++] = SEP;
    }
    key[at ? at - 1 : 0] = '\0';
    return 0;
}

int kd_metric_series(struct kd_metric *metric, const char *const *values,
                     struct kd_series **ret_series)
{
    char key[KD_METRICS_LABEL_TEXT];
    struct kd_series *s;

    if (metric->n_labels == 0) {
        *ret_series = &metric->series[0];
        return 0;
    }
    int r = join_key(metric, values, key);
    if (r < 0)
        return r;
    s = kd_hashmap_get(&metric->index, key);
    if (s) {
        *ret_series = s;
        return 0;
    }
    if (metric->used == metric->cap)
        return -ENOSPC;
    for (s = metric->series; s->in_use; s++)
        ;
    *s = (struct kd_series){.metric = metric, .in_use = true};
    memcpy(s->key, key, sizeof(key));
    r = kd_hashmap_put(&metric->index, s->key, s);
    if (r < 0) {
        s->in_use = false;
        return r;
    }
    metric->used++;
    *ret_series = s;
    return 0;
}

uint32_t kd_series_hint(const struct kd_series *series)
{
    return (uint32_t)(series - series->metric->series) + 1;
}

struct kd_series *kd_metric_series_hinted(struct kd_metric *metric, uint32_t hint,
                                          const char *const *values)
{
    if (hint == 0 || hint > metric->cap || metric->n_labels == 0)
        return NULL;
    struct kd_series *s = &metric->series[hint - 1];
    if (!s->in_use)
        return NULL;
    /* key is the values joined by SEP: walk both, no join, no hash */
    const char *k = s->key;
    for (size_t i = 0; i < metric->n_labels; i++) {
        const char *v = values[i] ? values[i] : "";
        while (*v && *v == *k) {
            v++;
            k++;
        }
        if (*v || *k != (i + 1 < metric->n_labels ? SEP : '\0'))
            return NULL;
        k++;
    }
    return s;
}

void kd_metric_remove(struct kd_metric *metric, const char *const *values)
{
    char key[KD_METRICS_LABEL_TEXT];
    struct kd_series *s;

    if (metric->n_labels == 0 || join_key(metric, values, key) < 0)
        return;
    s = kd_hashmap_remove(&metric->index, key);
    if (!s)
        return;
    s->in_use = false;
    s->touched = false;
    metric->used--;
}

void kd_metric_clear(struct kd_metric *metric)
{
    if (metric->n_labels == 0)
        return;
    kd_hashmap_fini(&metric->index);
    kd_hashmap_init(&metric->index);
    for (size_t i = 0; i < metric->cap; i++)
        metric->series[i].in_use = metric->series[i].touched = false;
    metric->used = 0;
}

void kd_series_add(struct kd_series *series, double delta)
{
    series->value += delta;
    series->touched = true;
}

void kd_series_set(struct kd_series *series, double value)
{
    series->value = value;
    series->touched = true;
}

void kd_series_observe(struct kd_series *series, double value)
{
    const struct kd_metric *metric = series->metric;
    size_t i = 0;

    while (i < metric->n_buckets && value > metric->buckets[i])
        i++;
    if (i < metric->n_buckets)
        series->buckets[i]++;
    series->count++;
    series->value += value;
    series->touched = true;
}

/* ---- exposition ---------------------------------------------------------------------------- */

void kd_metrics_format_value(double value, char *buf, size_t len)
{
    if (isnan(value)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(value)) {
        snprintf(buf, len, value > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* The fewest significant digits that read back as the same double. */
    int digits = 1;
    char tmp[40];
    for (; digits < 17; digits++) {
        snprintf(tmp, sizeof(tmp), "%.*e", digits - 1, value);
        if (strtod(tmp, NULL) == value)
            break;
    }
    snprintf(tmp, sizeof(tmp), "%.*e", digits - 1, value);
    int exp = atoi(strchr(tmp, 'e') + 1);
    /* Go switches to an exponent below 1e-4 and from 1e21 ... with shortest formatting it
     * uses precision 6 for that decision (strconv/ftoa.go), hence 1e+06. */
    if (exp < -4 || exp >= (digits > 6 ? digits : 6)) {
        snprintf(buf, len, "%s", tmp);
        return;
    }
    int precision = digits > exp + 1 ? digits : exp + 1;
    snprintf(buf, len, "%.*g", precision, value);
}

static int write_escaped(FILE *out, const char *s, size_t n, bool quote)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int r;
        if (c == '\\')
            r = fputs("\\\\", out);
        else if (c == '\n')
            r = fputs("\\n", out);
        else if (c == '"' && quote)
            r = fputs("\\\"", out);
        else
            r = fputc(c, out);
        if (r == EOF)
            return -EIO;
    }
    return 0;
}

/* {a="x",b="y"[,le="0.5"]} or nothing when there are no labels at all. */
static int write_labels(FILE *out, const struct kd_metric *metric, const struct kd_series *s,
                        const char *le)
{
    const char *v = s->key;

    if (metric->n_labels == 0 && !le)
        return 0;
    if (fputc('{', out) == EOF)
        return -EIO;
    for (size_t i = 0; i < metric->n_labels; i++) {
        const char *end = strchr(v, SEP);
        size_t n = end ? (size_t)(end - v) : strlen(v);
        if (fprintf(out, "%s%s=\"", i ? "," : "", metric->desc.labels[i]) < 0 ||
            write_escaped(out, v, n, true) < 0 || fputc('"', out) == EOF)
            return -EIO;
        v = end ? end + 1 : v + n;
    }
    if (le && fprintf(out, "%sle=\"%s\"", metric->n_labels ? "," : "", le) < 0)
        return -EIO;
    return fputc('}', out) == EOF ? -EIO : 0;
}

static int write_sample(FILE *out, const struct kd_metric *metric, const char *suffix,
                        const struct kd_series *s, const char *le, double value)
{
    char text[40];

    kd_metrics_format_value(value, text, sizeof(text));
    if (fprintf(out, "%s%s", metric->desc.name, suffix) < 0 ||
        write_labels(out, metric, s, le) < 0 || fprintf(out, " %s\n", text) < 0)
        return -EIO;
    return 0;
}

static int write_histogram(FILE *out, const struct kd_metric *metric, const struct kd_series *s)
{
    uint64_t cumulative = 0;
    char le[40];

    for (size_t i = 0; i < metric->n_buckets; i++) {
        cumulative += s->buckets[i];
        kd_metrics_format_value(metric->buckets[i], le, sizeof(le));
        if (write_sample(out, metric, "_bucket", s, le, (double)cumulative) < 0)
            return -EIO;
    }
    if (write_sample(out, metric, "_bucket", s, "+Inf", (double)s->count) < 0 ||
        write_sample(out, metric, "_sum", s, NULL, s->value) < 0 ||
        write_sample(out, metric, "_count", s, NULL, (double)s->count) < 0)
        return -EIO;
    return 0;
}

static const char *type_name(enum kd_metric_type type)
{
    switch (type) {
    case KD_METRIC_COUNTER:
        return "counter";
    case KD_METRIC_GAUGE:
        return "gauge";
    case KD_METRIC_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

static int write_metric(FILE *out, const struct kd_metric *metric)
{
    bool any = false;

    for (size_t i = 0; i < metric->cap && !any; i++)
        any = metric->series[i].in_use && metric->series[i].touched;
    /* Like client_golang: a labelled family without children is not exposed at all. */
    if (!any)
        return 0;
    if (fprintf(out, "# HELP %s ", metric->desc.name) < 0 ||
        write_escaped(out, metric->desc.help, strlen(metric->desc.help), false) < 0 ||
        fprintf(out, "\n# TYPE %s %s\n", metric->desc.name, type_name(metric->desc.type)) < 0)
        return -EIO;
    for (size_t i = 0; i < metric->cap; i++) {
        const struct kd_series *s = &metric->series[i];
        int r;
        if (!s->in_use || !s->touched)
            continue;
        if (metric->desc.type == KD_METRIC_HISTOGRAM)
            r = write_histogram(out, metric, s);
        else
            r = write_sample(out, metric, "", s, NULL, s->value);
        if (r < 0)
            return r;
    }
    return 0;
}

int kd_metrics_write(const struct kd_metrics *metrics, FILE *out)
{
    for (size_t i = 0; i < metrics->n; i++) {
        int r = write_metric(out, metrics->metrics[i]);
        if (r < 0)
            return r;
    }
    return ferror(out) ? -EIO : 0;
}
