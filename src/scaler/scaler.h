/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KEDA side: sources, policies and routes built from the configuration, the per-workload
 * forecast cache, and the externalscaler.ExternalScaler service.
 */
#ifndef KD_SCALER_H
#define KD_SCALER_H

#include <stddef.h>

struct event_base;
struct kd_config;
struct kd_grpc_server;
struct kd_scaler;

/* Load the plugins the config names, create their instances, build the routes. On error one
 * line in err (file:line when the config has it), negative errno, nothing left behind. */
int kd_scaler_create(const struct kd_config *config, struct event_base *base,
                     struct kd_scaler **ret_scaler, char *err, size_t err_len);

/* Register externalscaler.ExternalScaler on `server`. The method table lives in the scaler:
 * destroy the server before the scaler. */
int kd_scaler_register(struct kd_scaler *scaler, struct kd_grpc_server *server);

/* Shutdown: end every StreamIsActive stream with status OK, cancel pending fetches. */
void kd_scaler_drain(struct kd_scaler *scaler);

void kd_scaler_destroy(struct kd_scaler *scaler);

#endif /* KD_SCALER_H */
