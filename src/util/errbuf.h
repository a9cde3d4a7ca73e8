/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one error carrier. Pure layers explain a failure in one line that the caller, who has
 * the context, logs or prints ("char *err, size_t err_len" at every public boundary).
 *
 * Where the line comes from (a config file's "file:line") is carried apart from the message
 * in a struct kd_error until it is written out, so "file:line: message" is put together here
 * and nowhere else, and no caller edits a finished message to add one.
 */
#ifndef KD_ERRBUF_H
#define KD_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

#define KD_ERROR_FILE_MAX 512
#define KD_ERROR_MSG_MAX 2048

struct kd_error {
    char file[KD_ERROR_FILE_MAX]; /* "" while the error has no origin */
    int line;
    char msg[KD_ERROR_MSG_MAX]; /* one line, without the origin */
};

/* printf into err (truncated, always NUL-terminated); a NULL or empty buffer is ignored. */
void kd_errbuf_printf(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void kd_errbuf_vprintf(char *err, size_t err_len, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* "file:line: " + printf into err, as kd_errbuf_printf; a NULL file writes the message only. */
void kd_errbuf_at(char *err, size_t err_len, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* An error with neither origin nor message. */
void kd_error_clear(struct kd_error *e);

/* The message, without an origin. */
void kd_error_set(struct kd_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Origin and message; a NULL file leaves the error without an origin. */
void kd_error_at(struct kd_error *e, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void kd_error_vat(struct kd_error *e, const char *file, int line, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* Give `e` this origin unless it has one (a setting's own line wins over its group's); a NULL
 * file is a no-op. */
void kd_error_origin(struct kd_error *e, const char *file, int line);

/* Write "file:line: message" (or "message" without an origin) into err, as kd_errbuf_printf. */
void kd_error_format(const struct kd_error *e, char *err, size_t err_len);

#endif /* KD_ERRBUF_H */
