/* SPDX-License-Identifier: Apache-2.0 */
/* Byte-exact strings of ScaledObjectRef / GetMetricsRequest (see ref_scan.h). */
#include "scaler/ref_scan.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };

struct cursor {
    const uint8_t *p, *end;
};

static int read_varint(struct cursor *c, uint64_t *ret)
{
    uint64_t v = 0;

    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (c->p == c->end)
            return -EINVAL;
        uint8_t b = *c->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *ret = v;
            return 0;
        }
    }
    return -EINVAL;
}

/* The next field: its number, and for length-delimited ones its bytes; others are skipped. */
static int next_field_general(struct cursor *c, uint32_t *ret_field, struct kd_slice *ret_bytes)
{
    uint64_t tag, v;

    if (read_varint(c, &tag) < 0)
        return -EINVAL;
    *ret_field = (uint32_t)(tag >> 3);
    ret_bytes->p = NULL;
    ret_bytes->len = 0;
    switch (tag & 7) {
    case WIRE_VARINT:
        return read_varint(c, &v);
    case WIRE_I64:
        if ((size_t)(c->end - c->p) < 8)
            return -EINVAL;
        c->p += 8;
        return 0;
    case WIRE_I32:
        if ((size_t)(c->end - c->p) < 4)
            return -EINVAL;
        c->p += 4;
        return 0;
    case WIRE_LEN:
        if (read_varint(c, &v) < 0 || v > (uint64_t)(c->end - c->p))
            return -EINVAL;
        ret_bytes->p = c->p;
        ret_bytes->len = (size_t)v;
        c->p += v;
        return 0;
    default:
        return -EINVAL;
    }
}

/* next_field_general, with the shape of every field of a KEDA request read inline: a one-byte
 * tag of a length-delimited field and a one-byte length (as in pb_check.c). */
static inline int next_field(struct cursor *c, uint32_t *ret_field, struct kd_slice *ret_bytes)
{
    const uint8_t *p = c->p;
    size_t rem = (size_t)(c->end - p);

    if (rem >= 2 && (p[0] & 0x87) == WIRE_LEN && p[1] < 0x80) {
        if (p[1] > rem - 2)
            return -EINVAL;
        *ret_field = p[0] >> 3;
        *ret_bytes = (struct kd_slice){p + 2, p[1]};
        c->p = p + 2 + p[1];
        return 0;
    }
    /* through copies, so that the caller's cursor and results can live in registers */
    struct cursor general = *c;
    struct kd_slice bytes;
    uint32_t field;
    if (next_field_general(&general, &field, &bytes) < 0)
        return -EINVAL;
    *c = general;
    *ret_field = field;
    *ret_bytes = bytes;
    return 0;
}

static bool slice_is(struct kd_slice s, const char *text)
{
    size_t n = strlen(text);
    return s.p && s.len == n && memcmp(s.p, text, n) == 0;
}

/* One scalerMetadata map entry {1: key, 2: value}; later duplicates overwrite. */
static int scan_entry(struct kd_slice entry, struct kd_ref_scan *scan)
{
    struct cursor c = {entry.p, entry.p + entry.len};
    struct kd_slice key = {NULL, 0}, value = {NULL, 0}, bytes;
    uint32_t field;

    while (c.p < c.end) {
        if (next_field(&c, &field, &bytes) < 0)
            return -EINVAL;
        if (field == 1 && bytes.p)
            key = bytes;
        else if (field == 2 && bytes.p)
            value = bytes;
    }
    /* absent and empty are the same, as in upstream's `ref.ScalerMetadata[k] != ""` */
    struct kd_slice use = value.len ? value : (struct kd_slice){NULL, 0};
    if (slice_is(key, "workload"))
        scan->workload = use;
    else if (slice_is(key, "metricName"))
        scan->metric_name = use;
    else {
        for (int k = 0; k < KD_OVERRIDE_COUNT; k++) {
            if (slice_is(key, kd_override_names[k]))
                scan->overrides[k] = use;
        }
    }
    return 0;
}

/* One ScaledObjectRef's fields into `scan`, over what earlier occurrences left there. */
static int scan_ref_into(const uint8_t *buf, size_t len, struct kd_ref_scan *scan)
{
    struct cursor c = {buf, buf + len};
    struct kd_slice bytes;
    uint32_t field;

    while (c.p < c.end) {
        if (next_field(&c, &field, &bytes) < 0)
            return -EINVAL;
        if (field == 1 && bytes.p)
            scan->name = bytes;
        else if (field == 3 && bytes.p && scan_entry(bytes, scan) < 0)
            return -EINVAL;
    }
    return 0;
}

