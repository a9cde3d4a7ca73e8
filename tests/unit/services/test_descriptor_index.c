/* SPDX-License-Identifier: Apache-2.0 */
/* descriptor_index: symbols of the embedded set, imports and their closure, and every way a
 * hostile descriptor set is rejected. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pb_builder.h"
#include "services/descriptor_index.h"

extern const unsigned char kd_descriptor_set[];
extern const size_t kd_descriptor_set_len;

static struct kd_descriptor_index *embedded(void)
{
    struct kd_descriptor_index *index = NULL;
    assert_int_equal(kd_descriptor_index_create(kd_descriptor_set, kd_descriptor_set_len, &index),
                     0);
    assert_non_null(index);
    return index;
}

static const char *file_of(const struct kd_descriptor_index *index, const char *symbol)
{
    size_t file;
    if (kd_descriptor_index_find_symbol(index, symbol, &file) != 0)
        return NULL;
    return kd_descriptor_index_file(index, file)->name;
}

static void test_embedded_files(void **state)
{
    (void)state;
    struct kd_descriptor_index *index = embedded();
    static const char *const names[] = {
        "externalscaler.proto",
        "grpc/health/v1/health.proto",
        "grpc/reflection/v1/reflection.proto",
        "grpc/reflection/v1alpha/reflection.proto",
    };

    assert_int_equal(kd_descriptor_index_count(index), 4);
    for (size_t i = 0; i < 4; i++) {
        size_t file = 99;
        assert_int_equal(kd_descriptor_index_find_file(index, names[i], &file), 0);
        assert_int_equal(file, i); /* set order */
        const struct kd_descriptor_file *f = kd_descriptor_index_file(index, file);
        assert_string_equal(f->name, names[i]);
        assert_int_equal(f->n_deps, 0);
        /* The bytes are borrowed from the set, not copies. */
        assert_true(f->bytes > kd_descriptor_set &&
                    f->bytes + f->len <= kd_descriptor_set + kd_descriptor_set_len);
    }
    size_t untouched = 42;
    assert_int_equal(kd_descriptor_index_find_file(index, "health.proto", &untouched), -ENOENT);
    assert_int_equal(kd_descriptor_index_find_file(index, "", &untouched), -ENOENT);
    assert_int_equal(untouched, 42);
    kd_descriptor_index_destroy(index);
}

static void test_embedded_symbols(void **state)
{
    (void)state;
    struct kd_descriptor_index *index = embedded();
    static const struct {
        const char *symbol, *file;
    } cases[] = {
        {"externalscaler.ExternalScaler", "externalscaler.proto"},            /* service */
        {"externalscaler.ExternalScaler.GetMetrics", "externalscaler.proto"}, /* method */
        {"externalscaler.ExternalScaler.StreamMetricSpec", "externalscaler.proto"},
        {"externalscaler.ScaledObjectRef", "externalscaler.proto"}, /* message */
        {"externalscaler.ScaledObjectRef.ScalerMetadataEntry", "externalscaler.proto"}, /* map */
        {"externalscaler.MetricValue", "externalscaler.proto"},
        {"grpc.health.v1.Health", "grpc/health/v1/health.proto"},
        {"grpc.health.v1.Health.Watch", "grpc/health/v1/health.proto"},
        {"grpc.health.v1.HealthCheckResponse.ServingStatus", /* nested enum */
         "grpc/health/v1/health.proto"},
        {"grpc.health.v1.HealthListResponse.StatusesEntry", "grpc/health/v1/health.proto"},
        {"grpc.reflection.v1.ServerReflection", "grpc/reflection/v1/reflection.proto"},
        {"grpc.reflection.v1.ServerReflection.ServerReflectionInfo",
         "grpc/reflection/v1/reflection.proto"},
        {"grpc.reflection.v1alpha.ServerReflection", "grpc/reflection/v1alpha/reflection.proto"},
        {"grpc.reflection.v1alpha.ErrorResponse", "grpc/reflection/v1alpha/reflection.proto"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *file = file_of(index, cases[i].symbol);
        assert_non_null(file);
        assert_string_equal(file, cases[i].file);
    }

    static const char *const unknown[] = {
        "",
        "externalscaler",                     /* a package is not a symbol */
        "ExternalScaler",                     /* not qualified */
        "externalscaler.ExternalScaler.Nope", /* no such method */
        "externalscaler.ExternalScaler.IsActive.x",
        "externalscaler.ScaledObjectRef.name", /* fields are not indexed */
        "grpc.health.v1.HealthCheckResponse.SERVING",
        ".externalscaler.ExternalScaler", /* type_name syntax is not a symbol name */
        "grpc.health.v2.Health",
    };
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        size_t file = 42;
        assert_int_equal(kd_descriptor_index_find_symbol(index, unknown[i], &file), -ENOENT);
        assert_int_equal(file, 42);
    }
    kd_descriptor_index_destroy(index);
}

