/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two answers of the hot path, GetMetricsResponse (one MetricValue) and IsActiveResponse,
 * written straight to protobuf wire format. protobuf_c_message_pack() sizes the message, then
 * sizes the sub-message again while packing it, through descriptor-driven loops: ~900
 * instructions per cached GetMetrics for a 50-byte answer. These write the same bytes in a
 * few dozen. The output is protobuf-c 1.4's byte for byte (proto3 rules: a field holding its
 * zero value — empty name, 0, 0.0 or -0.0, false — is left out; an int64 is a 10-byte varint
 * when negative), which test_reply_wire checks against protobuf_c_message_pack itself. Pure.
 */
#ifndef KD_REPLY_WIRE_H
#define KD_REPLY_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes kd_reply_wire_metrics writes for these values (name: a C string). */
size_t kd_reply_wire_metrics_size(const char *name, int64_t value, double value_float);

/* GetMetricsResponse { metricValues: [{ metricName: name, metricValue: value,
 * metricValueFloat: value_float }] } into buf, which holds cap bytes. 0 and the length in
 * *ret_len, or -ENOSPC (nothing written that counts; *ret_len untouched). */
int kd_reply_wire_metrics(const char *name, int64_t value, double value_float, uint8_t *buf,
                          size_t cap, size_t *ret_len);

/* IsActiveResponse { result }: 2 bytes, or none for false. Same returns. */
int kd_reply_wire_is_active(bool result, uint8_t *buf, size_t cap, size_t *ret_len);

#endif /* KD_REPLY_WIRE_H */
