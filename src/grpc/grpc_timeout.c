/* SPDX-License-Identifier: Apache-2.0 */
/* grpc-timeout parsing (see grpc_timeout.h). */
#include "grpc/grpc_timeout.h"

#include <errno.h>

int kd_grpc_timeout_parse(const char *text, size_t len, int64_t *ret_ms)
{
    if (len < 2 || len > 9)
        return -EINVAL;

    int64_t value = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -EINVAL;
        value = value * 10 + (text[i] - '0');
    }

    int64_t ms;
    switch (text[len - 1]) {
    case 'H':
        ms = value * 3600000;
        break;
    case 'M':
        ms = value * 60000;
        break;
    case 'S':
        ms = value * 1000;
        break;
    case 'm':
        ms = value;
        break;
    case 'u':
        ms = (value + 999) / 1000;
        break;
    case 'n':
        ms = (value + 999999) / 1000000;
        break;
    default:
        return -EINVAL;
    }
    /* At most 99999999 hours, so the products above cannot overflow int64. */
    *ret_ms = ms > KD_GRPC_TIMEOUT_MAX_MS ? KD_GRPC_TIMEOUT_MAX_MS : ms;
    return 0;
}
