/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: any bytes as a FileDescriptorSet; an accepted set must answer its own lookups. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "services/descriptor_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kd_descriptor_index *index;
    if (kd_descriptor_index_create(data, size, &index) != 0)
        return 0;
    size_t n = kd_descriptor_index_count(index);
    bool *sent = calloc(n + 1, sizeof(*sent));
    size_t *files = calloc(n + 1, sizeof(*files));
    for (size_t i = 0; sent && files && i < n; i++) {
        const struct kd_descriptor_file *f = kd_descriptor_index_file(index, i);
        size_t found, got;
        if (kd_descriptor_index_find_file(index, f->name, &found) != 0 || found != i)
            abort();
        if (f->bytes < data || f->bytes + f->len > data + size)
            abort();
        kd_descriptor_index_closure(index, i, sent, files, &got);
        if (got < 1 || got > n || files[0] != i)
            abort();
    }
    free(files);
    free(sent);
    kd_descriptor_index_destroy(index);
    return 0;
}
