/* SPDX-License-Identifier: Apache-2.0 */
#include "util/errbuf.h"

#include <stdio.h>
#include <string.h>

/*
 * The one place "file:line: " is written in front of a message. The message matters more
 * than where it comes from: when both do not fit, the path gives way to its basename, and a
 * prefix that would still take half the buffer is left out.
 */
static void vwrite_at(char *err, size_t err_len, const char *file, int line, const char *fmt,
                      va_list ap) __attribute__((format(printf, 5, 0)));

static void vwrite_at(char *err, size_t err_len, const char *file, int line, const char *fmt,
                      va_list ap)
{
    if (!err || err_len == 0)
        return;
    int n = 0;
    if (file) {
        va_list copy;
        va_copy(copy, ap);
        int msg_len = vsnprintf(NULL, 0, fmt, copy);
        va_end(copy);
        size_t want = (size_t)(msg_len < 0 ? 0 : msg_len);
        const char *base = strrchr(file, '/');

        n = snprintf(NULL, 0, "%s:%d: ", file, line);
        if (n >= 0 && (size_t)n + want >= err_len && base && base[1]) {
            file = base + 1;
            n = snprintf(NULL, 0, "%s:%d: ", file, line);
        }
        if (n < 0 || ((size_t)n + want >= err_len && (size_t)n >= err_len / 2))
            n = 0;
        else
            snprintf(err, err_len, "%s:%d: ", file, line);
    }
    vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
}

void kd_errbuf_printf(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwrite_at(err, err_len, NULL, 0, fmt, ap);
    va_end(ap);
}

void kd_errbuf_vprintf(char *err, size_t err_len, const char *fmt, va_list ap)
{
    vwrite_at(err, err_len, NULL, 0, fmt, ap);
}

void kd_errbuf_at(char *err, size_t err_len, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwrite_at(err, err_len, file, line, fmt, ap);
    va_end(ap);
}

void kd_error_clear(struct kd_error *e)
{
    e->file[0] = '\0';
    e->line = 0;
    e->msg[0] = '\0';
}

void kd_error_set(struct kd_error *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kd_error_vat(e, NULL, 0, fmt, ap);
    va_end(ap);
}

void kd_error_vat(struct kd_error *e, const char *file, int line, const char *fmt, va_list ap)
{
    e->file[0] = '\0';
    e->line = 0;
    kd_error_origin(e, file, line);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

void kd_error_at(struct kd_error *e, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kd_error_vat(e, file, line, fmt, ap);
    va_end(ap);
}

void kd_error_origin(struct kd_error *e, const char *file, int line)
{
    if (!file || e->file[0])
        return;
    snprintf(e->file, sizeof(e->file), "%s", file);
    e->line = line;
}

void kd_error_format(const struct kd_error *e, char *err, size_t err_len)
{
    kd_errbuf_at(err, err_len, e->file[0] ? e->file : NULL, e->line, "%s", e->msg);
}
