/* SPDX-License-Identifier: Apache-2.0 */
/*
 * curl_slice.h - at most `cap` body bytes per loop turn and transfer, for an
 * HTTP source on the curl driver (source-http, the Prometheus source). libcurl
 * reads while the socket is readable (up to 100 reads of 16 KiB in one socket
 * action), so without a cap one turn could hand over 1.6 MB while cached
 * answers wait. Past the slice the write callback returns CURL_WRITEFUNC_PAUSE
 * and a host timer of no delay resumes the transfer (kd_curl_resume()) on the
 * next loop turn, where libcurl hands the held piece back.
 */
#ifndef KD_CURL_SLICE_H
#define KD_CURL_SLICE_H

#include <stdbool.h>
#include <stddef.h>

#include "curl_driver.h"

struct kd_curl_slice {
    const struct kd_host *host;
    const struct kd_instance *inst;
    struct kd_curl *curl;
    CURL *easy;
    size_t cap;
    size_t used;             /* body bytes taken in this loop turn */
    unsigned pauses;         /* times the transfer waited for the next turn */
    struct kd_timer *resume; /* created at the first pause */
};

/* Set up `slice` for `easy`, run by `curl`. Allocates nothing. */
void kd_curl_slice_init(struct kd_curl_slice *slice, const struct kd_host *host,
                        const struct kd_instance *inst, struct kd_curl *curl, CURL *easy,
                        size_t cap);

/*
 * From the write callback, before it takes `n` bytes: true when this turn's
 * slice is used up and the transfer now waits for the next turn (return
 * CURL_WRITEFUNC_PAUSE: libcurl keeps the piece and hands it back on resume,
 * which may end the transfer, `done` and all); false when the `n` bytes are
 * counted against the slice and are to be taken. Without a timer (the host
 * refused one) it never pauses.
 */
bool kd_curl_slice_pause(struct kd_curl_slice *slice, size_t n);

/* Free the resume timer. Call it once the transfer has left the driver (done,
 * or removed), before what holds `slice` goes; kd_curl_slice_init() may follow.
 */
void kd_curl_slice_fini(struct kd_curl_slice *slice);

#endif /* KD_CURL_SLICE_H */
