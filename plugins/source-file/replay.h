/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Replaying a recorded forecast file as if it were live: which snapshot of a workload is
 * current at a given time, and which generatedAt to show for it. Pure.
 */
#ifndef KD_REPLAY_H
#define KD_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kedastral/plugin.h>

#include "forecast_json.h"

struct kd_replay;

/*
 * Index `doc` (borrowed: it must outlive the replay) by workload, each workload's snapshots
 * sorted by generatedAt (file order breaks ties). With `rebase`, recorded times are shifted so
 * the earliest snapshot of the whole recording lands on `loaded_ms`; with `rebase` and `loop`
 * each workload restarts after its span (last - first + its step). Without `rebase` the
 * recorded times are used as they are and `loop` has no effect. -EINVAL (a forecast without a
 * workload; message in err) or -ENOMEM; *ret_replay untouched on failure.
 */
int kd_replay_create(const struct kd_forecast_doc *doc, bool rebase, bool loop, int64_t loaded_ms,
                     struct kd_replay **ret_replay, char *err, size_t err_len);

void kd_replay_destroy(struct kd_replay *replay);

/*
 * The snapshot of `workload` current at `now_ms`: the latest whose (shifted) generatedAt is
 * <= now, or the first one when now is before all of them. The view borrows the doc's
 * arrays and strings; only generated_at_ms differs from the recording. -ENOENT when the
 * recording has no such workload.
 */
int kd_replay_pick(const struct kd_replay *replay, const char *workload, int64_t now_ms,
                   struct kd_forecast *ret_forecast);

size_t kd_replay_count(const struct kd_replay *replay);

/* "a, b, c" in name order, cut with "..." when it does not fit; always NUL-terminated. */
void kd_replay_list(const struct kd_replay *replay, char *buf, size_t len);

#endif /* KD_REPLAY_H */
