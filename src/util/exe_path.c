/* SPDX-License-Identifier: Apache-2.0 */
#include "util/exe_path.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int kd_exe_path_self(char *ret_buf, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return -ENOENT;
    if ((size_t)n >= len)
        return -ENAMETOOLONG;
    memcpy(ret_buf, exe, (size_t)n);
    ret_buf[n] = '\0';
    return 0;
}

int kd_exe_path_beside(const char *suffix, int mode, char *ret_buf, size_t len)
{
    char exe[PATH_MAX], path[PATH_MAX];
    int rc = kd_exe_path_self(exe, sizeof(exe));
    if (rc != 0)
        return rc;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -ENOENT;
    *slash = '\0';
    int n = snprintf(path, sizeof(path), "%s%s", exe, suffix);
    if (n < 0 || (size_t)n >= sizeof(path) || (size_t)n >= len)
        return -ENAMETOOLONG;
    if (access(path, mode) != 0)
        return -ENOENT;
    memcpy(ret_buf, path, (size_t)n + 1);
    return 0;
}
