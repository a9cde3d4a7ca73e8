/* SPDX-License-Identifier: Apache-2.0 */
/* stderr logger. Lines are built in one buffer and written with one write(2), so lines from
 * the daemon never interleave mid-line. */
#include "util/log.h"

#include <errno.h>
#include <stdint.h>
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

bool kd_log_enabled(enum kd_log_level level)
{
    return level <= g_level;
}

/* Length of the valid UTF-8 sequence (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF) at the start of p[0..n), or 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *p, size_t n)
{
    size_t need;
    uint32_t cp, min;

    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xe0) == 0xc0)
        need = 1, cp = p[0] & 0x1f, min = 0x80;
    else if ((p[0] & 0xf0) == 0xe0)
        need = 2, cp = p[0] & 0x0f, min = 0x800;
    else if ((p[0] & 0xf8) == 0xf0)
        need = 3, cp = p[0] & 0x07, min = 0x10000;
    else
        return 0;
    if (n <= need)
        return 0;
    for (size_t k = 1; k <= need; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need + 1;
}

/*
 * Appends `s` as the inside of a JSON string and returns the new length, never past `cap`:
 * what does not fit is left out whole (never half an escape or half a character), so the
 * line stays valid JSON however long the message. A byte that is not UTF-8 becomes U+FFFD.
 */
static size_t append_json(char *buf, size_t len, size_t cap, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);

    while (n) {
        char esc[8];
        const char *out = esc;
        size_t used = 1, out_len;
        size_t seq = utf8_sequence(p, n);

        if (*p == '"' || *p == '\\') {
            esc[0] = '\\', esc[1] = (char)*p, out_len = 2;
        } else if (*p == '\n') {
            out = "\\n", out_len = 2;
        } else if (*p < 0x20 || *p == 0x7f) {
            out_len = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *p);
        } else if (seq == 0) {
            out = "\\ufffd", out_len = 6;
        } else {
            out = (const char *)p, out_len = used = seq;
        }
        if (out_len > cap - len)
            break;
        memcpy(buf + len, out, out_len);
        len += out_len;
        p += used;
        n -= used;
    }
    return len;
}

/* Appends `s` raw, never past `cap`. */
static size_t append_raw(char *buf, size_t len, size_t cap, const char *s)
{
    size_t n = strlen(s);

    if (n > cap - len)
        n = cap - len;
    memcpy(buf + len, s, n);
    return len + n;
}

/*
 * Appends `s` for a text line and returns the new length, never past `cap`: a control byte
 * (newline, CR, tab, ...) and the backslash are escaped C-style, so one call stays one line
 * that a reader can split on newlines; an escape that does not fit is left out whole.
 */
static size_t append_text(char *buf, size_t len, size_t cap, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        size_t out_len = 2;

        esc[0] = '\\';
        if (*p == '\n' || *p == '\r' || *p == '\t' || *p == '\\')
            esc[1] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : *p == '\t' ? 't' : '\\';
        else if (*p < 0x20 || *p == 0x7f)
            out_len = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *p);
        else
            esc[0] = (char)*p, out_len = 1;
        if (out_len > cap - len)
            break;
        memcpy(buf + len, esc, out_len);
        len += out_len;
    }
    return len;
}

/* time level [prefix] msg\n into `line`, escaped (append_text); returns its length. */
static size_t format_text(char *line, size_t size, const char *ts, enum kd_log_level level,
                          const char *prefix, const char *msg)
{
    size_t cap = size - 2; /* room for the newline and a NUL is kept back */
    int n = snprintf(line, cap, "%s %-5s ", ts, level_names[level]);
    size_t len = n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;

    if (prefix) {
        len = append_raw(line, len, cap, "[");
        /* a plugin's name: at most 256 bytes of it, so the message keeps the room */
        len = append_text(line, len, len + 256 < cap ? len + 256 : cap, prefix);
        len = append_raw(line, len, cap, "] ");
    }
    len = append_text(line, len, cap, msg);
    line[len] = '\n';
    line[len + 1] = '\0';
    return len + 1;
}

/* {"time":...,"level":...,["src":...,]"msg":...}\n into `line`; returns its length. */
static size_t format_json(char *line, size_t size, const char *ts, enum kd_log_level level,
                          const char *prefix, const char *msg)
{
    static const char tail[] = "\"}\n";
    size_t cap = size - sizeof(tail); /* room for the tail (and a NUL) is kept back */
    size_t len = 0;

    len = append_raw(line, len, cap, "{\"time\":\"");
    len = append_raw(line, len, cap, ts);
    len = append_raw(line, len, cap, "\",\"level\":\"");
    len = append_raw(line, len, cap, level_names[level]);
    if (prefix) {
        len = append_raw(line, len, cap, "\",\"src\":\"");
        /* a plugin's name: at most 256 bytes of it, so the message keeps the room */
        len = append_json(line, len, len + 256 < cap ? len + 256 : cap, prefix);
    }
    len = append_raw(line, len, cap, "\",\"msg\":\"");
    len = append_json(line, len, cap, msg);
    memcpy(line + len, tail, sizeof(tail));
    return len + sizeof(tail) - 1;
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
    if (g_format == KD_LOG_JSON)
        len = format_json(line, sizeof(line), ts, level, prefix, msg);
    else
        len = format_text(line, sizeof(line), ts, level, prefix, msg);
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
