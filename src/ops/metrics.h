/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small metrics registry (counters, gauges, histograms with label sets) and its Prometheus
 * text exposition, format 0.0.4. Pure: no I/O besides the FILE the caller hands to write.
 * Series live in fixed arrays sized at registration, so updates never allocate.
 */
#ifndef KD_METRICS_H
#define KD_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KD_METRICS_MAX_LABELS 2
#define KD_METRICS_MAX_BUCKETS 16
/* Bytes for all label values of one series, separators and NUL included. */
#define KD_METRICS_LABEL_TEXT 320

enum kd_metric_type { KD_METRIC_COUNTER, KD_METRIC_GAUGE, KD_METRIC_HISTOGRAM };

struct kd_metric_desc {
    const char *name; /* borrowed: static strings */
    const char *help;
    enum kd_metric_type type;
    const char *labels[KD_METRICS_MAX_LABELS]; /* unused slots NULL */
    size_t max_series;                         /* labelled metrics; unlabelled ones have one */
    const double *buckets;                     /* histograms; NULL: Prometheus DefBuckets */
    size_t n_buckets;
};

struct kd_metrics;
struct kd_metric;
struct kd_series;

int kd_metrics_create(struct kd_metrics **ret_metrics);
void kd_metrics_destroy(struct kd_metrics *metrics);

/* Register a family; exposition follows registration order. -EINVAL on a bad name, label,
 * bucket list or a duplicate name; -ENOMEM. */
int kd_metrics_add(struct kd_metrics *metrics, const struct kd_metric_desc *desc,
                   struct kd_metric **ret_metric);

/*
 * The series with these label values (one per label, in the desc's order), created if new.
 * An unlabelled metric has one series, exposed from the start; a labelled series is exposed
 * from its first update, so series can be resolved ahead and held for O(1) updates.
 * -ENOSPC when max_series are in use, -EINVAL for a value containing \x1f (our separator).
 */
int kd_metric_series(struct kd_metric *metric, const char *const *values,
                     struct kd_series **ret_series);

/*
 * A hint for finding `series` again without the hash lookup (never 0), and the series it names
 * if that is still the one of these label values: NULL when the hint is stale (the series was
 * removed, its slot reused by other values) or out of range, whatever registry it came from.
 * The check compares the values with the series' own; it allocates nothing.
 */
uint32_t kd_series_hint(const struct kd_series *series);
struct kd_series *kd_metric_series_hinted(struct kd_metric *metric, uint32_t hint,
                                          const char *const *values);

/* Drop a labelled series (its handle becomes invalid); no-op if absent. */
void kd_metric_remove(struct kd_metric *metric, const char *const *values);

/* Drop every series of a labelled metric. */
void kd_metric_clear(struct kd_metric *metric);

void kd_series_add(struct kd_series *series, double delta);     /* counters and gauges */
void kd_series_set(struct kd_series *series, double value);     /* gauges (and pulled counters) */
void kd_series_observe(struct kd_series *series, double value); /* histograms */

/* Write every family in text format 0.0.4. Returns 0 or -EIO. */
int kd_metrics_write(const struct kd_metrics *metrics, FILE *out);

/* Go's strconv.FormatFloat(v, 'g', -1, 64) spelling, shortest round trip, "+Inf", "NaN". */
void kd_metrics_format_value(double value, char *buf, size_t len);

#endif /* KD_METRICS_H */
