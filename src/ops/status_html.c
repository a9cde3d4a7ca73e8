/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /status rendering (see status_html.h). The page is a few tables and one small SVG per
 * workload, sized so that a page of 500 workloads stays in the hundreds of kilobytes.
 */
#include "ops/status_html.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "ops/status_format.h"
#include "ops/status_json.h"

#define esc kd_status_html_escape

static const char STYLE[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d2330;background:#fff}"
    "h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}"
    "p.meta{color:#5b6375;margin:0}"
    "table{border-collapse:collapse;min-width:60em}"
    "th,td{text-align:left;padding:.25em .7em;border-bottom:1px solid #e3e6ec;"
    "vertical-align:middle}"
    "th{font-weight:600;color:#5b6375;font-size:.9em}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".ok{color:#1a7f37}.failing,.stale,.not_found{color:#b42318}.fetching{color:#9a6700}"
    "td.err{color:#b42318;font-size:.9em;max-width:36em}"
    "svg{display:block}svg .frame{fill:#f7f8fa;stroke:#e3e6ec}"
    "svg .window{fill:#dbe9ff}svg .plan{fill:none;stroke:#2f6fde;stroke-width:1.5}"
    "svg .now{stroke:#b42318;stroke-width:1.2;stroke-dasharray:3 2}"
    "svg .chosen{fill:#b42318;stroke:#fff}svg text{font-size:11px;fill:#5b6375}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:.15em 1em}dt{color:#5b6375}"
    "dd{margin:0}nav{margin:1em 0}a{color:#2f6fde}";

static void write_time(FILE *out, int64_t ms)
{
    char t[KD_STATUS_TIME_LEN];

    if (!ms) {
        fputs("&ndash;", out);
        return;
    }
    kd_status_format_time(ms, t);
    fputs(t, out);
}

static void write_duration(FILE *out, int64_t ms)
{
    char d[32];

    kd_status_format_duration(ms, d, sizeof(d));
    fputs(d, out);
}

static void write_answer(FILE *out, const struct kd_status_workload *w)
{
    if (w->answer_code == 0) {
        fprintf(out, "%.6g", w->answer_value);
        if (w->stale)
            fputs(" (fallback)", out);
        return;
    }
    fputs("<span class=\"failing\" title=\"", out);
    esc(out, w->answer_message);
    fputs("\">", out);
    esc(out, w->answer_status);
    fputs("</span>", out);
}

/* ---- plot --------------------------------------------------------------------------------- */

struct frame {
    double t0, t1; /* ms */
    double ymax;
    double x0, y0, w, h; /* plot area in user units */
};

static double fx(const struct frame *f, double t)
{
    return f->x0 + (t - f->t0) / (f->t1 - f->t0) * f->w;
}

static double fy(const struct frame *f, double v)
{
    return f->y0 + f->h - v / f->ymax * f->h;
}

static double point_time(const struct kd_status_workload *w, size_t i)
{
    return (double)w->generated_at_ms + (double)(i + 1) * (double)w->step_s * 1000.0;
}

/* The frame of a plot: time from the forecast's start (or now) to its end (or now), values
 * up to 1.1 x the largest point or answer; returns that largest value. */
static double plot_frame(const struct kd_status_workload *w, int64_t now_ms, int width, int height,
                         bool large, struct frame *f)
{
    double ymax = 1;
    for (size_t i = 0; i < w->n_points; i++)
        if ((double)w->desired_replicas[i] > ymax)
            ymax = (double)w->desired_replicas[i];
    if (w->answer_code == 0 && w->answer_value > ymax)
        ymax = w->answer_value;
    f->t0 = (double)w->generated_at_ms;
    f->t1 = point_time(w, w->n_points - 1);
    if ((double)now_ms < f->t0)
        f->t0 = (double)now_ms;
    if ((double)now_ms > f->t1)
        f->t1 = (double)now_ms;
    f->ymax = ymax * 1.1;
    f->x0 = large ? 36 : 1;
    f->y0 = large ? 8 : 3;
    f->w = width - f->x0 - (large ? 8 : 1);
    f->h = height - f->y0 - (large ? 22 : 3);
    return ymax;
}

/* At most one point per user unit of width: the max of the points that share it, which keeps
 * the peaks a max policy cares about. */
static void plot_plan(FILE *out, const struct frame *f, const struct kd_status_workload *w)
{
    fputs("<polyline class=\"plan\" points=\"", out);
    for (size_t i = 0; i < w->n_points;) {
        long col = (long)fx(f, point_time(w, i));
        size_t best = i, j = i + 1;
        for (; j < w->n_points && (long)fx(f, point_time(w, j)) == col; j++)
            if (w->desired_replicas[j] > w->desired_replicas[best])
                best = j;
        fprintf(out, "%s%.1f,%.1f", i ? " " : "", fx(f, point_time(w, best)),
                fy(f, (double)w->desired_replicas[best]));
        i = j;
    }
    fputs("\"/>", out);
}

/* The large plot's axis labels: the top value and 0, the first and last time, "now". */
static void plot_labels(FILE *out, const struct frame *f, double ymax, int height, double xn)
{
    char t[KD_STATUS_TIME_LEN];

    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>", f->x0 - 4,
            f->y0 + 10, ymax);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0</text>", f->x0 - 4,
            f->y0 + f->h);
    kd_status_format_time((int64_t)f->t0, t);
    fprintf(out, "<text x=\"%.1f\" y=\"%d\">%.19s</text>", f->x0, height - 4, t);
    kd_status_format_time((int64_t)f->t1, t);
    fprintf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\">%.19s</text>", f->x0 + f->w,
            height - 4, t);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">now</text>", xn + 4, f->y0 + 12);
}

