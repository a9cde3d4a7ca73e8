/* SPDX-License-Identifier: Apache-2.0 */
/*
 * LD_PRELOAD shim for test_alloc_count.py: counts every malloc, calloc, realloc and aligned
 * allocation of the process (ours, nghttp2's, libevent's, libc's own: glibc routes its
 * internal calls through the interposed symbols) and, on SIGUSR2, writes "<seq> <count>\n"
 * to $KD_ALLOC_COUNT_FILE, so a test can diff the count around a batch of calls. glibc's
 * __libc_* entry points do the work, so nothing here allocates or recurses.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);

/* Exported: the shim's own interface is the symbols it replaces. */
void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void *memalign(size_t align, size_t size);
void *aligned_alloc(size_t align, size_t size);
int posix_memalign(void **ret, size_t align, size_t size);

static atomic_ulong count, seq;
static int out_fd = -1;

void *malloc(size_t size)
{
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return __libc_realloc(p, size);
}

void *memalign(size_t align, size_t size)
{
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
    return memalign(align, size);
}

int posix_memalign(void **ret, size_t align, size_t size)
{
    void *p = memalign(align, size);

    if (!p)
        return 12; /* ENOMEM */
    *ret = p;
    return 0;
}

/* Writes v's decimal digits to end back to front; returns where they start. */
static char *digits(unsigned long v, char *end)
{
    do
        *--end = (char)('0' + v % 10);
    while (v /= 10);
    return end;
}

/* Async-signal-safe: two integers formatted by hand, one pwrite at offset 0. */
static void on_usr2(int sig)
{
    char buf[64], *end = buf + sizeof(buf), *p;
    unsigned long c = atomic_load(&count);

    (void)sig;
    *--end = '\n';
    p = digits(c, end);
    *--p = ' ';
    p = digits(atomic_fetch_add(&seq, 1) + 1, p);
    if (out_fd < 0 || ftruncate(out_fd, 0) != 0)
        return;
    ssize_t n = pwrite(out_fd, p, (size_t)(buf + sizeof(buf) - p), 0);
    (void)n; /* nothing to tell anyone from inside a signal handler */
}

__attribute__((constructor)) static void setup(void)
{
    const char *path = getenv("KD_ALLOC_COUNT_FILE");
    struct sigaction sa;

    if (!path)
        return;
    out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr2;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR2, &sa, NULL);
}
