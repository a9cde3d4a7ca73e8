/* SPDX-License-Identifier: Apache-2.0 */
/* grpc.reflection.v1 and v1alpha ServerReflectionInfo, from the embedded descriptor set. */
#ifndef KD_REFLECTION_H
#define KD_REFLECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kd_descriptor_index;
struct kd_grpc_server;
struct kd_reflection;

/* Registers both versions on `server`. list_services answers with the services registered on
 * the server at the time of the request. */
int kd_reflection_create(struct kd_grpc_server *server, struct kd_reflection **ret_reflection);

/* Unregisters both services; call it while `server` exists. Streams still open keep the object
 * alive until their on_close. */
void kd_reflection_destroy(struct kd_reflection *reflection);

/*
 * The pure core, one ServerReflectionRequest in, one ServerReflectionResponse out (exposed for
 * tests). `services` are the names list_services reports; `sent` is the stream's "file already
 * sent" set (kd_descriptor_index_count entries, updated). Lookup failures are answered in-band
 * (error_response, code 5). Returns 0 and a malloc'd response, -EBADMSG if `req` is not a
 * ServerReflectionRequest, -EINVAL if it sets no request, -ENOMEM.
 */
int kd_reflection_answer(const struct kd_descriptor_index *index, const char *const *services,
                         size_t n_services, bool *sent, const uint8_t *req, size_t req_len,
                         uint8_t **ret_resp, size_t *ret_resp_len);

#endif /* KD_REFLECTION_H */