int kd_status_html_plot(const struct kd_status_workload *w, int64_t now_ms, int width, int height,
                        FILE *out)
{
    bool large = width >= KD_STATUS_HTML_PLOT_W;
    struct frame f;

    if (!w->has_forecast || w->n_points == 0 || w->step_s <= 0 || width < 8 || height < 8)
        return 0;
    double ymax = plot_frame(w, now_ms, width, height, large, &f);

    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" role=\"img\"><title>desiredReplicas of ",
            width, height, width, height);
    esc(out, w->name);
    fprintf(out,
            "</title><rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
            "height=\"%.1f\"/>",
            f.x0, f.y0, f.w, f.h);
    if (w->has_window && w->window_first <= w->window_last && w->window_last < w->n_points) {
        /* Each point stands for the step that ends at it: shade from the step before. */
        double a = fx(&f, point_time(w, w->window_first) - (double)w->step_s * 1000.0);
        double b = fx(&f, point_time(w, w->window_last));
        if (a < f.x0)
            a = f.x0;
        fprintf(out,
                "<rect class=\"window\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", a,
                f.y0, b - a, f.h);
    }

    plot_plan(out, &f, w);

    double xn = fx(&f, (double)now_ms);
    fprintf(out, "<line class=\"now\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", xn, f.y0,
            xn, f.y0 + f.h);
    if (w->has_window && w->answer_code == 0 && !w->stale) {
        for (size_t i = w->window_first; i <= w->window_last && i < w->n_points; i++) {
            if ((double)w->desired_replicas[i] == w->answer_value) {
                fprintf(out, "<circle class=\"chosen\" cx=\"%.1f\" cy=\"%.1f\" r=\"%d\"/>",
                        fx(&f, point_time(w, i)), fy(&f, w->answer_value), large ? 5 : 3);
                break;
            }
        }
    }
    if (large)
        plot_labels(out, &f, ymax, height, xn);
    fputs("</svg>", out);
    return 1;
}

/* ---- page --------------------------------------------------------------------------------- */

