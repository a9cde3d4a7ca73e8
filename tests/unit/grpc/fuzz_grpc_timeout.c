/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz grpc-timeout parsing: accepted values are within [0, KD_GRPC_TIMEOUT_MAX_MS] and come
 * only from 2..9 byte inputs. */
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>

#include "grpc/grpc_timeout.h"

/* Not assert(): the checks must survive NDEBUG builds. */
#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t ms = -1;
    if (kd_grpc_timeout_parse((const char *)data, size, &ms) == 0) {
        CHECK(size >= 2 && size <= 9);
        CHECK(ms >= 0 && ms <= KD_GRPC_TIMEOUT_MAX_MS);
    } else {
        CHECK(ms == -1);
    }
    return 0;
}
