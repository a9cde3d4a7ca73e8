/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the scaler last decided for one workload, kept in its cache entry so that it can be
 * shown (introspection, the status page) without recomputing anything: the effective
 * settings with the origin of each, the window the policy looked at, the activation state
 * and when demand next enters the activation window. Plain data; the cache stores a copy.
 */
#ifndef KD_WORKLOAD_STATE_H
#define KD_WORKLOAD_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "grpc/grpc_server.h"
#include "scaler/effective_settings.h"

enum kd_workload_answer_kind {
    KD_ANSWER_METRICS = 0,  /* GetMetrics */
    KD_ANSWER_ACTIVITY = 1, /* IsActive and StreamIsActive evaluations */
    KD_ANSWER_COUNT,
};

struct kd_workload_answer {
    int64_t at_ms;               /* wall clock of the answer; 0: never answered */
    enum kd_grpc_status status;  /* what the caller got (OK for a stream evaluation) */
    struct kd_settings settings; /* effective, with settings.origin[] per setting */
    double policy_value;         /* NAN: the policy did not run (no usable forecast) */
    int64_t window_first;        /* indexes of desiredReplicas the policy looked at; -1 none */
    int64_t window_last;
    int64_t age_ms;             /* of the forecast used; -1 none */
    int64_t stale_after_ms;     /* the limit applied to it; -1 none */
    bool stale;                 /* older than stale_after, or exhausted */
    bool exhausted;             /* every step has passed */
    bool shadow;                /* mode = shadow: the answer was 0 / false */
    bool active;                /* ACTIVITY: the outcome */
    int64_t next_activation_ms; /* ACTIVITY, activation = demand while inactive: when demand
                                   enters the activation window (wall clock); -1 none */
};

#endif /* KD_WORKLOAD_STATE_H */
