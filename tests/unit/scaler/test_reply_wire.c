/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scaler/reply_wire: every answer it writes is the one protobuf_c_message_pack writes for the
 * same message, byte for byte: the edges of each field (empty and long names across varint
 * length boundaries, 0, +-1, 127/128, INT64_MIN/MAX, 0.0, -0.0, NaN, infinities, denormals)
 * and 200,000 pseudo-random combinations; a buffer one byte short is refused untouched.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "externalscaler.pb-c.h"
#include "scaler/reply_wire.h"

#define BIG_NAME 20000

/* Assert reply_wire's GetMetricsResponse is protobuf-c's, and that one byte less is -ENOSPC. */
static void check_metrics(const char *name, int64_t value, double value_float)
{
    Externalscaler__MetricValue mv = EXTERNALSCALER__METRIC_VALUE__INIT;
    Externalscaler__MetricValue *values[1] = {&mv};
    Externalscaler__GetMetricsResponse resp = EXTERNALSCALER__GET_METRICS_RESPONSE__INIT;
    mv.metricname = (char *)name;
    mv.metricvalue = value;
    mv.metricvaluefloat = value_float;
    resp.n_metricvalues = 1;
    resp.metricvalues = values;

    size_t want_len = protobuf_c_message_get_packed_size(&resp.base);
    uint8_t *want = malloc(want_len + 1);
    uint8_t *got = malloc(want_len + 1);
    assert_non_null(want);
    assert_non_null(got);
    assert_int_equal(protobuf_c_message_pack(&resp.base, want), want_len);

    assert_int_equal(kd_reply_wire_metrics_size(name, value, value_float), want_len);
    size_t len = 12345;
    assert_int_equal(kd_reply_wire_metrics(name, value, value_float, got, want_len - 1, &len),
                     -ENOSPC);
    assert_int_equal(len, 12345);
    assert_int_equal(kd_reply_wire_metrics(name, value, value_float, got, want_len, &len), 0);
    assert_int_equal(len, want_len);
    assert_memory_equal(got, want, want_len);
    free(want);
    free(got);
}

static char *name_of(size_t len)
{
    char *s = malloc(len + 1);
    assert_non_null(s);
    for (size_t i = 0; i < len; i++)
        s[i] = (char)('a' + i % 26);
    s[len] = '\0';
    return s;
}

static void test_edges(void **state)
{
    (void)state;
    static const size_t name_lens[] = {0,   1,   35,  100,   115,   116,     126,
                                       127, 128, 129, 16383, 16384, BIG_NAME};
    static const int64_t ints[] = {0, 1, -1, 127, 128, 16383, 16384, INT64_MAX, INT64_MIN};
    const double floats[] = {0.0,      -0.0,     1.0,       0.5,      -2.5,  NAN,
                             -NAN,     INFINITY, -INFINITY, 4.9e-324, 1e308, 9.2233720368547758e18,
                             12345.678};

    for (size_t n = 0; n < sizeof(name_lens) / sizeof(name_lens[0]); n++) {
        char *name = name_of(name_lens[n]);
        for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
            for (size_t f = 0; f < sizeof(floats) / sizeof(floats[0]); f++)
                check_metrics(name, ints[i], floats[f]);
        free(name);
    }
}

/* xorshift64: the same sequence on every run, so a failure reproduces. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_random(void **state)
{
    (void)state;
    uint64_t seed = 0x9e3779b97f4a7c15u;
    char *name = name_of(300);

    for (int i = 0; i < 200000; i++) {
        uint64_t r = next_random(&seed);
        size_t len = r % 301;
        char saved = name[len];
        name[len] = '\0';
        /* any bit pattern as the double (NaNs with payloads too), any int64 */
        uint64_t bits = next_random(&seed);
        double d;
        memcpy(&d, &bits, sizeof(d));
        int64_t v = (int64_t)next_random(&seed) >> (r >> 58);
        check_metrics(name, v, d);
        check_metrics(name, (int64_t)(r % 1000), (double)(r % 1000) / 4);
        name[len] = saved;
    }
    free(name);
}

static void check_is_active(bool result)
{
    Externalscaler__IsActiveResponse resp = EXTERNALSCALER__IS_ACTIVE_RESPONSE__INIT;
    uint8_t want[8], got[8];
    size_t len = 99;

    resp.result = result;
    size_t want_len = protobuf_c_message_pack(&resp.base, want);
    if (want_len > 0)
        assert_int_equal(kd_reply_wire_is_active(result, got, want_len - 1, &len), -ENOSPC);
    assert_int_equal(len, 99);
    assert_int_equal(kd_reply_wire_is_active(result, got, sizeof(got), &len), 0);
    assert_int_equal(len, want_len);
    assert_memory_equal(got, want, want_len);
}

static void test_is_active(void **state)
{
    (void)state;
    check_is_active(true);
    check_is_active(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_is_active),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
