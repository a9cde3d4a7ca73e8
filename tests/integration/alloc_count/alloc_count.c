/* SPDX-License-Identifier: Apache-2.0 */
/*
 * LD_PRELOAD shim for test_alloc_count.py: counts every malloc, calloc, realloc and aligned
 * allocation of the process (ours, nghttp2's, libevent's, libc's own: glibc routes its
 * internal calls through the interposed symbols), the epoll_ctl and writev calls (libevent
 * arming and disarming EV_WRITE, and the writes), the readv calls and the ioctl(FIONREAD) ones
 * (libevent's evbuffer_read asks before each read), and on SIGUSR2 writes
 * "<seq> <allocations> <epoll_ctl> <writev> <readv> <fionread>\n" to $KD_ALLOC_COUNT_FILE, so a
 * test can diff the counts around a batch of calls. glibc's __libc_* entry points and syscall(2) do
 * the work, so nothing here allocates or recurses.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
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
int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
ssize_t writev(int fd, const struct iovec *iov, int iovcnt);
ssize_t readv(int fd, const struct iovec *iov, int iovcnt);

static atomic_ulong count, n_epoll_ctl, n_writev, n_readv, n_fionread, seq;
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

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
    atomic_fetch_add_explicit(&n_epoll_ctl, 1, memory_order_relaxed);
    return (int)syscall(SYS_epoll_ctl, epfd, op, fd, event);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    atomic_fetch_add_explicit(&n_writev, 1, memory_order_relaxed);
    return syscall(SYS_writev, fd, iov, iovcnt);
}

ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
    atomic_fetch_add_explicit(&n_readv, 1, memory_order_relaxed);
    return syscall(SYS_readv, fd, iov, iovcnt);
}

/* Every ioctl request passes; only FIONREAD is counted. Its one argument is a pointer. */
int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;

    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (request == FIONREAD)
        atomic_fetch_add_explicit(&n_fionread, 1, memory_order_relaxed);
    return (int)syscall(SYS_ioctl, fd, request, arg);
}

/* Writes v's decimal digits to end back to front; returns where they start. */
static char *digits(unsigned long v, char *end)
{
    do
        *--end = (char)('0' + v % 10);
    while (v /= 10);
    return end;
}

/* Async-signal-safe: six integers formatted by hand, one pwrite at offset 0. */
static void on_usr2(int sig)
{
    char buf[128], *end = buf + sizeof(buf), *p;

    (void)sig;
    *--end = '\n';
    p = digits(atomic_load(&n_fionread), end);
    *--p = ' ';
    p = digits(atomic_load(&n_readv), p);
    *--p = ' ';
    p = digits(atomic_load(&n_writev), p);
    *--p = ' ';
    p = digits(atomic_load(&n_epoll_ctl), p);
    *--p = ' ';
    p = digits(atomic_load(&count), p);
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
