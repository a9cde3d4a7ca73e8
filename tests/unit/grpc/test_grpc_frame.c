/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the gRPC message decoder and encoder: every way a message can be cut into DATA
 * chunks, several messages per chunk, compressed flag, size limit, buffer reuse. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grpc/grpc_frame.h"

#define MAX_MSGS 64

/* What a whole stream decodes to. */
struct result {
    int rc; /* 0, or the first error */
    size_t n;
    size_t lens[MAX_MSGS];
    uint8_t first_bytes[MAX_MSGS];
    int compressed[MAX_MSGS];
    bool is_idle;
};

/* Feed `in` in chunks of `step` bytes (0: all at once). */
static struct result decode_all(const uint8_t *in, size_t len, size_t step, size_t max)
{
    struct kd_grpc_frame_decoder dec;
    struct result r = {0};
    kd_grpc_frame_decoder_init(&dec, max);
    if (step == 0)
        step = len ? len : 1;
    for (size_t off = 0; off < len && r.rc == 0; off += step) {
        size_t left = len - off < step ? len - off : step;
        const uint8_t *p = in + off;
        while (left > 0) {
            struct kd_grpc_frame_message m;
            size_t used = 0;
            int rc = kd_grpc_frame_decode(&dec, p, left, &used, &m);
            if (rc < 0) {
                r.rc = rc;
                break;
            }
            p += used;
            left -= used;
            if (rc == 1) {
                assert_true(r.n < MAX_MSGS);
                r.lens[r.n] = m.len;
                r.first_bytes[r.n] = m.len ? m.data[0] : 0;
                r.compressed[r.n] = m.is_compressed;
                r.n++;
            } else {
                assert_int_equal(left, 0);
            }
        }
    }
    r.is_idle = kd_grpc_frame_decoder_is_idle(&dec);
    kd_grpc_frame_decoder_fini(&dec);
    return r;
}

static size_t put(uint8_t *buf, uint8_t flag, const char *body, size_t len)
{
    buf[0] = flag;
    buf[1] = (uint8_t)(len >> 24);
    buf[2] = (uint8_t)(len >> 16);
    buf[3] = (uint8_t)(len >> 8);
    buf[4] = (uint8_t)len;
    memcpy(buf + 5, body, len);
    return 5 + len;
}

static void test_every_chunk_size(void **state)
{
    (void)state;
    uint8_t in[256];
    size_t n = 0;
    n += put(in + n, 0, "hello", 5);
    n += put(in + n, 0, "", 0);
    n += put(in + n, 0, "abcdefghijklmnopqrstuvwxyz", 26);
    n += put(in + n, 1, "z", 1);
    /* Each step from 1 byte (header split everywhere) to all at once gives the same result. */
    for (size_t step = 0; step <= n; step++) {
        struct result r = decode_all(in, n, step, 100);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.n, 4);
        assert_int_equal(r.lens[0], 5);
        assert_int_equal(r.first_bytes[0], 'h');
        assert_int_equal(r.lens[1], 0);
        assert_int_equal(r.lens[2], 26);
        assert_int_equal(r.first_bytes[2], 'a');
        assert_int_equal(r.lens[3], 1);
        assert_int_equal(r.compressed[3], 1);
        assert_int_equal(r.compressed[0], 0);
        assert_true(r.is_idle);
    }
}

static void test_empty_input(void **state)
{
    (void)state;
    struct result r = decode_all(NULL, 0, 0, 10);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.n, 0);
    assert_true(r.is_idle);
}

static void test_truncated_is_not_idle(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        size_t len;
    } cases[] = {
        {"half a header", 3},
        {"header only", 5},
        {"header and part of the body", 7},
    };
    uint8_t in[32];
    put(in, 0, "0123456789", 10);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct result r = decode_all(in, cases[i].len, 1, 100);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.n, 0);
        assert_false(r.is_idle);
    }
}

