/* SPDX-License-Identifier: Apache-2.0 */
/* The "char *err, size_t err_len" convention: pure layers explain a failure in one line that
 * the caller, who has the context, logs or prints. */
#ifndef KD_ERRBUF_H
#define KD_ERRBUF_H

#include <stddef.h>

/* printf into err (truncated, always NUL-terminated); a NULL or empty buffer is ignored. */
void kd_errbuf_printf(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* KD_ERRBUF_H */
