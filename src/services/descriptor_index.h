/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An index over a serialized google.protobuf.FileDescriptorSet: the exact bytes of each
 * FileDescriptorProto, its name, its imports and the fully-qualified symbols it defines.
 * Pure (no I/O, no logging); reflection serves its answers from it.
 */
#ifndef KD_DESCRIPTOR_INDEX_H
#define KD_DESCRIPTOR_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kd_descriptor_index;

struct kd_descriptor_file {
    const char *name;     /* "grpc/health/v1/health.proto" */
    const uint8_t *bytes; /* the serialized FileDescriptorProto, borrowed from the set */
    size_t len;
    size_t n_deps;
    const size_t *deps; /* file numbers of its imports, in declaration order */
};

/*
 * Index `set` (borrowed: it must outlive the index). Symbols are package.Message, nested
 * messages and enums, package.Enum, package.Service and package.Service.Method.
 * Returns 0, -ENOMEM, or -EINVAL when the set is not well-formed protobuf, a file has no name,
 * two files or two symbols share a name, or an import is not in the set.
 * On failure *ret_index is untouched.
 */
int kd_descriptor_index_create(const uint8_t *set, size_t len,
                               struct kd_descriptor_index **ret_index);

void kd_descriptor_index_destroy(struct kd_descriptor_index *index);

/* Number of files; files are numbered 0..count-1 in set order. */
size_t kd_descriptor_index_count(const struct kd_descriptor_index *index);

/* File number `file` (< count); the view lives as long as the index. */
const struct kd_descriptor_file *kd_descriptor_index_file(const struct kd_descriptor_index *index,
                                                          size_t file);

/* Exact-match lookups: 0 and *ret_file, or -ENOENT. */
int kd_descriptor_index_find_file(const struct kd_descriptor_index *index, const char *name,
                                  size_t *ret_file);
int kd_descriptor_index_find_symbol(const struct kd_descriptor_index *index, const char *symbol,
                                    size_t *ret_file);

/*
 * Breadth-first dependency closure of `file` for one reflection stream: `file` itself always,
 * then every transitive import whose `sent` flag is still false. `sent` has count entries and
 * is updated (all returned files are marked). `ret_files` needs room for count entries and
 * receives the file numbers, `file` first; *ret_n their number.
 */
void kd_descriptor_index_closure(const struct kd_descriptor_index *index, size_t file, bool *sent,
                                 size_t *ret_files, size_t *ret_n);

#endif /* KD_DESCRIPTOR_INDEX_H */
