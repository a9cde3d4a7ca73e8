/* SPDX-License-Identifier: Apache-2.0 */
/* The replay clock of source-file: recorded time -> now, with a per-workload loop. */
#include "replay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A workload with a step <= 0 (which the policy will reject) still needs a loop period. */
#define FALLBACK_STEP_MS (60 * 1000)
/* Steps beyond this (31 years) gain nothing and would overflow the period. */
#define MAX_STEP_SECONDS (1000LL * 1000 * 1000)

struct track {
    const char *name;
    size_t first; /* into kd_replay.snaps */
    size_t n;
    int64_t period_ms; /* loop length: last - first + step */
};

struct kd_replay {
    const struct kd_forecast **snaps; /* grouped by workload, then by generatedAt */
    struct track *tracks;             /* sorted by name */
    size_t n_tracks;
    int64_t shift_ms; /* added to recorded times */
    bool loop;
};

static int by_workload_time(const void *pa, const void *pb)
{
    const struct kd_forecast *a = *(const struct kd_forecast *const *)pa;
    const struct kd_forecast *b = *(const struct kd_forecast *const *)pb;
    int c = strcmp(a->workload, b->workload);

    if (c)
        return c;
    if (a->generated_at_ms != b->generated_at_ms)
        return a->generated_at_ms < b->generated_at_ms ? -1 : 1;
    /* The views sit in one array in file order, so addresses keep that order. */
    return a < b ? -1 : a > b;
}

static int64_t step_ms(const struct kd_forecast *f)
{
    if (f->step_seconds <= 0)
        return FALLBACK_STEP_MS;
    return (f->step_seconds > MAX_STEP_SECONDS ? MAX_STEP_SECONDS : f->step_seconds) * 1000;
}

int kd_replay_create(const struct kd_forecast_doc *doc, bool rebase, bool loop, int64_t loaded_ms,
                     struct kd_replay **ret_replay, char *err, size_t err_len)
{
    size_t n = doc->n_forecasts;
    int64_t origin = INT64_MAX;

    if (err_len)
        err[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (doc->forecasts[i].workload[0] == '\0') {
            snprintf(err, err_len, "[%zu]: no workload; every recorded forecast needs one", i);
            return -EINVAL;
        }
        if (doc->forecasts[i].generated_at_ms < origin)
            origin = doc->forecasts[i].generated_at_ms;
    }

    struct kd_replay *r = calloc(1, sizeof(*r));
    if (!r)
        goto fail_replay;
    r->snaps = calloc(n, sizeof(*r->snaps));
    if (!r->snaps)
        goto fail_snaps;
    r->tracks = calloc(n, sizeof(*r->tracks));
    if (!r->tracks)
        goto fail_tracks;

    for (size_t i = 0; i < n; i++)
        r->snaps[i] = &doc->forecasts[i];
    qsort(r->snaps, n, sizeof(*r->snaps), by_workload_time);
    for (size_t i = 0; i < n; i++) {
        struct track *t = &r->tracks[r->n_tracks];
        if (i > 0 && strcmp(r->snaps[i]->workload, t[-1].name) == 0) {
            t[-1].n++;
            continue;
        }
        t->name = r->snaps[i]->workload;
        t->first = i;
        t->n = 1;
        r->n_tracks++;
    }
    for (size_t k = 0; k < r->n_tracks; k++) {
        struct track *t = &r->tracks[k];
        const struct kd_forecast *first = r->snaps[t->first];
        const struct kd_forecast *last = r->snaps[t->first + t->n - 1];
        t->period_ms = last->generated_at_ms - first->generated_at_ms + step_ms(last);
    }
    r->shift_ms = rebase ? loaded_ms - origin : 0;
    r->loop = rebase && loop;
    *ret_replay = r;
    return 0;

fail_tracks:
    free(r->snaps);
fail_snaps:
    free(r);
fail_replay:
    snprintf(err, err_len, "out of memory indexing %zu forecasts", n);
    return -ENOMEM;
}

void kd_replay_destroy(struct kd_replay *replay)
{
    if (!replay)
        return;
    free(replay->tracks);
    free(replay->snaps);
    free(replay);
}

static const struct track *find(const struct kd_replay *r, const char *workload)
{
    size_t lo = 0, hi = r->n_tracks;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(workload, r->tracks[mid].name);
        if (c == 0)
            return &r->tracks[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* The last snapshot of the track recorded at or before `t`, or the first one. */
static size_t latest_at(const struct kd_replay *r, const struct track *t, int64_t at)
{
    size_t pick = 0;

    for (size_t i = 1; i < t->n && r->snaps[t->first + i]->generated_at_ms <= at; i++)
        pick = i;
    return pick;
}

int kd_replay_pick(const struct kd_replay *replay, const char *workload, int64_t now_ms,
                   struct kd_forecast *ret_forecast)
{
    const struct track *t = find(replay, workload);

    if (!t)
        return -ENOENT;

    const struct kd_forecast *first = replay->snaps[t->first];
    int64_t recorded_now, since_first;
    size_t pick;
    int64_t shown_shift = replay->shift_ms;

    /* Recorded times stay within years 0..9999, so only an absurd clock can overflow. */
    if (__builtin_sub_overflow(now_ms, replay->shift_ms, &recorded_now) ||
        __builtin_sub_overflow(recorded_now, first->generated_at_ms, &since_first)) {
        pick = now_ms < 0 ? 0 : t->n - 1;
    } else if (replay->loop && since_first >= 0) {
        int64_t cycles = since_first / t->period_ms;
        pick = latest_at(replay, t, first->generated_at_ms + since_first % t->period_ms);
        shown_shift += cycles * t->period_ms;
    } else {
        pick = latest_at(replay, t, recorded_now);
    }

    *ret_forecast = *replay->snaps[t->first + pick];
    ret_forecast->generated_at_ms += shown_shift;
    return 0;
}

size_t kd_replay_count(const struct kd_replay *replay)
{
    return replay->n_tracks;
}

void kd_replay_list(const struct kd_replay *replay, char *buf, size_t len)
{
    size_t used = 0;

    if (len == 0)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < replay->n_tracks; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", replay->tracks[i].name);
        if (n < 0 || (size_t)n >= len - used) {
            if (len >= 4)
                memcpy(buf + len - 4, "...", 4);
            return;
        }
        used += (size_t)n;
    }
}
