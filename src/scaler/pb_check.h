/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Would protobuf_c_message_unpack() accept these bytes? Answered by walking the wire format
 * against the message descriptor, without allocating and without building the message: the
 * request path only needs the verdict (ref_scan.h then reads the strings byte-exact), and
 * unpacking cost a malloc-or-arena allocation per string, per map entry and per message.
 *
 * The verdict is protobuf-c 1.4's, rule for rule (protobuf-c.c, protobuf_c_message_unpack and
 * parse_required_member), including where it is lenient:
 *   - a field number is at most 5 bytes and 0 is refused only when the first byte says so
 *     (0x80 0x00 is an unknown field 0); wire types 3, 4, 6, 7 (groups) are refused, also
 *     for unknown fields, which are otherwise skipped;
 *   - a varint is at most 10 bytes (the 10th may carry any bits); a length prefix is at most
 *     5 bytes and at most INT_MAX;
 *   - each field type takes its own wire type, except bool, which takes any; a repeated
 *     scalar field also takes a length-delimited (packed) run, fixed-size ones a whole number
 *     of elements, varint ones terminated varints of at most 10 bytes; an enum takes any
 *     number (protobuf-c keeps unknown enum values);
 *   - strings are NOT checked for UTF-8: protobuf-c copies their bytes as they are (names
 *     are checked afterwards by kd_name_check);
 *   - a required field without a default must occur; at most 2^27 - 16 fields per message
 *     (protobuf-c's scan slabs);
 *   - a message field is checked recursively; repeated occurrences merge, which cannot fail
 *     for messages without a oneof.
 * Two differences, both outside what externalscaler.proto can reach: descriptors with a
 * oneof are refused with -ENOTSUP (protobuf-c 1.4 fails to merge a repeated sub-message whose
 * oneof is unset in both occurrences, which needs the merged state to predict), and nesting
 * deeper than KD_PB_CHECK_MAX_DEPTH is -E2BIG (protobuf-c recurses without a bound;
 * externalscaler's requests nest three deep). Pure.
 */
#ifndef KD_PB_CHECK_H
#define KD_PB_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define KD_PB_CHECK_MAX_DEPTH 32

/*
 * 0 when protobuf_c_message_unpack(desc, allocator, len, buf) would return a message (given
 * memory), -EINVAL when it would return NULL, -ENOTSUP / -E2BIG as above.
 */
int kd_pb_check(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len);

#endif /* KD_PB_CHECK_H */
