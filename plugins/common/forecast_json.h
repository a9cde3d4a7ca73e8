/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Forecast JSON in the Kedastral forecaster's schema (GET /forecast/current), shared by the
 * sources. Pure: no I/O, no logging; errors come back as one line in `err`.
 */
#ifndef KD_FORECAST_JSON_H
#define KD_FORECAST_JSON_H

#include <stddef.h>

#include <kedastral/plugin.h>

#define KD_FORECAST_JSON_MAX_BYTES (64u * 1024 * 1024) /* whole document */
#define KD_FORECAST_JSON_MAX_FORECASTS 10000           /* objects in a top-level array */
#define KD_FORECAST_JSON_MAX_POINTS 100000             /* elements of values / desiredReplicas */
#define KD_FORECAST_JSON_MAX_DEPTH 32                  /* nesting, unknown keys included */
#define KD_FORECAST_JSON_MAX_TOKEN (64u * 1024) /* a known field's string, any number literal */

/* One parsed document: a single forecast object or an array of them, in file order. */
struct kd_forecast_doc {
    size_t n_forecasts;                  /* >= 1 */
    const struct kd_forecast *forecasts; /* views into memory owned by the doc */
};

/*
 * Parse exactly `len` bytes of `text` (no NUL needed; nothing past len is read); one leading
 * UTF-8 byte order mark is skipped, as cJSON did. Keys match
 * case-insensitively, as Go's encoding/json does ("GeneratedAt" == "generatedAt"), the last of
 * duplicate keys wins, unknown keys are ignored. Missing or null: strings "", numbers 0,
 * arrays empty, generatedAt 0. Rejected, with "<where>: <what>" in err (for arrays "[i]."
 * first, e.g. "[2].desiredReplicas[3]: not an integer (2.5)"): invalid JSON (with line and
 * column), trailing non-space after the value, an empty document, a top level other than an
 * object or a non-empty array of objects, wrong types, numbers that are not integers where
 * Go wants an int (60.0, 1e2), numbers out of range (NaN/Inf cannot be written in JSON;
 * 1e999 is out of range), negative stepSeconds/horizonSeconds, negative or beyond-int64
 * desiredReplicas (upstream passes negatives through; we refuse them), non-RFC 3339
 * generatedAt, and the size limits above. Bytes that are not UTF-8 inside strings are kept.
 *
 * Syntax errors and the limits stop the parse at the byte or element that crosses them (a
 * stream reads no further); any other problem is told once the whole text proved to be JSON,
 * as before: the first in document order, a forecast's fields judged in the order above.
 *
 * Returns 0 and a document to release with kd_forecast_json_free(), -EINVAL (bad input) or
 * -ENOMEM. *ret_doc is untouched on failure. err always holds a NUL-terminated string.
 */
int kd_forecast_json_parse(const char *text, size_t len, struct kd_forecast_doc **ret_doc,
                           char *err, size_t err_len);

void kd_forecast_json_free(struct kd_forecast_doc *doc);

/*
 * The same parser fed as the bytes arrive, in pieces of any size: the outcome (document or
 * error text) does not depend on how the text is split, and the parse stops at the first
 * syntax error or limit rather than at the end. Memory: what the forecasts hold, one token
 * (KD_FORECAST_JSON_MAX_TOKEN) and the arrays of the forecast being read.
 */
struct kd_forecast_json_stream;

/* Returns 0 and a stream to release with kd_forecast_json_stream_free(), or -ENOMEM. */
int kd_forecast_json_stream_new(struct kd_forecast_json_stream **ret_stream);

/*
 * `len` more bytes. Returns 0, or -EINVAL / -ENOMEM with the line in err: the stream has
 * failed and every later call says the same. err always holds a NUL-terminated string.
 */
int kd_forecast_json_stream_feed(struct kd_forecast_json_stream *s, const char *data, size_t len,
                                 char *err, size_t err_len);

/*
 * The end of the text: 0 and the document (the caller's, for kd_forecast_json_free()), or an
 * error as for kd_forecast_json_parse(). *ret_doc is untouched on failure.
 */
int kd_forecast_json_stream_finish(struct kd_forecast_json_stream *s,
                                   struct kd_forecast_doc **ret_doc, char *err, size_t err_len);

void kd_forecast_json_stream_free(struct kd_forecast_json_stream *s);

#endif /* KD_FORECAST_JSON_H */
