/* SPDX-License-Identifier: Apache-2.0 */
#include "file_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void kd_file_identity_of(const struct stat *sb, struct kd_file_identity *ret_id)
{
    *ret_id = (struct kd_file_identity){
        .dev = sb->st_dev,
        .ino = sb->st_ino,
        .size = sb->st_size,
        .mtime = sb->st_mtim,
    };
}

bool kd_file_identity_equal(const struct kd_file_identity *a, const struct kd_file_identity *b)
{
    if (a->error || b->error)
        return a->error == b->error;
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

void kd_file_identity_stat(const char *path, struct kd_file_identity *ret_id)
{
    struct stat sb;

    if (stat(path, &sb) == 0)
        kd_file_identity_of(&sb, ret_id);
    else
        *ret_id = (struct kd_file_identity){.error = errno};
}

int kd_file_read(const char *path, size_t max_bytes, char **ret_text, size_t *ret_len,
                 struct kd_file_identity *ret_id, char *err, size_t err_len)
{
    struct stat sb;
    int rc;

    /* O_NONBLOCK: a FIFO put where a file belongs must not hang the event loop in open(). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, err_len, "%s", strerror(-rc));
        return rc;
    }
    if (fstat(fd, &sb) != 0) {
        rc = -errno;
        snprintf(err, err_len, "%s", strerror(-rc));
        goto fail_fd;
    }
    if (!S_ISREG(sb.st_mode)) {
        rc = -EINVAL;
        snprintf(err, err_len, "not a regular file");
        goto fail_fd;
    }
    if ((uint64_t)sb.st_size > max_bytes) {
        rc = -EFBIG;
        snprintf(err, err_len, "%lld bytes, at most %zu", (long long)sb.st_size, max_bytes);
        goto fail_fd;
    }

    /* A file that changes while we read has a new identity, so the next poll reads it again. */
    size_t cap = (size_t)sb.st_size, len = 0;
    char *text = malloc(cap + 1);
    if (!text) {
        rc = -ENOMEM;
        snprintf(err, err_len, "out of memory for %zu bytes", cap);
        goto fail_fd;
    }
    while (len < cap) {
        ssize_t got = read(fd, text + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -errno;
            snprintf(err, err_len, "read: %s", strerror(-rc));
            goto fail_text;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    text[len] = '\0';
    kd_file_identity_of(&sb, ret_id);
    *ret_text = text;
    *ret_len = len;
    return 0;

fail_text:
    free(text);
fail_fd:
    close(fd);
    return rc;
}
