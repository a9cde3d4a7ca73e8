/* SPDX-License-Identifier: Apache-2.0 */
/* Protobuf wire format of the hot path's answers (see reply_wire.h). */
#include "scaler/reply_wire.h"

#include <errno.h>
#include <string.h>

/* Wire types and the tags of externalscaler.proto's fields (field number << 3 | wire type). */
enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2 };
#define TAG(field, wire) ((uint8_t)((field) << 3 | (wire)))
#define TAG_METRIC_VALUES TAG(1, WIRE_LEN)    /* GetMetricsResponse.metricValues */
#define TAG_METRIC_NAME TAG(1, WIRE_LEN)      /* MetricValue.metricName */
#define TAG_METRIC_VALUE TAG(2, WIRE_VARINT)  /* MetricValue.metricValue */
#define TAG_METRIC_FLOAT TAG(3, WIRE_FIXED64) /* MetricValue.metricValueFloat */
#define TAG_RESULT TAG(1, WIRE_VARINT)        /* IsActiveResponse.result */

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *put_varint(uint8_t *at, uint64_t v)
{
    while (v >= 0x80) {
        *at++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *at++ = (uint8_t)v;
    return at;
}

/* Little-endian, whatever the host: the wire's byte order for fixed64. */
static uint8_t *put_fixed64(uint8_t *at, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof(bits));
    for (int i = 0; i < 8; i++)
        *at++ = (uint8_t)(bits >> (8 * i));
    return at;
}

/* protobuf-c's zero test for a proto3 double: == 0, so -0.0 is left out too, NaN is not. */
static bool is_zero_double(double d)
{
    return d == 0;
}

/* The MetricValue's own length (without the outer tag and length). */
static size_t metric_value_size(size_t name_len, int64_t value, double value_float)
{
    size_t n = 0;
    if (name_len)
        n += 1 + varint_size(name_len) + name_len;
    if (value)
        n += 1 + varint_size((uint64_t)value);
    if (!is_zero_double(value_float))
        n += 1 + 8;
    return n;
}

size_t kd_reply_wire_metrics_size(const char *name, int64_t value, double value_float)
{
    size_t inner = metric_value_size(strlen(name), value, value_float);
    return 1 + varint_size(inner) + inner;
}

int kd_reply_wire_metrics(const char *name, int64_t value, double value_float, uint8_t *buf,
                          size_t cap, size_t *ret_len)
{
    size_t name_len = strlen(name);
    size_t inner = metric_value_size(name_len, value, value_float);
    size_t total = 1 + varint_size(inner) + inner;
    if (total > cap)
        return -ENOSPC;

    uint8_t *at = buf;
    *at++ = TAG_METRIC_VALUES;
    at = put_varint(at, inner);
    if (name_len) {
        *at++ = TAG_METRIC_NAME;
        at = put_varint(at, name_len);
        memcpy(at, name, name_len);
        at += name_len;
    }
    if (value) {
        *at++ = TAG_METRIC_VALUE;
        at = put_varint(at, (uint64_t)value); /* two's complement: negative is 10 bytes */
    }
    if (!is_zero_double(value_float)) {
        *at++ = TAG_METRIC_FLOAT;
        at = put_fixed64(at, value_float);
    }
    *ret_len = (size_t)(at - buf);
    return 0;
}

int kd_reply_wire_is_active(bool result, uint8_t *buf, size_t cap, size_t *ret_len)
{
    size_t total = result ? 2 : 0;
    if (total > cap)
        return -ENOSPC;
    if (result) {
        buf[0] = TAG_RESULT;
        buf[1] = 1;
    }
    *ret_len = total;
    return 0;
}