static void render_head(const struct kd_status_snapshot *s, FILE *out)
{
    const struct kd_status_daemon *d = &s->daemon;

    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width\">"
          "<title>kedastral-scaler status</title><style>",
          out);
    fputs(STYLE, out);
    fputs("</style></head><body>\n<h1>kedastral-scaler ", out);
    esc(out, d->version ? d->version : "");
    fputs("</h1>\n<p class=\"meta\">", out);
    write_time(out, s->now_ms);
    fputs(" &middot; up ", out);
    write_duration(out, d->started_ms ? s->now_ms - d->started_ms : 0);
    fputs(" &middot; config ", out);
    esc(out, d->config_file ? d->config_file : "built-in");
    fprintf(out, " &middot; reloads %" PRIu64 " ok, %" PRIu64 " failed", d->reloads_ok,
            d->reloads_failed);
    if (d->last_reload_ms && !d->last_reload_ok) {
        fputs(" (last: <span class=\"failing\">", out);
        esc(out, d->last_reload_error ? d->last_reload_error : "");
        fputs("</span>)", out);
    }
    fputs(" &middot; <a href=\"/status.json\">JSON</a></p>\n", out);
}

static void render_sources(const struct kd_status_snapshot *s, FILE *out)
{
    fputs("<h2>Sources</h2>\n<table id=\"sources\"><thead><tr><th>source</th><th>plugin</th>"
          "<th>state</th><th>fetches ok / error / not found / timeout</th><th>in flight</th>"
          "<th>workloads (cached)</th></tr></thead><tbody>\n",
          out);
    for (size_t i = 0; i < s->n_sources; i++) {
        const struct kd_status_source *src = &s->sources[i];
        fputs("<tr class=\"source\"><td>", out);
        esc(out, src->name);
        fputs("</td><td>", out);
        esc(out, src->plugin);
        if (src->failing) {
            fputs("</td><td class=\"failing\">failing since ", out);
            write_time(out, src->failing_since_ms);
            fputs(": ", out);
            esc(out, src->last_error);
        } else {
            fputs("</td><td class=\"ok\">ok", out);
        }
        fprintf(out,
                "</td><td class=\"num\">%" PRIu64 " / %" PRIu64 " / %" PRIu64 " / %" PRIu64
                "</td><td class=\"num\">%zu</td><td class=\"num\">%zu (%zu)</td></tr>\n",
                src->fetches[KD_STATUS_FETCH_SUCCESS], src->fetches[KD_STATUS_FETCH_ERROR],
                src->fetches[KD_STATUS_FETCH_NOT_FOUND], src->fetches[KD_STATUS_FETCH_TIMEOUT],
                src->in_flight, src->workloads, src->cached);
    }
    fputs("</tbody></table>\n", out);
}

static void write_link(FILE *out, const char *key, const char *value, size_t limit)
{
    fprintf(out, "<a href=\"/status?%s=", key);
    kd_status_url_encode(out, value);
    if (limit)
        fprintf(out, "&amp;limit=%zu", limit);
    fputs("\">", out);
}

static void render_row(const struct kd_status_snapshot *s, const struct kd_status_workload *w,
                       FILE *out)
{
    const char *state = kd_status_workload_state(w);

    fputs("<tr class=\"workload\"><td class=\"name\">", out);
    write_link(out, "workload", w->name, 0);
    esc(out, w->name);
    fputs("</a></td><td class=\"num answer\">", out);
    write_answer(out, w);
    fputs("</td><td class=\"num\">", out);
    if (w->has_forecast)
        write_duration(out, s->now_ms - w->generated_at_ms);
    else
        fputs("&ndash;", out);
    fprintf(out, "</td><td class=\"%s\">%s</td><td>", state, state);
    esc(out, w->source);
    fputs("</td><td>", out);
    esc(out, w->policy);
    fputs("</td><td>", out);
    if (!kd_status_html_plot(w, s->now_ms, KD_STATUS_HTML_SPARK_W, KD_STATUS_HTML_SPARK_H, out))
        fputs("&ndash;", out);
    fputs("</td></tr>\n", out);
}

