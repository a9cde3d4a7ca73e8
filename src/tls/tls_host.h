/* SPDX-License-Identifier: Apache-2.0 */
/* The module's side of struct kd_tls_host: util/log.h's functions, forwarded to the daemon's
 * log, so the module's lines follow its level and format (the module links no kd_util). */
#ifndef KD_TLS_HOST_H
#define KD_TLS_HOST_H

#include "grpc/tls_module.h"

/* kd_tls_module.init: keep `host`. -EINVAL for a host struct older than this module knows. */
int kd_tls_host_init(const struct kd_tls_host *host);

#endif /* KD_TLS_HOST_H */
