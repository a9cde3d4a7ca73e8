/* SPDX-License-Identifier: Apache-2.0 */
/*
 * FileDescriptorSet walker at the wire level: a bounds-checked varint / length-delimited reader
 * (the input is fuzzed) and sorted tables for file and symbol lookups.
 */
#include "services/descriptor_index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* descriptor.proto field numbers (keda-grpc.md §5.4) */
enum {
    SET_FILE = 1,
    FILE_NAME = 1,
    FILE_PACKAGE = 2,
    FILE_DEPENDENCY = 3,
    FILE_MESSAGE_TYPE = 4,
    FILE_ENUM_TYPE = 5,
    FILE_SERVICE = 6,
    MESSAGE_NAME = 1,
    MESSAGE_NESTED_TYPE = 3,
    MESSAGE_ENUM_TYPE = 4,
    ENUM_NAME = 1,
    SERVICE_NAME = 1,
    SERVICE_METHOD = 2,
    METHOD_NAME = 1,
};

enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };

/* protoc nests far less; the bound keeps hostile input from exhausting the stack. */
#define MAX_NESTING 64

struct reader {
    const uint8_t *p;
    const uint8_t *end;
};

struct field {
    uint32_t number;
    int wire;
    const uint8_t *data; /* WIRE_LEN payload */
    size_t len;
};

/* A name and the file that defines it: symbols own their names, the by-name file table
 * borrows them from the file entries. */
struct symbol {
    char *name;
    size_t file;
};

struct file_entry {
    struct kd_descriptor_file view;
    char *name;
    size_t n_dep_names;
    char **dep_names;
    size_t *deps;
};

struct kd_descriptor_index {
    size_t n_files;
    struct file_entry *files;
    struct symbol *files_by_name; /* sorted by name */
    size_t n_symbols;
    size_t cap_symbols;
    struct symbol *symbols; /* sorted by name once built */
};

static int read_varint(struct reader *r, uint64_t *ret_value)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return -EINVAL;
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *ret_value = v;
            return 0;
        }
    }
    return -EINVAL;
}

/* Next field; 0 at a field, 1 at the end, -EINVAL on malformed input. Groups are rejected:
 * descriptor.proto has none. */
static int next_field(struct reader *r, struct field *ret_field)
{
    uint64_t key, v;
    if (r->p == r->end)
        return 1;
    if (read_varint(r, &key) != 0)
        return -EINVAL;
    struct field f = {.number = (uint32_t)(key >> 3), .wire = (int)(key & 7)};
    if (key >> 3 == 0 || key >> 3 > 0x1fffffff)
        return -EINVAL;
    switch (f.wire) {
    case WIRE_VARINT:
        if (read_varint(r, &v) != 0)
            return -EINVAL;
        break;
    case WIRE_I64:
    case WIRE_I32: {
        size_t n = f.wire == WIRE_I64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            return -EINVAL;
        r->p += n;
        break;
    }
    case WIRE_LEN:
        if (read_varint(r, &v) != 0 || v > (uint64_t)(r->end - r->p))
            return -EINVAL;
        f.data = r->p;
        f.len = (size_t)v;
        r->p += v;
        break;
    default:
        return -EINVAL;
    }
    *ret_field = f;
    return 0;
}

/* A string field as a C string; embedded NULs cannot be looked up, so they are malformed. */
static int dup_string(const struct field *f, char **ret_str)
{
    if (f->wire != WIRE_LEN || memchr(f->data, '\0', f->len))
        return -EINVAL;
    char *s = malloc(f->len + 1);
    if (!s)
        return -ENOMEM;
    memcpy(s, f->data, f->len);
    s[f->len] = '\0';
    *ret_str = s;
    return 0;
}

/* The last `name_field` string of a message (proto semantics: last one wins); NULL if none. */
static int find_name(const uint8_t *data, size_t len, uint32_t name_field, char **ret_name)
{
    struct reader r = {data, data + len};
    struct field f;
    struct field last = {0};
    int rc;
    while ((rc = next_field(&r, &f)) == 0) {
        if (f.number == name_field) {
            if (f.wire != WIRE_LEN)
                return -EINVAL;
            last = f;
        }
    }
    if (rc < 0)
        return rc;
    if (!last.data) {
        *ret_name = NULL;
        return 0;
    }
    return dup_string(&last, ret_name);
}

static char *join(const char *scope, const char *name)
{
    size_t a = strlen(scope), b = strlen(name);
    char *s = malloc(a + b + 2);
    if (!s)
        return NULL;
    if (a) {
        memcpy(s, scope, a);
        s[a++] = '.';
    }
    memcpy(s + a, name, b + 1);
    return s;
}