/* A FileDescriptorProto with `name`, `package` (may be NULL), imports and one message. */
static void file_proto(struct pb *out, const char *name, const char *package,
                       const char *const *deps, const char *message)
{
    struct pb m = {0};
    memset(out, 0, sizeof(*out));
    pb_str(out, 1, name);
    if (package)
        pb_str(out, 2, package);
    for (size_t i = 0; deps && deps[i]; i++)
        pb_str(out, 3, deps[i]);
    if (message) {
        pb_str(&m, 1, message);
        pb_msg(out, 4, &m);
    }
}

static int create_from(const struct pb *set, struct kd_descriptor_index **ret_index)
{
    return kd_descriptor_index_create(set->data, set->len, ret_index);
}

static void test_closure(void **state)
{
    (void)state;
    static struct pb set, f;
    static const char *const a_deps[] = {"b.proto", "c.proto", NULL};
    static const char *const b_deps[] = {"c.proto", "d.proto", NULL};
    struct kd_descriptor_index *index = NULL;
    size_t a, b, c, d, files[4], n;
    bool sent[4] = {false};

    memset(&set, 0, sizeof(set));
    file_proto(&f, "d.proto", "p", NULL, "D");
    pb_msg(&set, 1, &f);
    file_proto(&f, "a.proto", "p", a_deps, "A");
    pb_msg(&set, 1, &f);
    file_proto(&f, "c.proto", "p", NULL, "C");
    pb_msg(&set, 1, &f);
    file_proto(&f, "b.proto", "p", b_deps, "B");
    pb_msg(&set, 1, &f);
    assert_int_equal(create_from(&set, &index), 0);
    assert_int_equal(kd_descriptor_index_find_file(index, "a.proto", &a), 0);
    assert_int_equal(kd_descriptor_index_find_file(index, "b.proto", &b), 0);
    assert_int_equal(kd_descriptor_index_find_file(index, "c.proto", &c), 0);
    assert_int_equal(kd_descriptor_index_find_file(index, "d.proto", &d), 0);
    assert_int_equal(kd_descriptor_index_file(index, a)->n_deps, 2);
    assert_int_equal(kd_descriptor_index_file(index, a)->deps[0], b);
    assert_int_equal(kd_descriptor_index_file(index, a)->deps[1], c);

    /* BFS: a, then its imports b and c, then b's import d (c only once). */
    kd_descriptor_index_closure(index, a, sent, files, &n);
    assert_int_equal(n, 4);
    assert_int_equal(files[0], a);
    assert_int_equal(files[1], b);
    assert_int_equal(files[2], c);
    assert_int_equal(files[3], d);
    assert_true(sent[a] && sent[b] && sent[c] && sent[d]);

    /* Later on the same stream: only the requested file, even though it was sent. */
    kd_descriptor_index_closure(index, b, sent, files, &n);
    assert_int_equal(n, 1);
    assert_int_equal(files[0], b);

    /* A fresh stream starting at b gets b, c, d but not a. */
    memset(sent, 0, sizeof(sent));
    kd_descriptor_index_closure(index, b, sent, files, &n);
    assert_int_equal(n, 3);
    assert_int_equal(files[0], b);
    assert_false(sent[a]);
    kd_descriptor_index_destroy(index);
}

