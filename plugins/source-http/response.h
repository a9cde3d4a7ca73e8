/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the http source makes of a forecaster response once the transfer is over: the forecast
 * to hand on, or words for the operator. Pure: no I/O, no logging, no libcurl.
 */
#ifndef KD_RESPONSE_H
#define KD_RESPONSE_H

#include <stddef.h>

#include <kedastral/plugin.h>

#include "forecast_json.h"

#define KD_RESPONSE_EXCERPT_MAX 200 /* body bytes quoted in an error */

/*
 * At most the first KD_RESPONSE_EXCERPT_MAX bytes of `body`, safe for one log line: control
 * characters (newlines included) become spaces, bytes outside printable ASCII become '?',
 * surrounding space is trimmed, and "..." marks a cut. `out` is always NUL-terminated; an
 * empty body gives "".
 */
void kd_response_excerpt(const char *body, size_t len, char *out, size_t out_len);

/* The forecast in `doc` whose workload equals `workload`, else the first one. */
const struct kd_forecast *kd_response_pick(const struct kd_forecast_doc *doc, const char *workload);

#endif /* KD_RESPONSE_H */
