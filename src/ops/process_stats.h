/* SPDX-License-Identifier: Apache-2.0 */
/* The process_* facts Prometheus clients export, read from /proc/self (Linux). */
#ifndef KD_PROCESS_STATS_H
#define KD_PROCESS_STATS_H

#include <stdint.h>

struct kd_process_stats {
    double cpu_seconds; /* user + system */
    double resident_bytes;
    double virtual_bytes;
    double open_fds;
    double max_fds; /* soft RLIMIT_NOFILE */
};

/* Parse the text of /proc/<pid>/stat: utime and stime (clock ticks), vsize (bytes) and rss
 * (pages). The comm field may hold spaces and parentheses. -EINVAL on malformed text. */
int kd_process_stats_parse_stat(const char *text, long ticks_per_second, long page_size,
                                struct kd_process_stats *ret_stats);

/* Fill every field from /proc/self. -errno when /proc cannot be read. */
int kd_process_stats_read(struct kd_process_stats *ret_stats);

#endif /* KD_PROCESS_STATS_H */
