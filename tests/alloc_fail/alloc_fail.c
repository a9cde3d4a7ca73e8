/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The allocator of the allocation-failure build (kd_alloc_fail.h). One shared library, so the
 * daemon, its static libraries and the plugins it loads count on one counter. The schedule
 * comes from the environment, read once:
 *
 *   KD_ALLOC_FAIL_AT=N        fail the Nth allocation (1-based), once
 *   KD_ALLOC_FAIL_AFTER=1     ... and every one after it too
 *   KD_ALLOC_FAIL_P=0.01      fail each allocation with this probability instead
 *   KD_ALLOC_FAIL_SEED=S      the seed for _P (default 1), so a run can be replayed
 *   KD_ALLOC_FAIL_FROM=N      with _P: none of the first N fails (a daemon's start-up)
 *   KD_ALLOC_FAIL_REPORT=path at exit append "calls=C failed=F first=N" to path (count mode)
 *   KD_ALLOC_FAIL_STACK=1     print the stack of each failed call to stderr (under ASan), so
 *                             run_alloc_fail.py can tell a leak on that call's error path from
 *                             what a failing test held
 *
 * Nothing set: every allocation succeeds and is only counted.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* This file calls the real functions: the header's declarations, not its renaming. */
#define KD_ALLOC_FAIL_IMPL
#include "kd_alloc_fail.h"

/* The sanitizers' stack printer; absent (NULL) in a build without them. */
void __sanitizer_print_stack_trace(void) __attribute__((weak));

static struct {
    unsigned long at;   /* 0: no scheduled failure */
    unsigned long from; /* _P spares calls 1..from */
    bool after;
    double p;
    uint64_t rng;
    const char *report;
    bool stack;
} g_plan;

static atomic_ulong g_calls, g_failed, g_first;

static unsigned long env_ulong(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? strtoul(v, NULL, 10) : 0;
}

__attribute__((constructor)) static void plan_read(void)
{
    const char *p = getenv("KD_ALLOC_FAIL_P");

    g_plan.at = env_ulong("KD_ALLOC_FAIL_AT");
    g_plan.after = env_ulong("KD_ALLOC_FAIL_AFTER") != 0;
    g_plan.from = env_ulong("KD_ALLOC_FAIL_FROM");
    g_plan.p = p && *p ? strtod(p, NULL) : 0;
    g_plan.rng = env_ulong("KD_ALLOC_FAIL_SEED") * 2654435761u + 88172645463325252ull;
    g_plan.report = getenv("KD_ALLOC_FAIL_REPORT");
    g_plan.stack = env_ulong("KD_ALLOC_FAIL_STACK") != 0;
}

__attribute__((destructor)) static void plan_report(void)
{
    if (!g_plan.report || !*g_plan.report)
        return;
    FILE *f = fopen(g_plan.report, "a");
    if (!f)
        return;
    fprintf(f, "calls=%lu failed=%lu first=%lu\n", atomic_load(&g_calls), atomic_load(&g_failed),
            atomic_load(&g_first));
    fclose(f);
}

/* xorshift64: the same seed fails the same calls. */
static double rng_next(void)
{
    g_plan.rng ^= g_plan.rng << 13;
    g_plan.rng ^= g_plan.rng >> 7;
    g_plan.rng ^= g_plan.rng << 17;
    return (double)(g_plan.rng >> 11) / (double)(1ull << 53);
}

/* Counts one allocation; true when it is to fail (errno is then ENOMEM). */
static bool should_fail(void)
{
    unsigned long n = atomic_fetch_add(&g_calls, 1) + 1;
    bool fail = false;

    if (g_plan.at)
        fail = n == g_plan.at || (g_plan.after && n > g_plan.at);
    else if (g_plan.p > 0 && n > g_plan.from)
        fail = rng_next() < g_plan.p;
    if (!fail)
        return false;
    unsigned long none = 0;
    atomic_compare_exchange_strong(&g_first, &none, n);
    atomic_fetch_add(&g_failed, 1);
    if (g_plan.stack && __sanitizer_print_stack_trace) {
        fprintf(stderr, "kd_alloc_fail: failing allocation %lu\n", n);
        __sanitizer_print_stack_trace();
        fprintf(stderr, "kd_alloc_fail: end of stack\n");
    }
    errno = ENOMEM;
    return true;
}

void *kd_af_malloc(size_t size)
{
    return should_fail() ? NULL : malloc(size);
}

void *kd_af_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : calloc(n, size);
}

void *kd_af_realloc(void *ptr, size_t size)
{
    return should_fail() ? NULL : realloc(ptr, size);
}

char *kd_af_strdup(const char *s)
{
    return should_fail() ? NULL : strdup(s);
}

char *kd_af_strndup(const char *s, size_t n)
{
    return should_fail() ? NULL : strndup(s, n);
}

int kd_af_vasprintf(char **ret, const char *fmt, va_list ap)
{
    return should_fail() ? -1 : vasprintf(ret, fmt, ap);
}

int kd_af_asprintf(char **ret, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = kd_af_vasprintf(ret, fmt, ap);
    va_end(ap);
    return r;
}

FILE *kd_af_open_memstream(char **ret_buf, size_t *ret_len)
{
    return should_fail() ? NULL : open_memstream(ret_buf, ret_len);
}
