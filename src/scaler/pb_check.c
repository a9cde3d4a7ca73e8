/* SPDX-License-Identifier: Apache-2.0 */
/* protobuf-c's accept/reject verdict without unpacking (see pb_check.h). */
#include "scaler/pb_check.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>

enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };

/* protobuf-c keeps each field it scans in slabs of 16, 32, ... 2^26 entries (22 of them). */
#define MAX_FIELDS_PER_MESSAGE ((1UL << 27) - 16)

/* One field as scanned: its number and wire type, and the bytes of its value (after the
 * length prefix for length-delimited ones). */
struct member {
    uint32_t id;
    unsigned wire;
    const uint8_t *data;
    size_t len;
};

/* The tag at p (rem > 0): bytes used, 0 when refused. At most 5 bytes; only a first byte
 * without field-number bits is refused as field 0, as protobuf-c does. */
static size_t read_tag(const uint8_t *p, size_t rem, uint32_t *ret_id, unsigned *ret_wire)
{
    uint32_t id = (uint32_t)(p[0] & 0x7f) >> 3;
    size_t max = rem < 5 ? rem : 5;

    if ((p[0] & 0xf8) == 0)
        return 0;
    *ret_wire = p[0] & 7;
    if (!(p[0] & 0x80)) {
        *ret_id = id;
        return 1;
    }
    for (size_t i = 1; i < max; i++) {
        id |= (uint32_t)(p[i] & 0x7f) << (4 + 7 * (i - 1));
        if (!(p[i] & 0x80)) {
            *ret_id = id;
            return i + 1;
        }
    }
    return 0;
}

/* Bytes of the varint at p: it ends within min(rem, 10) bytes, else 0. */
static size_t varint_len(const uint8_t *p, size_t rem)
{
    size_t max = rem < 10 ? rem : 10;

    for (size_t i = 0; i < max; i++) {
        if (!(p[i] & 0x80))
            return i + 1;
    }
    return 0;
}

/* The length prefix at p: bytes used, 0 when refused. At most 5 bytes, a value at most INT_MAX
 * that fits in the rem - prefix bytes after it. */
static size_t read_length(const uint8_t *p, size_t rem, size_t *ret_len)
{
    size_t max = rem < 5 ? rem : 5, i;
    uint64_t v = 0;

    for (i = 0; i < max; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80))
            break;
    }
    if (i == max || v > INT_MAX || v > rem - (i + 1))
        return 0;
    *ret_len = (size_t)v;
    return i + 1;
}

/* The field at p (before end) into *m: where the next one starts, NULL when its tag or extent
 * is refused. */
static const uint8_t *next_member_general(const uint8_t *p, const uint8_t *end, struct member *m)
{
    size_t rem = (size_t)(end - p), used = read_tag(p, rem, &m->id, &m->wire);

    if (!used)
        return NULL;
    p += used;
    rem -= used;
    switch (m->wire) {
    case WIRE_VARINT:
        m->len = varint_len(p, rem);
        if (!m->len)
            return NULL;
        break;
    case WIRE_I64:
    case WIRE_I32:
        m->len = m->wire == WIRE_I64 ? 8 : 4;
        if (rem < m->len)
            return NULL;
        break;
    case WIRE_LEN:
        used = read_length(p, rem, &m->len);
        if (!used)
            return NULL;
        p += used;
        break;
    default:
        return NULL; /* groups (3, 4) and 6, 7 */
    }
    m->data = p;
    return p + m->len;
}

/* next_member_general, with the shape of every field of a KEDA request read inline: a one-byte
 * tag (field 1-15, length-delimited) and a one-byte length. Inline, not called: 777 -> 585
 * instructions to check the benchmark's GetMetricsRequest (callgrind). */
