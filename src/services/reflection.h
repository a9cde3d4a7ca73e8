/* SPDX-License-Identifier: Apache-2.0 */
/* grpc.reflection.v1 and v1alpha ServerReflectionInfo, from the embedded descriptor set. */
#ifndef KD_REFLECTION_H
#define KD_REFLECTION_H

struct kd_grpc_server;
struct kd_reflection;

/* Registers both versions on `server`. list_services answers with the services registered on
 * the server at the time of the request. */
int kd_reflection_create(struct kd_grpc_server *server, struct kd_reflection **ret_reflection);
void kd_reflection_destroy(struct kd_reflection *reflection);

#endif /* KD_REFLECTION_H */
