/* SPDX-License-Identifier: Apache-2.0 */
/* Modules the loader must refuse (test_tls_module.py), one per definition: FAKE_OLD (an ABI
 * version before this daemon's), FAKE_SMALL (a table that stops before the functions),
 * FAKE_NONE (no kd_tls_module symbol at all). */
#include <stddef.h>

#include "grpc/tls_module.h"

#if defined(FAKE_OLD)
__attribute__((visibility("default"))) const struct kd_tls_module kd_tls_module = {
    .abi_version = KD_TLS_MODULE_ABI - 1,
    .struct_size = sizeof(struct kd_tls_module),
};
#elif defined(FAKE_SMALL)
__attribute__((visibility("default"))) const struct kd_tls_module kd_tls_module = {
    .abi_version = KD_TLS_MODULE_ABI,
    .struct_size = (uint32_t)offsetof(struct kd_tls_module, init),
};
#else
__attribute__((visibility("default"))) const int kd_not_a_tls_module = 1;
#endif
