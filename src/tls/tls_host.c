/* SPDX-License-Identifier: Apache-2.0 */
#include "tls/tls_host.h"

#include <errno.h>

static const struct kd_tls_host *g_host;

int kd_tls_host_init(const struct kd_tls_host *host)
{
    if (!host || host->size < sizeof(*host))
        return -EINVAL;
    g_host = host;
    return 0;
}

/* Before init (never, by the contract) nothing is logged rather than crashing. */
bool kd_log_enabled(enum kd_log_level level)
{
    return g_host && g_host->log_enabled(level);
}

void kd_log_prefixedv(enum kd_log_level level, const char *prefix, const char *fmt, va_list ap)
{
    if (g_host)
        g_host->log_prefixedv(level, prefix, fmt, ap);
}

void kd_log_prefixed(enum kd_log_level level, const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kd_log_prefixedv(level, prefix, fmt, ap);
    va_end(ap);
}
