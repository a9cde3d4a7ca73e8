/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The strings of a ScaledObjectRef (and of a GetMetricsRequest) as byte slices straight from
 * the wire, so that a NUL byte or invalid UTF-8 is seen instead of being cut off by a C
 * string: "demo-api\0evil" must not become demo-api. Pure; run after kd_pb_check accepted the
 * message as protobuf-c would, so only well-formed input reaches it (it still checks every
 * length).
 */
#ifndef KD_REF_SCAN_H
#define KD_REF_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct kd_slice {
    const uint8_t *p; /* NULL: absent */
    size_t len;
};

struct kd_ref_scan {
    struct kd_slice name;     /* ScaledObjectRef.name */
    struct kd_slice workload; /* scalerMetadata["workload"] */
    struct kd_slice metric_name;
    struct kd_slice overrides[KD_OVERRIDE_COUNT]; /* scalerMetadata["leadTime"], ... */
};

/*
 * Scan a packed ScaledObjectRef. Metadata as a Go map read: the last duplicate key wins, an
 * empty value counts as absent, keys compare as whole byte strings ("workload\0x" is not
 * "workload"). Returns 0 or -EINVAL (truncated or malformed wire data).
 */
int kd_ref_scan(const uint8_t *buf, size_t len, struct kd_ref_scan *ret_scan);

/* Scan a packed GetMetricsRequest: its scaledObjectRef (*ret_has_ref false if absent) and
 * metricName. */
int kd_ref_scan_get_metrics(const uint8_t *buf, size_t len, struct kd_ref_scan *ret_scan,
                            struct kd_slice *ret_metric_name, bool *ret_has_ref);

/*
 * Check a name: no NUL byte, valid UTF-8, at most `max_len` bytes (0: no bound). Returns NULL
 * when fine, else writes why into `why` ("contains a NUL byte at offset 8", "is not valid
 * UTF-8 (byte 0xff at offset 3)", "is 300 bytes long; at most 253 are allowed") and returns
 * it.
 */
const char *kd_name_check(struct kd_slice name, size_t max_len, char *why, size_t why_len);

/* Offset of the first byte that breaks UTF-8 (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF), or len when the whole slice is valid. */
size_t kd_utf8_valid_prefix(const uint8_t *p, size_t len);

#endif /* KD_REF_SCAN_H */
