/* SPDX-License-Identifier: Apache-2.0 */
/* Formatters for the status renderers (see status_format.h). */
#include "ops/status_format.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

void kd_status_format_time(int64_t unix_ms, char buf[KD_STATUS_TIME_LEN])
{
    int64_t s = unix_ms / 1000, ms = unix_ms % 1000;
    struct tm tm;

    if (ms < 0) {
        ms += 1000;
        s--;
    }
    time_t t = (time_t)s;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, KD_STATUS_TIME_LEN, "%" PRId64, unix_ms);
        return;
    }
    size_t n = strftime(buf, KD_STATUS_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, KD_STATUS_TIME_LEN - n, ".%03dZ", (int)ms);
}

void kd_status_format_duration(int64_t ms, char *buf, size_t len)
{
    const char *sign = ms < 0 ? "-" : "";
    uint64_t v = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    uint64_t s = v / 1000;

    if (v < 1000)
        snprintf(buf, len, "%s%" PRIu64 "ms", sign, v);
    else if (s < 60)
        snprintf(buf, len, "%s%" PRIu64 "s", sign, s);
    else if (s < 3600)
        snprintf(buf, len, "%s%" PRIu64 "m%" PRIu64 "s", sign, s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, len, "%s%" PRIu64 "h%" PRIu64 "m", sign, s / 3600, s / 60 % 60);
    else
        snprintf(buf, len, "%s%" PRIu64 "d%" PRIu64 "h", sign, s / 86400, s / 3600 % 24);
}

void kd_status_html_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}

void kd_status_url_encode(FILE *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            fputc(*p, out);
        else
            fprintf(out, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int kd_status_query_param(const char *query, const char *key, char *buf, size_t len)
{
    size_t klen = strlen(key);

    for (const char *p = query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n >= klen && memcmp(p, key, klen) == 0 && (n == klen || p[klen] == '=')) {
            const char *v = n == klen ? p + n : p + klen + 1;
            size_t o = 0;
            for (; v < p + n; v++) {
                int c = (unsigned char)*v;
                if (c == '%') {
                    int hi = v + 2 < p + n ? hex_value(v[1]) : -1;
                    int lo = hi >= 0 ? hex_value(v[2]) : -1;
                    if (lo < 0)
                        return -EINVAL;
                    c = hi * 16 + lo;
                    v += 2;
                } else if (c == '+') {
                    c = ' ';
                }
                if (c == 0 || o + 1 >= len)
                    return -EINVAL;
                buf[o++] = (char)c;
            }
            if (len == 0)
                return -EINVAL;
            buf[o] = '\0';
            return 0;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    return -ENOENT;
}