static void test_size_limit(void **state)
{
    (void)state;
    uint8_t in[64];
    size_t n = put(in, 0, "0123456789", 10);
    /* At the limit: fine. One above: refused as soon as the prefix is complete. */
    struct result ok = decode_all(in, n, 0, 10);
    assert_int_equal(ok.rc, 0);
    assert_int_equal(ok.n, 1);
    for (size_t step = 1; step <= n; step++) {
        struct result r = decode_all(in, n, step, 9);
        assert_int_equal(r.rc, -EMSGSIZE);
        assert_int_equal(r.n, 0);
    }
}

static void test_limit_checked_before_buffering(void **state)
{
    (void)state;
    struct kd_grpc_frame_decoder dec;
    struct kd_grpc_frame_message m;
    size_t used = 0;
    /* 4 GiB - 1 declared, nothing of the body sent: no attempt to allocate it. */
    const uint8_t in[] = {0, 0xff, 0xff, 0xff, 0xff};
    kd_grpc_frame_decoder_init(&dec, 4 << 20);
    assert_int_equal(kd_grpc_frame_decode(&dec, in, sizeof(in), &used, &m), -EMSGSIZE);
    assert_int_equal(dec.msg_len, 0xffffffffu);
    assert_null(dec.buf);
    kd_grpc_frame_decoder_fini(&dec);
}

static void test_in_place_and_buffered(void **state)
{
    (void)state;
    struct kd_grpc_frame_decoder dec;
    struct kd_grpc_frame_message m;
    uint8_t in[64];
    size_t used;
    size_t n = put(in, 0, "whole", 5);
    kd_grpc_frame_decoder_init(&dec, 100);

    /* A message inside one chunk points into that chunk. */
    assert_int_equal(kd_grpc_frame_decode(&dec, in, n, &used, &m), 1);
    assert_int_equal(used, n);
    assert_ptr_equal(m.data, in + 5);

    /* A split one is reassembled in the decoder's buffer, which is kept for the next. */
    assert_int_equal(kd_grpc_frame_decode(&dec, in, 7, &used, &m), 0);
    assert_int_equal(used, 7);
    assert_int_equal(kd_grpc_frame_decode(&dec, in + 7, n - 7, &used, &m), 1);
    assert_int_equal(used, n - 7);
    assert_memory_equal(m.data, "whole", 5);
    const uint8_t *buf = dec.buf;
    assert_int_equal(kd_grpc_frame_decode(&dec, in, 8, &used, &m), 0);
    assert_int_equal(kd_grpc_frame_decode(&dec, in + 8, n - 8, &used, &m), 1);
    assert_ptr_equal(dec.buf, buf);
    kd_grpc_frame_decoder_fini(&dec);
}

static void test_encode_header(void **state)
{
    (void)state;
    static const struct {
        size_t len;
        uint8_t want[5];
    } cases[] = {
        {0, {0, 0, 0, 0, 0}}, /* an empty message is still 5 bytes */
        {2, {0, 0, 0, 0, 2}},
        {0x12345678, {0, 0x12, 0x34, 0x56, 0x78}},
        {0xffffffffu, {0, 0xff, 0xff, 0xff, 0xff}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t got[5];
        assert_int_equal(kd_grpc_frame_encode_header(cases[i].len, got), 0);
        assert_memory_equal(got, cases[i].want, 5);
    }
    uint8_t untouched[5] = {9, 9, 9, 9, 9};
    if (SIZE_MAX > UINT32_MAX) {
        assert_int_equal(kd_grpc_frame_encode_header((size_t)UINT32_MAX + 1, untouched), -EMSGSIZE);
        assert_int_equal(untouched[0], 9);
    }
}

static void test_roundtrip_with_encoder(void **state)
{
    (void)state;
    uint8_t in[300];
    uint8_t body[200];
    memset(body, 0xab, sizeof(body));
    assert_int_equal(kd_grpc_frame_encode_header(sizeof(body), in), 0);
    memcpy(in + 5, body, sizeof(body));
    struct result r = decode_all(in, 5 + sizeof(body), 3, 200);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.lens[0], 200);
    assert_int_equal(r.first_bytes[0], 0xab);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_chunk_size),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_truncated_is_not_idle),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_limit_checked_before_buffering),
        cmocka_unit_test(test_in_place_and_buffered),
        cmocka_unit_test(test_encode_header),
        cmocka_unit_test(test_roundtrip_with_encoder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
