/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cache's record of each workload's last answers (workload_state.h), small: the effective
 * settings, the same for most workloads of a route, are interned (one refcounted copy per
 * distinct value, per cache) and an answer keeps a pointer: 72 bytes instead of 176.
 */
#ifndef KD_ANSWER_STORE_H
#define KD_ANSWER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaler/workload_state.h"

struct kd_interned_settings;

struct kd_stored_answer {
    int64_t at_ms; /* 0: never answered (the rest unset) */
    const struct kd_interned_settings *settings;
    double policy_value;
    int64_t window_first, window_last;
    int64_t age_ms, stale_after_ms;
    int64_t next_activation_ms;
    int32_t status;
    bool stale, exhausted, shadow, active;
};

struct kd_answer_store {
    struct kd_interned_settings **buckets;
    size_t n_buckets; /* 0 or a power of two */
    size_t n;
};

void kd_answer_store_init(struct kd_answer_store *store);
/* Every stored answer must have been released. */
void kd_answer_store_fini(struct kd_answer_store *store);

/* Keep a copy of `answer` in `slot` (its old content released); -ENOMEM leaves it as it was. */
int kd_answer_store_put(struct kd_answer_store *store, struct kd_stored_answer *slot,
                        const struct kd_workload_answer *answer);

/* The answer kept in `slot`; an empty slot gives `empty`. */
void kd_answer_store_get(const struct kd_stored_answer *slot,
                         const struct kd_workload_answer *empty, struct kd_workload_answer *ret);

void kd_answer_store_release(struct kd_answer_store *store, struct kd_stored_answer *slot);

#endif /* KD_ANSWER_STORE_H */
