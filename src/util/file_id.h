/* SPDX-License-Identifier: Apache-2.0 */
/* Which file a path names right now, to notice that it changed: edited in place, replaced by
 * a rename, or swapped by a symlink (the kubelet's ConfigMap "..data" swap). */
#ifndef KD_FILE_ID_H
#define KD_FILE_ID_H

#include <stdbool.h>
#include <stdint.h>

struct kd_file_id {
    int error; /* errno of a failed stat(), 0 when the fields below are valid */
    uint64_t dev, ino, size;
    int64_t mtime_ns, ctime_ns;
};

/* stat(2) of `path`, following symlinks. Never fails: a stat error is kept in ret_id->error. */
void kd_file_id_stat(const char *path, struct kd_file_id *ret_id);

bool kd_file_id_equal(const struct kd_file_id *a, const struct kd_file_id *b);

#endif /* KD_FILE_ID_H */