static inline const uint8_t *next_member(const uint8_t *p, const uint8_t *end, struct member *m)
{
    size_t rem = (size_t)(end - p);

    if (rem >= 2 && (p[0] & 0x87) == WIRE_LEN && p[0] >= 8 && p[1] < 0x80) {
        if (p[1] > rem - 2)
            return NULL;
        m->id = p[0] >> 3;
        m->wire = WIRE_LEN;
        m->data = p + 2;
        m->len = p[1];
        return m->data + m->len;
    }
    /* through a copy, so that the caller's *m can live in registers on the path above */
    struct member general;
    p = next_member_general(p, end, &general);
    if (p)
        *m = general;
    return p;
}

/* The descriptor's field numbered id, as protobuf-c finds it (field_ranges), or NULL. */
static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *desc,
                                                  uint32_t id)
{
    const ProtobufCIntRange *r = desc->field_ranges;
    unsigned lo = 0, hi = desc->n_field_ranges;

    if (id > INT_MAX)
        return NULL; /* protobuf-c looks numbers up as int: these are below every range */
    /* ranges are sorted; range k holds numbers start_value .. + (next orig_index - its) */
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        int start = r[mid].start_value;
        unsigned count = r[mid + 1].orig_index - r[mid].orig_index;
        if ((int)id < start)
            hi = mid;
        else if ((int64_t)id >= (int64_t)start + count)
            lo = mid + 1;
        else
            return desc->fields + r[mid].orig_index + ((unsigned)id - (unsigned)start);
    }
    return NULL;
}

/* find_field, tried first where the field most likely is: the last one seen again (a repeated
 * field) or the one after it (senders write fields in number order). Field numbers are unique
 * and at most 2^29 - 1, so a field whose number matches is the one find_field would return. */
static const ProtobufCFieldDescriptor *known_field(const ProtobufCMessageDescriptor *desc,
                                                   const ProtobufCFieldDescriptor *last,
                                                   uint32_t id)
{
    if (last && last->id == id)
        return last;
    if (last && last + 1 < desc->fields + desc->n_fields && last[1].id == id)
        return last + 1;
    return find_field(desc, id);
}

static bool is_varint_type(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_ENUM:
        return true;
    default:
        return false;
    }
}

static bool is_fixed32_type(ProtobufCType type)
{
    return type == PROTOBUF_C_TYPE_SFIXED32 || type == PROTOBUF_C_TYPE_FIXED32 ||
           type == PROTOBUF_C_TYPE_FLOAT;
}

static bool is_fixed64_type(ProtobufCType type)
{
    return type == PROTOBUF_C_TYPE_SFIXED64 || type == PROTOBUF_C_TYPE_FIXED64 ||
           type == PROTOBUF_C_TYPE_DOUBLE;
}

/* A packed run of a repeated scalar field. */
static bool packed_ok(ProtobufCType type, const uint8_t *p, size_t len)
{
    if (is_fixed32_type(type))
        return len % 4 == 0;
    if (is_fixed64_type(type))
        return len % 8 == 0;
    if (!is_varint_type(type) && type != PROTOBUF_C_TYPE_BOOL)
        return false; /* strings, bytes, messages: only if flagged packed, and then refused */
    while (len > 0) {
        size_t n = varint_len(p, len);
        if (!n)
            return false;
        p += n;
        len -= n;
    }
    return true;
}

static int check_message(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                         unsigned depth);

/* Bit w is set when a field of the type takes wire type w (outside a packed run): one load
 * instead of a switch per field. A bool takes any, as protobuf-c reads one from any wire type;
 * a type past MESSAGE takes none. */