static void test_cycle_and_package(void **state)
{
    (void)state;
    static struct pb set, f, svc, method, enm;
    static const char *const y_deps[] = {"x.proto", NULL};
    struct kd_descriptor_index *index = NULL;
    size_t x, files[2], n;
    bool sent[2] = {false};

    memset(&set, 0, sizeof(set));
    /* No package: symbols are unqualified. The service comes before the name and package. */
    memset(&f, 0, sizeof(f));
    memset(&svc, 0, sizeof(svc));
    memset(&method, 0, sizeof(method));
    pb_str(&method, 1, "Ping");
    pb_msg(&svc, 2, &method);
    pb_str(&svc, 1, "Svc");
    pb_msg(&f, 6, &svc);
    pb_str(&f, 1, "x.proto");
    pb_str(&f, 3, "y.proto");
    pb_msg(&set, 1, &f);
    /* Package after the definitions on the wire, and a top-level enum. */
    file_proto(&f, "y.proto", NULL, y_deps, "Y");
    memset(&enm, 0, sizeof(enm));
    pb_str(&enm, 1, "Color");
    pb_msg(&f, 5, &enm);
    pb_str(&f, 2, "late.pkg");
    pb_msg(&set, 1, &f);

    assert_int_equal(create_from(&set, &index), 0);
    assert_int_equal(kd_descriptor_index_find_symbol(index, "Svc", &x), 0);
    assert_int_equal(kd_descriptor_index_find_symbol(index, "Svc.Ping", &x), 0);
    assert_string_equal(kd_descriptor_index_file(index, x)->name, "x.proto");
    assert_string_equal(file_of(index, "late.pkg.Y"), "y.proto");
    assert_string_equal(file_of(index, "late.pkg.Color"), "y.proto");
    assert_null(file_of(index, "Y"));

    /* Import cycles terminate. */
    kd_descriptor_index_closure(index, x, sent, files, &n);
    assert_int_equal(n, 2);
    kd_descriptor_index_destroy(index);
}

static void test_empty_set(void **state)
{
    (void)state;
    struct kd_descriptor_index *index = NULL;
    size_t file;
    assert_int_equal(kd_descriptor_index_create((const uint8_t *)"", 0, &index), 0);
    assert_int_equal(kd_descriptor_index_count(index), 0);
    assert_int_equal(kd_descriptor_index_find_file(index, "a.proto", &file), -ENOENT);
    assert_int_equal(kd_descriptor_index_find_symbol(index, "a.B", &file), -ENOENT);
    kd_descriptor_index_destroy(index);
    kd_descriptor_index_destroy(NULL);
}

static void expect_einval(const uint8_t *data, size_t len)
{
    struct kd_descriptor_index *index = (struct kd_descriptor_index *)&index;
    struct kd_descriptor_index *before = index;
    assert_int_equal(kd_descriptor_index_create(data, len, &index), -EINVAL);
    assert_ptr_equal(index, before); /* untouched on failure */
}

static void test_truncated(void **state)
{
    (void)state;
    /* The first file's bytes: any cut inside them is a truncated length-delimited field. */
    size_t first_end;
    struct kd_descriptor_index *index;

    assert_int_equal(kd_descriptor_set[0], 0x0a);
    {
        size_t len = 0, shift = 0, i = 1;
        while (kd_descriptor_set[i] & 0x80)
            len |= (size_t)(kd_descriptor_set[i++] & 0x7f) << shift, shift += 7;
        len |= (size_t)kd_descriptor_set[i++] << shift;
        first_end = i + len;
    }
    for (size_t cut = 1; cut < first_end; cut++)
        expect_einval(kd_descriptor_set, cut);
    /* Every other prefix is either rejected or a valid shorter set, never a crash. */
    for (size_t cut = first_end; cut < kd_descriptor_set_len; cut++) {
        index = NULL;
        int rc = kd_descriptor_index_create(kd_descriptor_set, cut, &index);
        assert_true(rc == 0 || rc == -EINVAL);
        kd_descriptor_index_destroy(index);
    }
    index = NULL;
    assert_int_equal(kd_descriptor_index_create(kd_descriptor_set, first_end, &index), 0);
    assert_int_equal(kd_descriptor_index_count(index), 1);
    kd_descriptor_index_destroy(index);
}