/* Takes ownership of `name`. */
static int add_symbol(struct kd_descriptor_index *index, char *name, size_t file)
{
    if (index->n_symbols == index->cap_symbols) {
        size_t cap = index->cap_symbols ? index->cap_symbols * 2 : 32;
        struct symbol *s = realloc(index->symbols, cap * sizeof(*s));
        if (!s) {
            free(name);
            return -ENOMEM;
        }
        index->symbols = s;
        index->cap_symbols = cap;
    }
    index->symbols[index->n_symbols++] = (struct symbol){.name = name, .file = file};
    return 0;
}

/* Defines scope.<name of this message or enum or service> and, per kind, its children. */
static int index_definition(struct kd_descriptor_index *index, size_t file, const char *scope,
                            uint32_t kind, const uint8_t *data, size_t len, int depth)
{
    char *name, *full;
    int rc;

    if (depth > MAX_NESTING)
        return -EINVAL;
    rc = find_name(data, len, 1, &name);
    if (rc != 0)
        return rc;
    if (!name || !*name) {
        free(name);
        return -EINVAL;
    }
    full = join(scope, name);
    free(name);
    if (!full)
        return -ENOMEM;
    rc = add_symbol(index, full, file);
    if (rc != 0)
        return rc;

    struct reader r = {data, data + len};
    struct field f;
    while ((rc = next_field(&r, &f)) == 0) {
        uint32_t child = 0;
        if (kind == FILE_MESSAGE_TYPE && f.number == MESSAGE_NESTED_TYPE)
            child = FILE_MESSAGE_TYPE;
        else if (kind == FILE_MESSAGE_TYPE && f.number == MESSAGE_ENUM_TYPE)
            child = FILE_ENUM_TYPE;
        else if (kind == FILE_SERVICE && f.number == SERVICE_METHOD)
            child = METHOD_NAME; /* a leaf: methods define nothing below them */
        if (!child)
            continue;
        if (f.wire != WIRE_LEN)
            return -EINVAL;
        if (child == METHOD_NAME) {
            rc = find_name(f.data, f.len, METHOD_NAME, &name);
            if (rc != 0)
                return rc;
            if (!name || !*name) {
                free(name);
                return -EINVAL;
            }
            char *method = join(full, name);
            free(name);
            if (!method)
                return -ENOMEM;
            rc = add_symbol(index, method, file);
        } else {
            rc = index_definition(index, file, full, child, f.data, f.len, depth + 1);
        }
        if (rc != 0)
            return rc;
    }
    return rc < 0 ? rc : 0;
}

/* Fills `fe` (already zeroed) from one FileDescriptorProto. */
static int index_file(struct kd_descriptor_index *index, size_t file, const uint8_t *data,
                      size_t len)
{
    struct file_entry *fe = &index->files[file];
    char *package = NULL;
    struct reader r = {data, data + len};
    struct field f;
    int rc;

    fe->view.bytes = data;
    fe->view.len = len;
    while ((rc = next_field(&r, &f)) == 0) {
        if (f.number != FILE_NAME && f.number != FILE_PACKAGE && f.number != FILE_DEPENDENCY)
            continue;
        char *s;
        rc = dup_string(&f, &s);
        if (rc != 0)
            goto fail;
        if (f.number == FILE_NAME) {
            free(fe->name);
            fe->name = s;
        } else if (f.number == FILE_PACKAGE) {
            free(package);
            package = s;
        } else {
            char **deps = realloc(fe->dep_names, (fe->n_dep_names + 1) * sizeof(*deps));
            if (!deps) {
                free(s);
                rc = -ENOMEM;
                goto fail;
            }
            deps[fe->n_dep_names++] = s;
            fe->dep_names = deps;
        }
    }
    if (rc < 0)
        goto fail;
    if (!fe->name || !*fe->name) {
        rc = -EINVAL;
        goto fail;
    }
    fe->view.name = fe->name;

    /* Second pass: the package may follow the definitions on the wire. */
    r = (struct reader){data, data + len};
    while ((rc = next_field(&r, &f)) == 0) {
        if (f.number != FILE_MESSAGE_TYPE && f.number != FILE_ENUM_TYPE && f.number != FILE_SERVICE)
            continue;
        if (f.wire != WIRE_LEN) {
            rc = -EINVAL;
            goto fail;
        }
        rc = index_definition(index, file, package ? package : "", f.number, f.data, f.len, 0);
        if (rc != 0)
            goto fail;
    }
    if (rc < 0)
        goto fail;
    free(package);
    return 0;

fail:
    free(package);
    return rc;
}

static int cmp_symbol(const void *a, const void *b)
{
    return strcmp(((const struct symbol *)a)->name, ((const struct symbol *)b)->name);
}

static int cmp_key(const void *key, const void *elem)
{
    return strcmp(key, ((const struct symbol *)elem)->name);
}

static int find_name_in(const struct symbol *table, size_t n, const char *name, size_t *ret_file)
{
    const struct symbol *s;
    if (!n)
        return -ENOENT;
    s = bsearch(name, table, n, sizeof(*table), cmp_key);
    if (!s)
        return -ENOENT;
    *ret_file = s->file;
    return 0;
}

