/* SPDX-License-Identifier: Apache-2.0 */
/* curl_slice.c - see curl_slice.h. */
#include "curl_slice.h"

void kd_curl_slice_init(struct kd_curl_slice *slice, const struct kd_host *host,
                        const struct kd_instance *inst, struct kd_curl *curl, CURL *easy,
                        size_t cap)
{
    *slice =
        (struct kd_curl_slice){.host = host, .inst = inst, .curl = curl, .easy = easy, .cap = cap};
}

/* The next loop turn: libcurl hands the held piece back from inside
 * curl_easy_pause. */
static void on_resume(void *arg)
{
    struct kd_curl_slice *slice = arg;

    slice->used = 0;
    /* may end the transfer and free `slice`: a refused piece finishes it */
    kd_curl_resume(slice->curl, slice->easy);
}

/* Wake on the next loop turn; false when the host lends no timer (then read on,
 * as before the slices). */
static bool arm(struct kd_curl_slice *slice)
{
    const struct kd_host *host = slice->host;

    if (!slice->resume && host->timer_create(slice->inst, on_resume, slice, &slice->resume) < 0)
        return false;
    return host->timer_start(slice->resume, 0, 0) == 0;
}

bool kd_curl_slice_pause(struct kd_curl_slice *slice, size_t n)
{
    if (slice->used >= slice->cap && arm(slice)) {
        slice->pauses++;
        return true;
    }
    slice->used += n;
    return false;
}

void kd_curl_slice_fini(struct kd_curl_slice *slice)
{
    if (slice->host)
        slice->host->timer_free(slice->resume);
    slice->resume = NULL;
}
