/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scaler/pb_check: each wire rule of protobuf-c 1.4's unpacker, accepted or refused, and for
 * every case also protobuf_c_message_unpack's own verdict on the same bytes (the fuzzer does
 * the same on random input). Messages are written as hex by hand.
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

#include "externalscaler.pb-c.h"
#include "pb_check_test.pb-c.h"
#include "scaler/pb_check.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;

    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        unsigned v;
        assert_int_equal(sscanf(p, "%2x", &v), 1);
        assert_true(n < cap);
        out[n++] = (uint8_t)v;
        p += 2;
    }
    return n;
}

/* kd_pb_check says `want`; protobuf-c agrees when want is a verdict (0 or -EINVAL). */
static void expect_bytes(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t n,
                         int want)
{
    int got = kd_pb_check(desc, buf, n);
    if (got != want)
        fail_msg("%s: kd_pb_check %d, wanted %d", desc->name, got, want);
    if (want == 0 || want == -EINVAL) {
        ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, n, buf);
        if (!m != (want != 0))
            fail_msg("%s: protobuf-c %s what the test expects %s", desc->name,
                     m ? "accepts" : "refuses", want ? "refused" : "accepted");
        protobuf_c_message_free_unpacked(m, NULL);
    }
}

static void expect(const ProtobufCMessageDescriptor *desc, const char *hex, int want)
{
    uint8_t buf[512];
    size_t n = unhex(hex, buf, sizeof(buf));

    expect_bytes(desc, n ? buf : NULL, n, want);
}

#define ALL (&kdtest__all_types__descriptor)
#define OK 0
#define BAD (-EINVAL)

static void test_tags(void **state)
{
    (void)state;
    expect(ALL, "", OK);
    expect(ALL, "08 01", OK);
    expect(ALL, "00 01", BAD);                /* field 0 in the first byte */
    expect(ALL, "07", BAD);                   /* likewise, whatever the wire type */
    expect(ALL, "80 00 01", OK);              /* field 0 spelled in two bytes: an unknown field */
    expect(ALL, "f8 ff ff ff 0f 05", OK);     /* field 536870911 ("far"), 5-byte tag */
    expect(ALL, "f8 ff ff ff 7f 05", OK);     /* a 5-byte tag past 2^29: unknown */
    expect(ALL, "f8 ff ff ff ff 05 05", BAD); /* a tag's 5th byte continues */
    expect(ALL, "88 80 80 80 80 00 05", BAD); /* 6-byte tag */
    expect(ALL, "88 80", BAD);                /* truncated tag */
    expect(ALL, "a0 06 07", OK);              /* field 100 ("gap") */
    expect(ALL, "a8 06 07", OK);              /* 101: unknown, between ranges */
}

static void test_wire_types(void **state)
{
    (void)state;
    /* unknown field 50 with each wire type */
    expect(ALL, "90 03 05", OK);
    expect(ALL, "91 03 0102030405060708", OK);
    expect(ALL, "91 03 01020304050607", BAD);
    expect(ALL, "92 03 02 6162", OK);
    expect(ALL, "92 03 03 6162", BAD);
    expect(ALL, "93 03", BAD); /* start group */
    expect(ALL, "94 03", BAD); /* end group */
    expect(ALL, "95 03 01020304", OK);
    expect(ALL, "95 03 010203", BAD);
    expect(ALL, "96 03 00", BAD);
    expect(ALL, "97 03 00", BAD);
}

static void test_varints_and_lengths(void **state)
{
    (void)state;
    expect(ALL, "08 ffffffffffffffffff7f", OK);    /* 10 bytes, the last with any bits */
    expect(ALL, "08 ffffffffffffffffff8001", BAD); /* 11 bytes */
    expect(ALL, "08 ff", BAD);                     /* unterminated */
    expect(ALL, "08", BAD);                        /* no value */
    expect(ALL, "72 00", OK);                      /* empty string */
    expect(ALL, "72 8000", OK);                    /* a 2-byte prefix for 0 */
    expect(ALL, "72 8080808000", OK);              /* 5-byte prefix */
    expect(ALL, "72 808080808000", BAD);           /* 6-byte prefix */
    expect(ALL, "72 8080808008", BAD);             /* 2^31: above INT_MAX */
    expect(ALL, "72 ffffffff07", BAD);             /* INT_MAX, past the end */
    expect(ALL, "72 05 6162", BAD);
    expect(ALL, "72 80", BAD);
}