/* Sort, reject duplicates, resolve imports to file numbers. */
static int link_index(struct kd_descriptor_index *index)
{
    index->files_by_name = malloc((index->n_files ? index->n_files : 1) * sizeof(struct symbol));
    if (!index->files_by_name)
        return -ENOMEM;
    for (size_t i = 0; i < index->n_files; i++)
        index->files_by_name[i] = (struct symbol){.name = index->files[i].name, .file = i};
    if (index->n_files)
        qsort(index->files_by_name, index->n_files, sizeof(struct symbol), cmp_symbol);
    for (size_t i = 1; i < index->n_files; i++) {
        if (strcmp(index->files_by_name[i - 1].name, index->files_by_name[i].name) == 0)
            return -EINVAL;
    }

    if (index->n_symbols)
        qsort(index->symbols, index->n_symbols, sizeof(struct symbol), cmp_symbol);
    for (size_t i = 1; i < index->n_symbols; i++) {
        if (strcmp(index->symbols[i - 1].name, index->symbols[i].name) == 0)
            return -EINVAL;
    }

    for (size_t i = 0; i < index->n_files; i++) {
        struct file_entry *fe = &index->files[i];
        fe->deps = malloc((fe->n_dep_names ? fe->n_dep_names : 1) * sizeof(size_t));
        if (!fe->deps)
            return -ENOMEM;
        for (size_t d = 0; d < fe->n_dep_names; d++) {
            if (find_name_in(index->files_by_name, index->n_files, fe->dep_names[d],
                             &fe->deps[d]) != 0)
                return -EINVAL;
        }
        fe->view.n_deps = fe->n_dep_names;
        fe->view.deps = fe->deps;
    }
    return 0;
}

int kd_descriptor_index_create(const uint8_t *set, size_t len,
                               struct kd_descriptor_index **ret_index)
{
    struct kd_descriptor_index *index;
    struct reader r = {set, set + len};
    struct field f;
    int rc;

    if (!set && len)
        return -EINVAL;
    index = calloc(1, sizeof(*index));
    if (!index)
        return -ENOMEM;

    while ((rc = next_field(&r, &f)) == 0) {
        if (f.number != SET_FILE)
            continue;
        if (f.wire != WIRE_LEN) {
            rc = -EINVAL;
            goto fail;
        }
        struct file_entry *files = realloc(index->files, (index->n_files + 1) * sizeof(*files));
        if (!files) {
            rc = -ENOMEM;
            goto fail;
        }
        index->files = files;
        memset(&files[index->n_files], 0, sizeof(*files));
        index->n_files++;
        rc = index_file(index, index->n_files - 1, f.data, f.len);
        if (rc != 0)
            goto fail;
    }
    if (rc < 0)
        goto fail;
    rc = link_index(index);
    if (rc != 0)
        goto fail;
    *ret_index = index;
    return 0;

fail:
    kd_descriptor_index_destroy(index);
    return rc;
}

void kd_descriptor_index_destroy(struct kd_descriptor_index *index)
{
    if (!index)
        return;
    for (size_t i = 0; i < index->n_files; i++) {
        struct file_entry *fe = &index->files[i];
        for (size_t d = 0; d < fe->n_dep_names; d++)
            free(fe->dep_names[d]);
        free(fe->dep_names);
        free(fe->deps);
        free(fe->name);
    }
    for (size_t i = 0; i < index->n_symbols; i++)
        free(index->symbols[i].name);
    free(index->symbols);
    free(index->files_by_name);
    free(index->files);
    free(index);
}

size_t kd_descriptor_index_count(const struct kd_descriptor_index *index)
{
    return index->n_files;
}

const struct kd_descriptor_file *kd_descriptor_index_file(const struct kd_descriptor_index *index,
                                                          size_t file)
{
    return &index->files[file].view;
}

int kd_descriptor_index_find_file(const struct kd_descriptor_index *index, const char *name,
                                  size_t *ret_file)
{
    return find_name_in(index->files_by_name, index->n_files, name, ret_file);
}

int kd_descriptor_index_find_symbol(const struct kd_descriptor_index *index, const char *symbol,
                                    size_t *ret_file)
{
    return find_name_in(index->symbols, index->n_symbols, symbol, ret_file);
}

void kd_descriptor_index_closure(const struct kd_descriptor_index *index, size_t file, bool *sent,
                                 size_t *ret_files, size_t *ret_n)
{
    size_t n = 0;
    ret_files[n++] = file;
    sent[file] = true;
    /* ret_files doubles as the BFS queue. A file sent earlier on the stream had its imports
     * sent with it, so only newly emitted files need their imports visited. */
    for (size_t head = 0; head < n; head++) {
        const struct file_entry *fe = &index->files[ret_files[head]];
        for (size_t d = 0; d < fe->n_dep_names; d++) {
            size_t dep = fe->deps[d];
            if (sent[dep])
                continue;
            sent[dep] = true;
            ret_files[n++] = dep;
        }
    }
    *ret_n = n;
}
