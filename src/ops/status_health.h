/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /healthz?verbose and /readyz?verbose in the Kubernetes API server's style: one line per
 * check, "[+]name ok" or "[-]name failed: reason", then "<probe> check passed" or "failed".
 * Source lines are information: they never fail liveness, and fail readiness only through the
 * "sources" check that readyz_requires_sources adds. Pure.
 */
#ifndef KD_STATUS_HEALTH_H
#define KD_STATUS_HEALTH_H

#include <stdbool.h>
#include <stdio.h>

#include "scaler/scaler_status.h"

enum kd_status_probe { KD_STATUS_HEALTHZ, KD_STATUS_READYZ };

struct kd_status_health {
    enum kd_status_probe probe;
    bool live;             /* not draining */
    bool ready;            /* config loaded, sources created, gRPC listening, not draining */
    bool requires_sources; /* readyz_requires_sources */
};

/* Whether the probe passes (the snapshot's sources matter only to a readyz that requires
 * them). */
bool kd_status_health_passes(const struct kd_status_health *h, const struct kd_status_snapshot *s);

/* The verbose text; returns kd_status_health_passes(). */
bool kd_status_health_render(const struct kd_status_health *h, const struct kd_status_snapshot *s,
                             FILE *out);

#endif /* KD_STATUS_HEALTH_H */
