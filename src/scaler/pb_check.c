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

/* The next field at *at (before end) into *m; false when its tag or extent is refused. */
static bool next_member(const uint8_t **at, const uint8_t *end, struct member *m)
{
    const uint8_t *p = *at;
    size_t rem = (size_t)(end - p), used = read_tag(p, rem, &m->id, &m->wire);

    if (!used)
        return false;
    p += used;
    rem -= used;
    switch (m->wire) {
    case WIRE_VARINT:
        m->len = varint_len(p, rem);
        if (!m->len)
            return false;
        break;
    case WIRE_I64:
    case WIRE_I32:
        m->len = m->wire == WIRE_I64 ? 8 : 4;
        if (rem < m->len)
            return false;
        break;
    case WIRE_LEN: {
        /* a prefix of at most 5 bytes, its value at most INT_MAX and within the message */
        size_t max = rem < 5 ? rem : 5, i;
        uint64_t v = 0;
        for (i = 0; i < max; i++) {
            v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
            if (!(p[i] & 0x80))
                break;
        }
        if (i == max || v > INT_MAX || v > rem - (i + 1))
            return false;
        p += i + 1;
        m->len = (size_t)v;
        break;
    }
    default:
        return false; /* groups (3, 4) and 6, 7 */
    }
    m->data = p;
    *at = p + m->len;
    return true;
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
    if (is_varint_type(type))
        return m->wire == WIRE_VARINT ? 0 : -EINVAL;
    if (is_fixed32_type(type))
        return m->wire == WIRE_I32 ? 0 : -EINVAL;
    if (is_fixed64_type(type))
        return m->wire == WIRE_I64 ? 0 : -EINVAL;
    switch (type) {
    case PROTOBUF_C_TYPE_BOOL:
        return 0; /* protobuf-c reads a bool from any wire type */
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
        return m->wire == WIRE_LEN ? 0 : -EINVAL;
    case PROTOBUF_C_TYPE_MESSAGE:
        if (m->wire != WIRE_LEN)
            return -EINVAL;
        return check_message(field->descriptor, m->data, m->len, depth + 1);
    default:
        return -EINVAL;
    }
}

/* Does the (already checked) message carry field number id? */
static bool has_field(const uint8_t *p, const uint8_t *end, uint32_t id)
{
    struct member m;

    while (p < end && next_member(&p, end, &m)) {
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
        if (!next_member(&p, end, &m) || ++count > MAX_FIELDS_PER_MESSAGE)
            return -EINVAL;
        /* consecutive occurrences of one field are the common case */
        const ProtobufCFieldDescriptor *field =
            last && last->id == m.id ? last : find_field(desc, m.id);
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
