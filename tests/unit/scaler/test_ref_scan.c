/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scaler/ref_scan and strict names in kd_external_scaler_parse: NUL bytes, invalid UTF-8 and
 * over-long names are refused saying which, never truncated. Wire bytes are written by hand
 * (protobuf-c's packer takes C strings, so it cannot produce an embedded NUL).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scaler/external_scaler.h"
#include "scaler/ref_scan.h"

/* Append a length-delimited field. */
static size_t put_field(uint8_t *buf, size_t at, uint8_t field, const void *bytes, size_t len)
{
    buf[at++] = (uint8_t)(field << 3 | 2);
    buf[at++] = (uint8_t)len; /* < 128 in these tests */
    memcpy(buf + at, bytes, len);
    return at + len;
}

/* A metadata map entry {key, value} as field 3 of ScaledObjectRef. */
static size_t put_entry(uint8_t *buf, size_t at, const void *key, size_t klen, const void *value,
                        size_t vlen)
{
    uint8_t entry[160];
    size_t n = put_field(entry, 0, 1, key, klen);
    n = put_field(entry, n, 2, value, vlen);
    return put_field(buf, at, 3, entry, n);
}

static void parse_fails(enum kd_scaler_method m, const uint8_t *msg, size_t len,
                        const char *message)
{
    struct kd_scaler_request req = {0};
    struct kd_scaler_reply reply;

    kd_external_scaler_reply_init(&reply);
    assert_int_equal(kd_external_scaler_parse(m, msg, len, &req, &reply), -EINVAL);
    assert_int_equal(reply.status, KD_GRPC_INVALID_ARGUMENT);
    assert_string_equal(reply.message, message);
    assert_null(req.workload);
    kd_external_scaler_reply_fini(&reply);
}

static void test_nul_in_name_or_workload(void **state)
{
    uint8_t buf[256];
    size_t n;

    (void)state;
    /* the probe's case: "demo-api\0evil" must not be served demo-api's forecast */
    n = put_field(buf, 0, 1, "demo-api\0evil", 13);
    parse_fails(KD_SCALER_IS_ACTIVE, buf, n,
                "workload name (ScaledObjectRef name) contains a NUL byte at offset 8");
    parse_fails(KD_SCALER_GET_METRIC_SPEC, buf, n,
                "workload name (ScaledObjectRef name) contains a NUL byte at offset 8");
    n = put_field(buf, 0, 1, "so", 2);
    n = put_entry(buf, n, "workload", 8, "\0x", 2);
    parse_fails(KD_SCALER_IS_ACTIVE, buf, n,
                "workload name (scalerMetadata \"workload\") contains a NUL byte at offset 0");

    /* GetMetricsRequest: the ref is field 1, its metricName field 2 */
    uint8_t outer[300];
    n = put_field(buf, 0, 1, "web\0", 4);
    size_t m = put_field(outer, 0, 1, buf, n);
    parse_fails(KD_SCALER_GET_METRICS, outer, m,
                "workload name (ScaledObjectRef name) contains a NUL byte at offset 3");
    n = put_field(buf, 0, 1, "web", 3);
    m = put_field(outer, 0, 1, buf, n);
    m = put_field(outer, m, 2, "m\0x", 3);
    parse_fails(KD_SCALER_GET_METRICS, outer, m,
                "metric name (GetMetricsRequest metricName) contains a NUL byte at offset 1");
}

static void test_bad_utf8_and_length(void **state)
{
    uint8_t buf[400];
    char long_name[300];
    size_t n;

    (void)state;
    n = put_field(buf, 0, 1, "web\xff", 4);
    parse_fails(KD_SCALER_IS_ACTIVE, buf, n,
                "workload name (ScaledObjectRef name) is not valid UTF-8 (byte 0xff at offset 3)");
    n = put_field(buf, 0, 1, "\xc0\xaf", 2); /* overlong "/" */
    parse_fails(KD_SCALER_IS_ACTIVE, buf, n,
                "workload name (ScaledObjectRef name) is not valid UTF-8 (byte 0xc0 at offset 0)");
    n = put_field(buf, 0, 1, "\xed\xa0\x80", 3); /* a UTF-16 surrogate */
    parse_fails(KD_SCALER_IS_ACTIVE, buf, n,
                "workload name (ScaledObjectRef name) is not valid UTF-8 (byte 0xed at offset 0)");

    memset(long_name, 'a', sizeof(long_name));
    /* 254 bytes: one too many; the length needs two varint bytes, so build it by hand */
    buf[0] = 0x0a;
    buf[1] = 0xfe;
    buf[2] = 0x01;
    memcpy(buf + 3, long_name, 254);
    parse_fails(KD_SCALER_IS_ACTIVE, buf, 3 + 254,
                "workload name (ScaledObjectRef name) is 254 bytes long; at most 253 are allowed");

    /* 253 bytes of valid UTF-8 (with multi-byte characters) pass, untruncated */
    buf[1] = 0xfd;
    memcpy(buf + 3, "\xc3\xa9", 2); /* é */
    memcpy(buf + 5, long_name, 251);
    struct kd_scaler_request req;
    struct kd_scaler_reply reply;
    kd_external_scaler_reply_init(&reply);
    assert_int_equal(kd_external_scaler_parse(KD_SCALER_IS_ACTIVE, buf, 3 + 253, &req, &reply), 0);
    assert_int_equal(strlen(req.workload), 253);
    assert_int_equal((uint8_t)req.workload[0], 0xc3);
    kd_external_scaler_request_fini(&req);
    kd_external_scaler_reply_fini(&reply);
}

static void test_metadata_keys(void **state)
{
    uint8_t buf[400];
    struct kd_ref_scan scan;
    size_t n;

    (void)state;
    n = put_field(buf, 0, 1, "so", 2);
    n = put_entry(buf, n, "workload", 8, "a", 1);
    n = put_entry(buf, n, "workload\0x", 10, "evil", 4); /* not the key "workload" */
    n = put_entry(buf, n, "leadTime", 8, "5m", 2);
    n = put_entry(buf, n, "leadTime", 8, "7m", 2); /* the last duplicate wins */
    n = put_entry(buf, n, "mode", 4, "", 0);       /* empty = absent */
    n = put_entry(buf, n, "scalerAddress", 13, "x:1", 3);
    assert_int_equal(kd_ref_scan(buf, n, &scan), 0);
    assert_int_equal(scan.name.len, 2);
    assert_int_equal(scan.workload.len, 1);
    assert_memory_equal(scan.workload.p, "a", 1);
    assert_int_equal(scan.overrides[KD_OVERRIDE_LEAD_TIME].len, 2);
    assert_memory_equal(scan.overrides[KD_OVERRIDE_LEAD_TIME].p, "7m", 2);
    assert_null(scan.overrides[KD_OVERRIDE_MODE].p);

    struct kd_scaler_request req;
    struct kd_scaler_reply reply;
    kd_external_scaler_reply_init(&reply);
    assert_int_equal(kd_external_scaler_parse(KD_SCALER_IS_ACTIVE, buf, n, &req, &reply), 0);
    assert_string_equal(req.workload, "a");
    assert_string_equal(req.overrides.value[KD_OVERRIDE_LEAD_TIME], "7m");
    assert_null(req.overrides.value[KD_OVERRIDE_MODE]);
    assert_null(req.override_error);
    kd_external_scaler_request_fini(&req);

    /* a NUL in an override value: the request parses (GetMetricSpec answers), the error is
     * kept for GetMetrics / IsActive */
    n = put_field(buf, 0, 1, "so", 2);
    n = put_entry(buf, n, "leadTime", 8, "5m\0x", 4);
    assert_int_equal(kd_external_scaler_parse(KD_SCALER_IS_ACTIVE, buf, n, &req, &reply), 0);
    assert_string_equal(req.override_error,
                        "scalerMetadata \"leadTime\": the value contains a NUL byte at offset 2");
    kd_external_scaler_request_fini(&req);
    kd_external_scaler_reply_fini(&reply);

    /* truncated wire data */
    assert_int_equal(kd_ref_scan((const uint8_t *)"\x0a\x05so", 4, &scan), -EINVAL);
}

/* A GetMetricsRequest whose scaledObjectRef occurs twice: the two merge (protobuf's rule, and
 * what protobuf-c validated), the later map entries and name winning. */
static void test_get_metrics_ref_twice_merges(void **state)
{
    uint8_t ref1[128], ref2[128], buf[300];
    struct kd_scaler_request req;
    struct kd_scaler_reply reply;
    size_t n1, n2, n;

    (void)state;
    n1 = put_field(ref1, 0, 1, "so", 2);
    n1 = put_entry(ref1, n1, "workload", 8, "web", 3);
    n1 = put_entry(ref1, n1, "leadTime", 8, "5m", 2);
    n2 = put_field(ref2, 0, 1, "other", 5);
    n2 = put_entry(ref2, n2, "leadTime", 8, "7m", 2);
    n = put_field(buf, 0, 1, ref1, n1);
    n = put_field(buf, n, 1, ref2, n2);
    kd_external_scaler_reply_init(&reply);
    assert_int_equal(kd_external_scaler_parse(KD_SCALER_GET_METRICS, buf, n, &req, &reply), 0);
    assert_string_equal(req.workload, "web"); /* from the first occurrence, kept */
    assert_string_equal(req.overrides.value[KD_OVERRIDE_LEAD_TIME], "7m");
    kd_external_scaler_request_fini(&req);
    kd_external_scaler_reply_fini(&reply);
}

static void test_utf8_prefix(void **state)
{
    static const struct {
        const char *s;
        size_t len, valid;
    } rows[] = {
        {"plain", 5, 5},
        {"\xc3\xa9t\xc3\xa9", 5, 5},
        {"\xe2\x82\xac", 3, 3},
        {"\xf0\x9f\x98\x80", 4, 4},
        {"\xf4\x90\x80\x80", 4, 0}, /* > U+10FFFF */
        {"ab\xe2\x82", 4, 2},       /* cut short */
        {"\x80", 1, 0},
        {"\xe0\x80\xaf", 3, 0}, /* overlong */
        {"a\xc3(", 3, 1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        assert_int_equal(kd_utf8_valid_prefix((const uint8_t *)rows[i].s, rows[i].len),
                         rows[i].valid);
}

/* Names of every length up to 40 with one bad byte at every offset: the word-at-a-time pass
 * must stop at the same byte as the byte-wise checks. */
static void test_name_check_every_offset(void **state)
{
    uint8_t name[40];
    char why[128], want[128];

    (void)state;
    for (size_t len = 1; len <= sizeof(name); len++) {
        memset(name, 'a', len);
        assert_null(kd_name_check((struct kd_slice){name, len}, 0, why, sizeof(why)));
        assert_int_equal(kd_utf8_valid_prefix(name, len), len);
        for (size_t at = 0; at < len; at++) {
            memset(name, 'a', len);
            name[at] = 0;
            snprintf(want, sizeof(want), "contains a NUL byte at offset %zu", at);
            assert_string_equal(kd_name_check((struct kd_slice){name, len}, 0, why, sizeof(why)),
                                want);
            assert_int_equal(kd_utf8_valid_prefix(name, len), len); /* NUL is UTF-8 */
            name[at] = 0xff;
            snprintf(want, sizeof(want), "is not valid UTF-8 (byte 0xff at offset %zu)", at);
            assert_string_equal(kd_name_check((struct kd_slice){name, len}, 0, why, sizeof(why)),
                                want);
            assert_int_equal(kd_utf8_valid_prefix(name, len), at);
            name[at] = 0x7f; /* DEL: ASCII, allowed */
            assert_null(kd_name_check((struct kd_slice){name, len}, 0, why, sizeof(why)));
            if (at + 1 < len) {
                name[at] = 0xc3; /* é, then a bad byte after it */
                name[at + 1] = 0xa9;
                assert_int_equal(kd_utf8_valid_prefix(name, len), len);
                if (at + 2 < len) {
                    name[at + 2] = 0x80;
                    assert_int_equal(kd_utf8_valid_prefix(name, len), at + 2);
                }
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nul_in_name_or_workload),
        cmocka_unit_test(test_bad_utf8_and_length),
        cmocka_unit_test(test_metadata_keys),
        cmocka_unit_test(test_get_metrics_ref_twice_merges),
        cmocka_unit_test(test_utf8_prefix),
        cmocka_unit_test(test_name_check_every_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
