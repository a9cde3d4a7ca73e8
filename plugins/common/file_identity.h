/* SPDX-License-Identifier: Apache-2.0 */
/* Which version of a file was read: sources re-read a file (forecast recording, bearer token)
 * only when this changes, and log a broken version once, not on every poll. */
#ifndef KD_FILE_IDENTITY_H
#define KD_FILE_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

struct kd_file_identity {
    int error; /* errno of a failed stat(), 0 when the fields are valid */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

void kd_file_identity_of(const struct stat *sb, struct kd_file_identity *ret_id);

/* stat(path): the identity, or error = errno. */
void kd_file_identity_stat(const char *path, struct kd_file_identity *ret_id);

/*
 * Read a whole regular file of at most max_bytes into a malloc'd buffer (NUL-terminated, so
 * *ret_len + 1 bytes), with the identity of what was read. Errors: -errno from open/read,
 * -EINVAL "not a regular file", -EFBIG "N bytes, at most M"; one line in err, outputs
 * untouched.
 */
int kd_file_read(const char *path, size_t max_bytes, char **ret_text, size_t *ret_len,
                 struct kd_file_identity *ret_id, char *err, size_t err_len);

/* Same file, same size and modification time; two failed stat()s are equal when their errno
 * is. */
bool kd_file_identity_equal(const struct kd_file_identity *a, const struct kd_file_identity *b);

#endif /* KD_FILE_IDENTITY_H */
