/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /status: a status snapshot as one server-rendered HTML page with inline SVG plots; no
 * JavaScript, no external assets. Every string from a client or the config is escaped. Pure.
 */
#ifndef KD_STATUS_HTML_H
#define KD_STATUS_HTML_H

#include <stdio.h>

#include "scaler/scaler_status.h"

/* Plot widths in SVG user units; a plot never has more polyline points than its width. */
#define KD_STATUS_HTML_SPARK_W 240
#define KD_STATUS_HTML_SPARK_H 44
#define KD_STATUS_HTML_PLOT_W 720
#define KD_STATUS_HTML_PLOT_H 260

/* The page: with snapshot->workload set, that workload's detail and large plot; otherwise
 * the sources and one page of workloads, each row with a small plot. 0 or -EIO. */
int kd_status_html_render(const struct kd_status_snapshot *snapshot, FILE *out);

/*
 * One workload's plot as an <svg> element: desiredReplicas over the forecast horizon as one
 * <polyline class="plan">, now as <line class="now">, the policy's window as
 * <rect class="window">, the chosen point as <circle class="chosen">. Nothing is written for a
 * workload without a usable forecast (returns 0 then, 1 when a plot was written).
 */
int kd_status_html_plot(const struct kd_status_workload *w, int64_t now_ms, int width, int height,
                        FILE *out);

#endif /* KD_STATUS_HTML_H */
