/* SPDX-License-Identifier: Apache-2.0 */
/* stderr logger. Lines are built in one buffer and written with one write(2), so lines from
 * the daemon never interleave mid-line. */
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum kd_log_level g_level = KD_LOG_INFO;
static enum kd_log_format g_format = KD_LOG_TEXT;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void kd_log_setup(enum kd_log_level level, enum kd_log_format format)
{
    g_level = level;
    g_format = format;
}

int kd_log_parse_level(const char *text, enum kd_log_level *ret_level)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *ret_level = (enum kd_log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

int kd_log_parse_format(const char *text, enum kd_log_format *ret_format)
{
    if (strcmp(text, "text") == 0)
        *ret_format = KD_LOG_TEXT;
    else if (strcmp(text, "json") == 0)
        *ret_format = KD_LOG_JSON;
    else
        return -EINVAL;
    return 0;
}

bool kd_log_enabled(enum kd_log_level level)
{
    return level <= g_level;
}

/* Appends `s` JSON-escaped; returns the new length (clamped to cap - 1). */
static size_t append_json(char *buf, size_t len, size_t cap, const char *s)
{
    for (; *s && len + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[len++] = '\\';
            buf[len++] = (char)c;
        } else if (c < 0x20) {
            len += (size_t)snprintf(buf + len, cap - len, "\\u%04x", c);
        } else {
            buf[len++] = (char)c;
        }
    }
    return len;
}

void kd_log_prefixedv(enum kd_log_level level, const char *prefix, const char *fmt, va_list ap)
{
    if (!kd_log_enabled(level))
        return;

    char msg[2048];
    vsnprintf(msg, sizeof(msg), fmt, ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    size_t tl = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + tl, sizeof(ts) - tl, ".%03dZ", (int)(tv.tv_usec / 1000));

    char line[4096];
    size_t len;
    if (g_format == KD_LOG_JSON) {
        len = (size_t)snprintf(line, sizeof(line), "{\"time\":\"%s\",\"level\":\"%s\",", ts,
                               level_names[level]);
        if (prefix) {
            len += (size_t)snprintf(line + len, sizeof(line) - len, "\"src\":\"");
            len = append_json(line, len, sizeof(line), prefix);
            len += (size_t)snprintf(line + len, sizeof(line) - len, "\",");
        }
        len += (size_t)snprintf(line + len, sizeof(line) - len, "\"msg\":\"");
        len = append_json(line, len, sizeof(line), msg);
        len += (size_t)snprintf(line + len, sizeof(line) - len, "\"}\n");
    } else {
        len = (size_t)snprintf(line, sizeof(line), "%s %-5s %s%s%s%s\n", ts, level_names[level],
                               prefix ? "[" : "", prefix ? prefix : "", prefix ? "] " : "", msg);
    }
    if (len >= sizeof(line)) {
        len = sizeof(line) - 1;
        line[len - 1] = '\n';
    }
    ssize_t unused = write(STDERR_FILENO, line, len);
    (void)unused;
}

void kd_log_prefixed(enum kd_log_level level, const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kd_log_prefixedv(level, prefix, fmt, ap);
    va_end(ap);
}
