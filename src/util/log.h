/* SPDX-License-Identifier: Apache-2.0 */
/* One log line per event on stderr, text or JSON; the level is set at run time. */
#ifndef KD_LOG_H
#define KD_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include <kedastral/plugin.h> /* enum kd_log_level */

enum kd_log_format { KD_LOG_TEXT, KD_LOG_JSON };

void kd_log_setup(enum kd_log_level level, enum kd_log_format format);

bool kd_log_enabled(enum kd_log_level level);

/* `prefix` (may be NULL) is written as "[prefix] " in text, "src":"prefix" in JSON. One call is
 * one line: text escapes control bytes and the backslash C-style (\n, \x01), JSON as JSON. */
void kd_log_prefixed(enum kd_log_level level, const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void kd_log_prefixedv(enum kd_log_level level, const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define KD_ERROR(...) kd_log_prefixed(KD_LOG_ERROR, NULL, __VA_ARGS__)
#define KD_WARN(...) kd_log_prefixed(KD_LOG_WARN, NULL, __VA_ARGS__)
#define KD_INFO(...) kd_log_prefixed(KD_LOG_INFO, NULL, __VA_ARGS__)
#define KD_DEBUG(...)                                                                              \
    do {                                                                                           \
        if (kd_log_enabled(KD_LOG_DEBUG))                                                          \
            kd_log_prefixed(KD_LOG_DEBUG, NULL, __VA_ARGS__);                                      \
    } while (0)

#endif /* KD_LOG_H */