int kd_ref_scan(const uint8_t *buf, size_t len, struct kd_ref_scan *ret_scan)
{
    struct kd_ref_scan scan;

    memset(&scan, 0, sizeof(scan));
    if (scan_ref_into(buf, len, &scan) < 0)
        return -EINVAL;
    *ret_scan = scan;
    return 0;
}

int kd_ref_scan_get_metrics(const uint8_t *buf, size_t len, struct kd_ref_scan *ret_scan,
                            struct kd_slice *ret_metric_name, bool *ret_has_ref)
{
    struct cursor c = {buf, buf + len};
    struct kd_slice bytes, metric = {NULL, 0};
    struct kd_ref_scan scan;
    uint32_t field;
    bool has_ref = false;

    memset(&scan, 0, sizeof(scan));
    while (c.p < c.end) {
        if (next_field(&c, &field, &bytes) < 0)
            return -EINVAL;
        if (field == 1 && bytes.p) {
            /* repeated occurrences of a message field merge, as protobuf-c unpacks them */
            if (scan_ref_into(bytes.p, bytes.len, &scan) < 0)
                return -EINVAL;
            has_ref = true;
        } else if (field == 2 && bytes.p) {
            metric = bytes;
        }
    }
    *ret_scan = scan;
    *ret_metric_name = metric;
    *ret_has_ref = has_ref;
    return 0;
}

/* Eight bytes at p as one word, whatever their alignment. */
static uint64_t load_word(const uint8_t *p)
{
    uint64_t w;

    memcpy(&w, p, sizeof(w));
    return w;
}

#define EVERY_BYTE(b) (0x0101010101010101ULL * (b))

/* Bytes from p below 0x80, counted eight at a time, then one at a time: names are ASCII, and
 * one word test replaces eight trips through the UTF-8 decoder. */
static size_t ascii_prefix(const uint8_t *p, size_t len)
{
    size_t i = 0;

    while (len - i >= 8 && !(load_word(p + i) & EVERY_BYTE(0x80)))
        i += 8;
    while (i < len && p[i] < 0x80)
        i++;
    return i;
}

/* As ascii_prefix, stopping also at a NUL byte: a byte b is 0 or >= 0x80 exactly when
 * (b - 1) | b has its top bit set, and in a word the borrow of b - 1 reaches a higher byte
 * only past a NUL, which already stops the word. */
static size_t ascii_no_nul_prefix(const uint8_t *p, size_t len)
{
    size_t i = 0;

    while (len - i >= 8) {
        uint64_t w = load_word(p + i);
        if (((w - EVERY_BYTE(0x01)) | w) & EVERY_BYTE(0x80))
            break;
        i += 8;
    }
    while (i < len && (uint8_t)(p[i] - 1) < 0x7f)
        i++;
    return i;
}

size_t kd_utf8_valid_prefix(const uint8_t *p, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint8_t b = p[i];
        size_t need;
        uint32_t cp, min;

        if (b < 0x80) {
            i += ascii_prefix(p + i, len - i);
            continue;
        } else if ((b & 0xe0) == 0xc0) {
            need = 1, cp = b & 0x1f, min = 0x80;
        } else if ((b & 0xf0) == 0xe0) {
            need = 2, cp = b & 0x0f, min = 0x800;
        } else if ((b & 0xf8) == 0xf0) {
            need = 3, cp = b & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (len - i <= need)
            return i;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += need + 1;
    }
    return len;
}

const char *kd_name_check(struct kd_slice name, size_t max_len, char *why, size_t why_len)
{
    /* the common name is plain ASCII: one pass, then neither memchr nor the UTF-8 decoder */
    bool plain = !name.p || ascii_no_nul_prefix(name.p, name.len) == name.len;
    const uint8_t *nul = plain ? NULL : memchr(name.p, 0, name.len);

    if (nul) {
        snprintf(why, why_len, "contains a NUL byte at offset %zu", (size_t)(nul - name.p));
        return why;
    }
    size_t ok = plain ? name.len : kd_utf8_valid_prefix(name.p, name.len);
    if (ok < name.len) {
        snprintf(why, why_len, "is not valid UTF-8 (byte 0x%02x at offset %zu)", name.p[ok], ok);
        return why;
    }
    if (max_len && name.len > max_len) {
        snprintf(why, why_len, "is %zu bytes long; at most %zu are allowed", name.len, max_len);
        return why;
    }
    return NULL;
}
