/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /status.json: a status snapshot as one JSON document (cJSON). Pure: snapshot in, text
 * out. The field names are an interface (documented in the README); add, never rename.
 */
#ifndef KD_STATUS_JSON_H
#define KD_STATUS_JSON_H

#include "scaler/scaler_status.h"

/* *ret_text is malloc'd, NUL-terminated (free() it). 0 or -ENOMEM. */
int kd_status_json_render(const struct kd_status_snapshot *snapshot, char **ret_text);

/* "ok", "fetching", "failing", "stale" or "not_found": the workload's state in one word
 * (also the HTML page's state column). */
const char *kd_status_workload_state(const struct kd_status_workload *w);

#endif /* KD_STATUS_JSON_H */
