/* SPDX-License-Identifier: Apache-2.0 */
#include "file_identity.h"

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