static void test_garbage(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        const char *bytes;
        size_t len;
    } cases[] = {
        {"all ones", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11},
        {"varint longer than 10 bytes", "\x08\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 12},
        {"field number 0", "\x02\x00", 2},
        {"start group", "\x0b\x0c", 2},
        {"end group", "\x0c", 1},
        {"wire type 6", "\x0e", 1},
        {"file as varint", "\x08\x01", 2},
        {"length beyond input", "\x0a\x05\x0a\x01", 4},
        {"huge length", "\x0a\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10},
        {"truncated fixed64", "\x11\x00\x00\x00", 4},
        {"truncated fixed32", "\x15\x00", 2},
        {"file without name", "\x0a\x04\x12\x02p1", 6},
        {"file with empty name", "\x0a\x02\x0a\x00", 4},
        {"file name as varint", "\x0a\x02\x08\x01", 4},
        {"name with NUL",
         "\x0a\x05\x0a\x03"
         "a\0b",
         7},
        {"message without name",
         "\x0a\x09\x0a\x03"
         "a.p"
         "\x22\x02\x10\x01",
         11},
        {"message as varint",
         "\x0a\x07\x0a\x03"
         "a.p"
         "\x20\x01",
         9},
        {"method without name",
         "\x0a\x0c\x0a\x03"
         "a.p"
         "\x32\x05\x0a\x01S\x12\x00",
         14},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("case: %s\n", cases[i].what);
        expect_einval((const uint8_t *)cases[i].bytes, cases[i].len);
    }
}

static void test_semantic_errors(void **state)
{
    (void)state;
    static struct pb set, f;
    static const char *const missing[] = {"missing.proto", NULL};

    /* Two files with one name. */
    memset(&set, 0, sizeof(set));
    file_proto(&f, "a.proto", "p", NULL, "A");
    pb_msg(&set, 1, &f);
    file_proto(&f, "a.proto", "q", NULL, "B");
    pb_msg(&set, 1, &f);
    expect_einval(set.data, set.len);

    /* One symbol defined twice (same package, two files). */
    memset(&set, 0, sizeof(set));
    file_proto(&f, "a.proto", "p", NULL, "A");
    pb_msg(&set, 1, &f);
    file_proto(&f, "b.proto", "p", NULL, "A");
    pb_msg(&set, 1, &f);
    expect_einval(set.data, set.len);

    /* An import that is not in the set: the closure could not be served. */
    memset(&set, 0, sizeof(set));
    file_proto(&f, "a.proto", "p", missing, "A");
    pb_msg(&set, 1, &f);
    expect_einval(set.data, set.len);
}

static void test_nesting_limit(void **state)
{
    (void)state;
    static struct pb inner, outer, file, set;
    struct kd_descriptor_index *index = NULL;

    for (int levels = 60; levels <= 70; levels += 10) {
        memset(&inner, 0, sizeof(inner));
        pb_str(&inner, 1, "M");
        for (int i = 0; i < levels; i++) {
            memset(&outer, 0, sizeof(outer));
            pb_str(&outer, 1, "M");
            pb_msg(&outer, 3, &inner);
            inner = outer;
        }
        memset(&file, 0, sizeof(file));
        pb_str(&file, 1, "deep.proto");
        pb_msg(&file, 4, &inner);
        memset(&set, 0, sizeof(set));
        pb_msg(&set, 1, &file);
        if (levels == 60) {
            assert_int_equal(create_from(&set, &index), 0);
            assert_string_equal(file_of(index, "M.M.M.M"), "deep.proto");
            kd_descriptor_index_destroy(index);
        } else {
            expect_einval(set.data, set.len);
        }
    }
}

static void test_unknown_fields_skipped(void **state)
{
    (void)state;
    static struct pb set, f;
    struct kd_descriptor_index *index = NULL;

    /* Unknown fields of every wire type at set and file level, and a repeated name (last wins). */
    memset(&set, 0, sizeof(set));
    memset(&f, 0, sizeof(f));
    pb_str(&f, 1, "old.proto");
    pb_uint(&f, 12, 3);
    memcpy(f.data + f.len, "\x79\1\2\3\4\5\6\7\x08", 9); /* field 15, fixed64 */
    f.len += 9;
    memcpy(f.data + f.len, "\x7d\1\2\3\4", 5); /* field 15, fixed32 */
    f.len += 5;
    pb_str(&f, 1, "new.proto");
    pb_str(&f, 2, "p");
    pb_msg(&set, 1, &f);
    pb_uint(&set, 2, 7);
    pb_str(&set, 3, "ignored");
    assert_int_equal(create_from(&set, &index), 0);
    assert_int_equal(kd_descriptor_index_count(index), 1);
    assert_string_equal(kd_descriptor_index_file(index, 0)->name, "new.proto");
    kd_descriptor_index_destroy(index);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedded_files), cmocka_unit_test(test_embedded_symbols),
        cmocka_unit_test(test_closure),        cmocka_unit_test(test_cycle_and_package),
        cmocka_unit_test(test_empty_set),      cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_garbage),        cmocka_unit_test(test_semantic_errors),
        cmocka_unit_test(test_nesting_limit),  cmocka_unit_test(test_unknown_fields_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
