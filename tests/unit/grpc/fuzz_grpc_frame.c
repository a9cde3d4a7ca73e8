/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the message decoder: the first byte picks a chunking step so that prefixes and bodies
 * split at every boundary; decoded messages must stay inside the limit and the input. */
#include <stdlib.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "grpc/grpc_frame.h"

/* Not assert(): the checks must survive NDEBUG builds. */
#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kd_grpc_frame_decoder dec;
    if (size < 1)
        return 0;
    size_t step = (size_t)(data[0] % 17) + 1;
    data++;
    size--;

    kd_grpc_frame_decoder_init(&dec, 1024);
    size_t total = 0;
    for (size_t off = 0; off < size;) {
        size_t n = size - off < step ? size - off : step;
        const uint8_t *p = data + off;
        size_t left = n;
        int rc = 0;
        while (left > 0) {
            struct kd_grpc_frame_message m;
            size_t used = 0;
            rc = kd_grpc_frame_decode(&dec, p, left, &used, &m);
            if (rc < 0)
                break;
            CHECK(used <= left);
            p += used;
            left -= used;
            if (rc == 1) {
                CHECK(m.len <= 1024);
                total += m.len + KD_GRPC_FRAME_HEADER_LEN;
                CHECK(total <= size);
            } else {
                CHECK(left == 0);
            }
        }
        if (rc < 0) {
            CHECK(rc == -EMSGSIZE);
            break;
        }
        off += n;
    }
    kd_grpc_frame_decoder_fini(&dec);
    return 0;
}
