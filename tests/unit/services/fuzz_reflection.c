/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: any bytes as one ServerReflectionRequest against the embedded descriptor set;
 * the stream's sent-set carries over between inputs, as on a long-lived stream. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "services/descriptor_index.h"
#include "services/reflection.h"

extern const unsigned char kd_descriptor_set[];
extern const size_t kd_descriptor_set_len;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct kd_descriptor_index *index;
    static bool sent[16];
    static const char *const services[] = {"externalscaler.ExternalScaler",
                                           "grpc.health.v1.Health"};
    uint8_t *out;
    size_t len;

    if (!index && kd_descriptor_index_create(kd_descriptor_set, kd_descriptor_set_len, &index) != 0)
        abort();
    if (kd_descriptor_index_count(index) > sizeof(sent))
        abort();
    int rc = kd_reflection_answer(index, services, 2, sent, data, size, &out, &len);
    if (rc == 0)
        free(out);
    else if (rc != -EBADMSG && rc != -EINVAL && rc != -ENOMEM)
        abort();
    return 0;
}
