/* SPDX-License-Identifier: Apache-2.0 */
/* process_* facts from /proc/self/stat, /proc/self/fd and getrlimit (see process_stats.h). */
#include "ops/process_stats.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int kd_process_stats_parse_stat(const char *text, long ticks_per_second, long page_size,
                                struct kd_process_stats *ret_stats)
{
    /* Fields after "(comm)" start at field 3 (state); we want 14, 15, 23 and 24. */
    const char *p = strrchr(text, ')');
    unsigned long long utime = 0, stime = 0, vsize = 0;
    long long rss = 0;
    int field = 3;

    if (!p || ticks_per_second <= 0 || page_size <= 0)
        return -EINVAL;
    p++;
    while (field <= 24) {
        char *end;
        while (*p == ' ')
            p++;
        if (!*p)
            return -EINVAL;
        if (field == 14 || field == 15 || field == 23) {
            errno = 0;
            unsigned long long v = strtoull(p, &end, 10);
            if (end == p || errno)
                return -EINVAL;
            *(field == 14 ? &utime : field == 15 ? &stime : &vsize) = v;
        } else if (field == 24) {
            errno = 0;
            rss = strtoll(p, &end, 10);
            if (end == p || errno)
                return -EINVAL;
        } else {
            end = strchr(p, ' ');
            if (!end)
                return -EINVAL;
        }
        p = end;
        field++;
    }
    ret_stats->cpu_seconds = (double)(utime + stime) / (double)ticks_per_second;
    ret_stats->virtual_bytes = (double)vsize;
    ret_stats->resident_bytes = (double)rss * (double)page_size;
    return 0;
}

static int count_fds(double *ret_count)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *e;
    double n = 0;

    if (!dir)
        return -errno;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(dir);
    /* Not counting the descriptor opendir itself used. */
    *ret_count = n > 0 ? n - 1 : 0;
    return 0;
}

int kd_process_stats_read(struct kd_process_stats *ret_stats)
{
    struct kd_process_stats s = {0};
    char text[1024];
    struct rlimit rl;
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n;
    int r;

    if (!f)
        return -errno;
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    r = kd_process_stats_parse_stat(text, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), &s);
    if (r < 0)
        return r;
    r = count_fds(&s.open_fds);
    if (r < 0)
        return r;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        s.max_fds = (double)rl.rlim_cur;
    *ret_stats = s;
    return 0;
}
