/* SPDX-License-Identifier: Apache-2.0 */
/*
 * LD_PRELOAD shim for test_send_blocked.py: every other writev() of 32 KiB or more fails with
 * EAGAIN, as if the socket were full at one attempt and drained by the next (a server
 * preempted between the two). Each refusal is counted on stderr ("writev_eagain: refused N").
 */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* Exported: the shim's interface is the symbol it replaces. */
ssize_t writev(int fd, const struct iovec *iov, int iovcnt);

static unsigned long big, refused;

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    size_t total = 0;

    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    if (total >= 32768 && big++ % 2 == 0) {
        fprintf(stderr, "writev_eagain: refused %lu\n", ++refused);
        errno = EAGAIN;
        return -1;
    }
    return syscall(SYS_writev, fd, iov, iovcnt);
}