static const uint8_t wire_types_of[PROTOBUF_C_TYPE_MESSAGE + 1] = {
    [PROTOBUF_C_TYPE_INT32] = 1 << WIRE_VARINT,
    [PROTOBUF_C_TYPE_SINT32] = 1 << WIRE_VARINT,
    [PROTOBUF_C_TYPE_SFIXED32] = 1 << WIRE_I32,
    [PROTOBUF_C_TYPE_INT64] = 1 << WIRE_VARINT,
    [PROTOBUF_C_TYPE_SINT64] = 1 << WIRE_VARINT,
    [PROTOBUF_C_TYPE_SFIXED64] = 1 << WIRE_I64,
    [PROTOBUF_C_TYPE_UINT32] = 1 << WIRE_VARINT,
    [PROTOBUF_C_TYPE_FIXED32] = 1 << WIRE_I32,
    [PROTOBUF_C_TYPE_UINT64] = 1 << WIRE_VARINT,
    [PROTOBUF_C_TYPE_FIXED64] = 1 << WIRE_I64,
    [PROTOBUF_C_TYPE_FLOAT] = 1 << WIRE_I32,
    [PROTOBUF_C_TYPE_DOUBLE] = 1 << WIRE_I64,
    [PROTOBUF_C_TYPE_BOOL] = 0xff,
    [PROTOBUF_C_TYPE_ENUM] = 1 << WIRE_VARINT,
    [PROTOBUF_C_TYPE_STRING] = 1 << WIRE_LEN,
    [PROTOBUF_C_TYPE_BYTES] = 1 << WIRE_LEN,
    [PROTOBUF_C_TYPE_MESSAGE] = 1 << WIRE_LEN,
};

/* One occurrence of a known field. */
static int check_member(const ProtobufCFieldDescriptor *field, const struct member *m,
                        unsigned depth)
{
    ProtobufCType type = field->type;

    if (field->label == PROTOBUF_C_LABEL_REPEATED && m->wire == WIRE_LEN &&
        ((field->flags & PROTOBUF_C_FIELD_FLAG_PACKED) ||
         (type != PROTOBUF_C_TYPE_STRING && type != PROTOBUF_C_TYPE_BYTES &&
          type != PROTOBUF_C_TYPE_MESSAGE)))
        return packed_ok(type, m->data, m->len) ? 0 : -EINVAL;
    if ((unsigned)type > PROTOBUF_C_TYPE_MESSAGE || !(wire_types_of[type] & (1u << m->wire)))
        return -EINVAL;
    if (type == PROTOBUF_C_TYPE_MESSAGE)
        return check_message(field->descriptor, m->data, m->len, depth + 1);
    return 0;
}

/* Does the (already checked) message carry field number id? */
static bool has_field(const uint8_t *p, const uint8_t *end, uint32_t id)
{
    struct member m;

    while (p < end && (p = next_member(p, end, &m))) {
        if (m.id == id)
            return true;
    }
    return false;
}

static int check_message(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                         unsigned depth)
{
    const uint8_t *p = buf, *end = buf + len;
    const ProtobufCFieldDescriptor *last = desc->n_fields ? desc->fields : NULL;
    bool need_required = false;
    size_t count = 0;
    struct member m;
    int r;

    if (depth > KD_PB_CHECK_MAX_DEPTH)
        return -E2BIG;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        if (desc->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            return -ENOTSUP;
        if (desc->fields[i].label == PROTOBUF_C_LABEL_REQUIRED && !desc->fields[i].default_value)
            need_required = true;
    }
    while (p < end) {
        if (!(p = next_member(p, end, &m)) || ++count > MAX_FIELDS_PER_MESSAGE)
            return -EINVAL;
        const ProtobufCFieldDescriptor *field = known_field(desc, last, m.id);
        if (!field)
            continue; /* unknown: kept by protobuf-c, whatever its (valid) wire type */
        last = field;
        if ((r = check_member(field, &m, depth)) < 0)
            return r;
    }
    for (unsigned i = 0; need_required && i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (f->label == PROTOBUF_C_LABEL_REQUIRED && !f->default_value &&
            !has_field(buf, end, f->id))
            return -EINVAL;
    }
    return 0;
}

int kd_pb_check(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len)
{
    if (desc->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC || (len && !buf))
        return -EINVAL;
    return check_message(desc, buf, len, 0);
}
