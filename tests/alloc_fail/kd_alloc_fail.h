/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation-failure build (-DKD_ALLOC_FAIL=ON): force-included (-include) into every file of
 * our libraries and plugins, so that their calls -- and only theirs, not cmocka's, libevent's
 * or the tests' own -- go through tests/alloc_fail/alloc_fail.c, which fails them on the
 * schedule KD_ALLOC_FAIL_* in the environment asks for (see alloc_fail.c).
 */
#ifndef KD_ALLOC_FAIL_H
#define KD_ALLOC_FAIL_H

/* The real declarations first, so that the macros below rename calls only. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *kd_af_malloc(size_t size);
void *kd_af_calloc(size_t n, size_t size);
void *kd_af_realloc(void *ptr, size_t size);
char *kd_af_strdup(const char *s);
char *kd_af_strndup(const char *s, size_t n);
int kd_af_asprintf(char **ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int kd_af_vasprintf(char **ret, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
FILE *kd_af_open_memstream(char **ret_buf, size_t *ret_len);

/* alloc_fail.c takes the declarations only: it calls the real functions. */
#ifndef KD_ALLOC_FAIL_IMPL
#undef malloc
#undef calloc
#undef realloc
#undef strdup
#undef strndup
#undef asprintf
#undef vasprintf
#undef open_memstream
#define malloc(n) kd_af_malloc(n)
#define calloc(n, s) kd_af_calloc(n, s)
#define realloc(p, s) kd_af_realloc(p, s)
#define strdup(s) kd_af_strdup(s)
#define strndup(s, n) kd_af_strndup(s, n)
#define asprintf(...) kd_af_asprintf(__VA_ARGS__)
#define vasprintf(r, f, a) kd_af_vasprintf(r, f, a)
#define open_memstream(b, l) kd_af_open_memstream(b, l)
#endif /* KD_ALLOC_FAIL_IMPL */

#endif /* KD_ALLOC_FAIL_H */
