/* SPDX-License-Identifier: Apache-2.0 */
/* grpc.health.v1.Health: Check, Watch (server streaming), List. */
#ifndef KD_HEALTH_H
#define KD_HEALTH_H

#include <stdbool.h>

struct kd_grpc_server;
struct kd_health;

/* Registers the service on `server`. Known names: "" and each of `services` (NULL-terminated,
 * borrowed, e.g. "externalscaler.ExternalScaler"); all start SERVING. */
int kd_health_create(struct kd_grpc_server *server, const char *const *services,
                     struct kd_health **ret_health);

/* Flip every known name to SERVING / NOT_SERVING; Watch streams get the new status. */
void kd_health_set_serving(struct kd_health *health, bool serving);

/* End open Watch streams with status OK (shutdown). */
void kd_health_drain(struct kd_health *health);

/* Unregisters the service; call it while the server exists. Calls still open keep the object
 * alive until their on_close. NULL is a no-op. */
void kd_health_destroy(struct kd_health *health);

#endif /* KD_HEALTH_H */