static void test_field_types(void **state)
{
    (void)state;
    expect(ALL, "09 0102030405060708", BAD); /* int32 as 64-bit */
    expect(ALL, "0d 01020304", BAD);
    expect(ALL, "0a 01 00", BAD);
    expect(ALL, "3d 01020304", OK);         /* fixed32 */
    expect(ALL, "38 01", BAD);              /* fixed32 as varint */
    expect(ALL, "41 0102030405060708", OK); /* fixed64 */
    expect(ALL, "45 01020304", BAD);        /* fixed64 as 32-bit */
    expect(ALL, "5d 0000803f", OK);         /* float */
    expect(ALL, "61 000000000000f03f", OK); /* double */
    expect(ALL, "68 01", OK);               /* bool: any wire type */
    expect(ALL, "69 0102030405060708", OK);
    expect(ALL, "6a 02 0101", OK);
    expect(ALL, "6d 01020304", OK);
    expect(ALL, "70 01", BAD);         /* string as varint */
    expect(ALL, "72 02 ff fe", OK);    /* not UTF-8: protobuf-c does not check */
    expect(ALL, "72 03 61 00 62", OK); /* an embedded NUL */
    expect(ALL, "7a 02 ff 00", OK);    /* bytes */
    expect(ALL, "79 0102030405060708", BAD);
    expect(ALL, "80 01 63", OK); /* an enum value not in Color */
    expect(ALL, "80 01 ffffffffffffffffff01", OK);
    expect(ALL, "82 01 01 01", BAD); /* a singular enum given length-delimited */
}

static void test_repeated_and_packed(void **state)
{
    (void)state;
    expect(ALL, "90 01 01 90 01 02", OK); /* r_i32 unpacked */
    expect(ALL, "92 01 03 01 8001", OK);  /* r_i32 packed although not declared so */
    expect(ALL, "92 01 02 01 80", BAD);   /* unterminated in the run */
    expect(ALL, "92 01 00", OK);          /* empty run */
    expect(ALL, "92 01 0b ffffffffffffffffff7f 01", OK);
    expect(ALL, "92 01 0b ffffffffffffffffffff 01", BAD); /* an 11-byte varint in the run */
    expect(ALL, "9a 01 02 0102", OK);                     /* p_i32 */
    expect(ALL, "98 01 05", OK);                          /* p_i32 unpacked */
    expect(ALL, "99 01 0102030405060708", BAD);           /* p_i32 as 64-bit */
    expect(ALL, "a2 01 08 0102030405060708", OK);         /* r_f32 packed, two */
    expect(ALL, "a2 01 03 010203", BAD);                  /* not a multiple of 4 */
    expect(ALL, "a5 01 01020304", OK);                    /* r_f32 unpacked */
    expect(ALL, "aa 01 08 0102030405060708", OK);         /* p_db */
    expect(ALL, "aa 01 04 01020304", BAD);
    expect(ALL, "b2 01 03 01 00 ff", BAD); /* r_b packed: unterminated */
    expect(ALL, "b2 01 03 01 00 7f", OK);
    expect(ALL, "b1 01 0102030405060708", OK); /* r_b as 64-bit: a bool takes any */
    expect(ALL, "ba 01 01 ff", OK);            /* r_s */
    expect(ALL, "b8 01 01", BAD);              /* r_s as varint */
    expect(ALL, "ca 01 02 0102", OK);          /* p_c */
    expect(ALL, "d2 01 02 0303", OK);          /* r_s64 packed */
}

static void test_messages(void **state)
{
    uint8_t deep[3 * (KD_PB_CHECK_MAX_DEPTH + 1)];
    size_t n;

    (void)state;
    expect(ALL, "8a 01 02 08 01", OK);          /* child */
    expect(ALL, "8a 01 02 08 ff", BAD);         /* child malformed inside its bounds */
    expect(ALL, "8a 01 00 8a 01 02 08 01", OK); /* merged */
    expect(ALL, "88 01 01", BAD);               /* a message as varint */
    expect(ALL, "c2 01 02 08 01 c2 01 00", OK); /* r_child */
    expect(ALL, "c2 01 01 07", BAD);
    expect(ALL, "da 01 05 0a 01 61 10 01", OK); /* map entry */
    expect(ALL, "da 01 04 08 01 10 01", BAD);   /* a map key as varint */
    expect(ALL, "da 01 00", OK);

    /* child { child { ... } }: KD_PB_CHECK_MAX_DEPTH levels below the top are checked */
    for (int levels = KD_PB_CHECK_MAX_DEPTH; levels <= KD_PB_CHECK_MAX_DEPTH + 1; levels++) {
        n = 0;
        for (int i = 0; i < levels; i++) {
            deep[n++] = 0x8a;
            deep[n++] = 0x01;
            deep[n++] = 0; /* length, filled below */
        }
        /* each level's length covers all the levels inside it */
        for (int i = levels - 1; i >= 0; i--)
            deep[3 * i + 2] = (uint8_t)(3 * (levels - 1 - i));
        expect_bytes(ALL, deep, n, levels <= KD_PB_CHECK_MAX_DEPTH ? OK : -E2BIG);
    }
}

