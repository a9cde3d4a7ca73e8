/* SPDX-License-Identifier: Apache-2.0 */
#include "util/file_id.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

void kd_file_id_stat(const char *path, struct kd_file_id *ret_id)
{
    struct stat sb;

    memset(ret_id, 0, sizeof(*ret_id));
    if (stat(path, &sb) != 0) {
        ret_id->error = errno ? errno : EIO;
        return;
    }
    ret_id->dev = (uint64_t)sb.st_dev;
    ret_id->ino = (uint64_t)sb.st_ino;
    ret_id->size = (uint64_t)sb.st_size;
    ret_id->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    ret_id->ctime_ns = (int64_t)sb.st_ctim.tv_sec * 1000000000 + sb.st_ctim.tv_nsec;
}

bool kd_file_id_equal(const struct kd_file_id *a, const struct kd_file_id *b)
{
    return a->error == b->error && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}