static void render_list(const struct kd_status_snapshot *s, FILE *out)
{
    fprintf(out, "<h2>Workloads <small>(%zu on this page, %zu in the cache)</small></h2>\n",
            s->n_workloads, s->total_workloads);
    fputs("<table id=\"workloads\"><thead><tr><th>workload</th><th>answer</th><th>age</th>"
          "<th>state</th><th>source</th><th>policy</th><th>forecast</th></tr></thead><tbody>\n",
          out);
    for (size_t i = 0; i < s->n_workloads; i++)
        render_row(s, &s->workloads[i], out);
    fputs("</tbody></table>\n<nav>", out);
    if (s->after)
        fprintf(out, "<a href=\"/status?limit=%zu\">first page</a> ", s->limit);
    if (s->next_after) {
        write_link(out, "after", s->next_after, s->limit);
        fputs("next page &rarr;</a>", out);
    }
    fputs("</nav>\n", out);
}

static void dd_text(FILE *out, const char *term, const char *value)
{
    fprintf(out, "<dt>%s</dt><dd>", term);
    if (value && *value)
        esc(out, value);
    else
        fputs("&ndash;", out);
    fputs("</dd>", out);
}

static void dd_time(FILE *out, const char *term, int64_t ms)
{
    fprintf(out, "<dt>%s</dt><dd>", term);
    write_time(out, ms);
    fputs("</dd>", out);
}

static void dd_duration(FILE *out, const char *term, int64_t ms)
{
    fprintf(out, "<dt>%s</dt><dd>", term);
    write_duration(out, ms);
    fputs("</dd>", out);
}

static void render_detail(const struct kd_status_snapshot *s, const struct kd_status_workload *w,
                          FILE *out)
{
    const char *state = kd_status_workload_state(w);

    fputs("<h2>Workload ", out);
    esc(out, w->name);
    fputs("</h2>\n", out);
    if (!kd_status_html_plot(w, s->now_ms, KD_STATUS_HTML_PLOT_W, KD_STATUS_HTML_PLOT_H, out))
        fputs("<p>No usable forecast to plot.</p>", out);
    fputs("\n<dl>", out);
    fprintf(out, "<dt>state</dt><dd class=\"%s\">%s</dd><dt>answer</dt><dd>", state, state);
    write_answer(out, w);
    if (w->answer_code) {
        fputs(": ", out);
        esc(out, w->answer_message);
    }
    fprintf(out, "</dd><dt>active</dt><dd>%s</dd>", w->active ? "yes" : "no");
    dd_text(out, "route", w->route);
    dd_text(out, "source", w->source);
    dd_text(out, "policy", w->policy);
    dd_duration(out, "lead time", w->lead_time_ms);
    dd_duration(out, "stale after", w->stale_after_ms);
    fputs("<dt>fallback replicas</dt><dd>", out);
    if (w->fallback_replicas >= 0)
        fprintf(out, "%" PRId64, w->fallback_replicas);
    else
        fputs("none", out);
    fputs("</dd>", out);
    if (w->has_forecast) {
        dd_time(out, "generated at", w->generated_at_ms);
        dd_time(out, "fetched at", w->fetched_at_ms);
        fprintf(out, "<dt>step</dt><dd>%" PRId64 " s, %zu points</dd>", w->step_s, w->n_points);
    }
    if (w->has_window)
        fprintf(out, "<dt>window</dt><dd>indexes %zu to %zu</dd>", w->window_first, w->window_last);
    fprintf(out, "<dt>fetch</dt><dd>%s, %u consecutive failures</dd>",
            w->fetching ? "running"
            : w->idle   ? "idle (not asked lately: not refreshed)"
                        : "none running",
            w->failures);
    dd_text(out, "last error", w->last_error);
    dd_time(out, "last asked", w->last_asked_ms);
    dd_time(out, "refresh due", w->refresh_due_ms);
    fputs("</dl>\n<nav><a href=\"/status\">all workloads</a></nav>\n", out);
}

int kd_status_html_render(const struct kd_status_snapshot *s, FILE *out)
{
    render_head(s, out);
    if (s->workload && s->n_workloads == 1) {
        render_detail(s, &s->workloads[0], out);
    } else if (s->workload) {
        fputs("<p>No workload named <q>", out);
        esc(out, s->workload);
        fputs("</q> in the cache.</p><nav><a href=\"/status\">all workloads</a></nav>\n", out);
    } else {
        render_sources(s, out);
        render_list(s, out);
    }
    fputs("</body></html>\n", out);
    return ferror(out) ? -EIO : 0;
}
