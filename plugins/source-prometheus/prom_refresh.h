/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One refresh of one workload, from the plan to the forecast: the range queries' bodies go in
 * (in any order), a struct kd_forecast comes out, or one line saying what went wrong and which
 * query it was. Pure: the glue does the HTTP.
 */
#ifndef KD_PROM_REFRESH_H
#define KD_PROM_REFRESH_H

#include <stddef.h>
#include <stdint.h>

#include <kedastral/plugin.h>

#include "prom_model.h"
#include "prom_plan.h"
#include "prom_response.h"

struct kd_prom_refresh_params {
    struct kd_prom_plan_params plan;
    enum kd_prom_combine combine; /* seasonal */
    double per_replica;           /* > 0 */
};

struct kd_prom_refresh;

/* A refresh at `now_ms` of `workload` with the expanded `query` (both copied). Returns 0, or
 * -ENOMEM. */
int kd_prom_refresh_create(const struct kd_prom_refresh_params *p, const char *workload,
                           const char *query, int64_t now_ms, struct kd_prom_refresh **ret);

/* The queries to send: plan->ranges[0..n_ranges). Owned by the refresh. */
const struct kd_prom_plan *kd_prom_refresh_plan(const struct kd_prom_refresh *r);

/*
 * Range `index`'s body, read as it arrives: stream() gives a parser writing its points into
 * the refresh (feed it the body; free it with kd_prom_response_free, after add_parsed); once
 * the body ended, add_parsed() gives the verdict with the HTTP status. stream() returns 0 or
 * -ENOMEM; add_parsed() 0, or a negative errno (as kd_prom_response_finish, -EIO for a non-200
 * status without a Prometheus error in its body) with err = "<what the query was>: <what went
 * wrong>". A refresh that failed once should be freed, not finished.
 */
int kd_prom_refresh_stream(struct kd_prom_refresh *r, size_t index, struct kd_prom_response **ret);
int kd_prom_refresh_add_parsed(struct kd_prom_refresh *r, size_t index, long status,
                               struct kd_prom_response *parsed, char *err, size_t err_len);

/*
 * Every range was added: run the model. Returns 0 and a forecast view into memory the refresh
 * owns (valid until kd_prom_refresh_free), or -ENODATA with err naming the query and what it
 * did not find.
 */
int kd_prom_refresh_finish(struct kd_prom_refresh *r, struct kd_forecast *ret_forecast, char *err,
                           size_t err_len);

/* "query_range `<query>` [<start>, <end>] step <s>s": how messages name a range. */
void kd_prom_refresh_describe(const struct kd_prom_refresh *r, size_t index, char *out,
                              size_t out_len);

void kd_prom_refresh_free(struct kd_prom_refresh *r);

#endif /* KD_PROM_REFRESH_H */
