/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes kd_duration_parse / kd_size_parse; every parsed duration must survive
 * format -> parse unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    int64_t ms, back, bytes;
    if (kd_duration_parse(text, &ms) == 0) {
        char buf[64];
        kd_duration_format(ms, buf, sizeof(buf));
        if (kd_duration_parse(buf, &back) != 0 || back != ms)
            abort();
    }
    kd_size_parse(text, &bytes);
    free(text);
    return 0;
}