static void test_required_and_oneof(void **state)
{
    const ProtobufCMessageDescriptor *req = &kdtest__with_required__descriptor;

    (void)state;
    expect(req, "08 01", OK);
    expect(req, "", BAD); /* id missing; tag has a default */
    expect(req, "12 01 61", BAD);
    expect(req, "12 01 61 08 01", OK);       /* order does not matter */
    expect(req, "09 0102030405060708", BAD); /* present with a wrong wire type */
    expect(req, "08 01 22 00", BAD);         /* next lacks its id */
    expect(req, "08 01 22 02 08 02", OK);
    expect(req, "08 01 22 00 22 02 08 02", BAD); /* each occurrence is unpacked alone */
    expect(&kdtest__with_oneof__descriptor, "08 01", -ENOTSUP);
}

/* Fields out of number order, repeated, and next to each other (each found where the checker
 * looks first, or by search), and one-byte lengths at the end of the message. */
static void test_field_order_and_short_lengths(void **state)
{
    uint8_t buf[2 + 127];

    (void)state;
    expect(ALL, "72 00 7a 00", OK);          /* s, then the next field: by */
    expect(ALL, "72 00 78 01", BAD);         /* by as varint, right after s */
    expect(ALL, "7a 00 72 00 72 01 61", OK); /* by, s, s */
    expect(ALL, "72 00 70 01", BAD);         /* s again, as varint */
    expect(ALL, "da 01 00 e2 01 00", OK);    /* m, then 28: unknown, not gap (100) */
    expect(ALL, "da 01 00 a0 06 07", OK);    /* m, then gap */
    expect(ALL, "da 01 00 a2 06 00", BAD);   /* gap length-delimited */
    expect(ALL, "0a 00", BAD);               /* i32 length-delimited, first field */
    expect(ALL, "72 02 6162", OK);           /* a length that ends the message */
    expect(ALL, "72 02 61", BAD);            /* one past it */
    expect(ALL, "72 01", BAD);
    expect(ALL, "02 00", BAD);                    /* field 0, length-delimited */
    expect(ALL, "8a 01 04 72 02 6162 72 00", OK); /* child { s }, then s */
    expect(ALL, "8a 01 04 72 03 6162", BAD);      /* child's s past the child */
    buf[0] = 0x72;
    buf[1] = 0x7f; /* the longest one-byte length */
    memset(buf + 2, 'a', 127);
    expect_bytes(ALL, buf, sizeof(buf), OK);
    expect_bytes(ALL, buf, sizeof(buf) - 1, BAD);
}

static void test_external_scaler_messages(void **state)
{
    const ProtobufCMessageDescriptor *ref = &externalscaler__scaled_object_ref__descriptor;
    const ProtobufCMessageDescriptor *gm = &externalscaler__get_metrics_request__descriptor;

    (void)state;
    expect(ref, "0a 03 616263 12 07 64656661756c74", OK);
    expect(ref, "1a 0c 0a 08 776f726b6c6f6164 12 00", OK);
    expect(ref, "1a 03 08 01 00", BAD); /* a metadata key as varint */
    expect(ref, "0a 03 6162", BAD);
    expect(ref, "08 01", BAD); /* name as varint */
    expect(gm, "0a 05 0a 03 616263 12 01 6d", OK);
    expect(gm, "0a 02 08 01", BAD);
    expect(gm, "0a 00 0a 00", OK);
    expect(gm, "10 01", BAD);
    expect(gm, "12 01 6d 0a 05 12 00 0a 01 61", OK); /* metricName first; namespace, name */
    expect(gm, "12 01 6d 0a 03 12 01 6d", OK);
    expect(gm, "0a 04 1a 02 10 01", BAD); /* a metadata value as varint */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_wire_types),
        cmocka_unit_test(test_varints_and_lengths),
        cmocka_unit_test(test_field_types),
        cmocka_unit_test(test_repeated_and_packed),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_required_and_oneof),
        cmocka_unit_test(test_field_order_and_short_lengths),
        cmocka_unit_test(test_external_scaler_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
