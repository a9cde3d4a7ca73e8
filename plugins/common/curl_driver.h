/* SPDX-License-Identifier: Apache-2.0 */
/*
 * curl_driver.h - libcurl's multi-socket API on the host's I/O services, for any source that
 * speaks HTTP (source-http, the Prometheus source). Linked into plugins, never into the host;
 * it uses only struct kd_host (timer_* and watch_*), so a plugin built on it links libcurl and
 * nothing of libevent's.
 *
 * The driver owns one CURLM and the glue: one host timer for curl's timeout, one host watch per
 * socket curl asks about. A source builds each CURL easy handle itself (URL, headers, write
 * callback, timeouts), hands it over with kd_curl_add(), and hears once, from the loop, how it
 * ended. Connections are reused across transfers through the multi handle's cache, and capped
 * with max_connections (CURLMOPT_MAX_HOST_CONNECTIONS and _TOTAL_CONNECTIONS): at most that
 * many transfers are in libcurl at once, the rest wait in the driver's queue, in order, and
 * their CURLOPT_TIMEOUT starts only when they leave it (libcurl's own queue would count the
 * wait against it).
 *
 * Rules (they follow kedastral/plugin.h's):
 *   - Everything runs on the loop thread. The driver sets CURLOPT_PRIVATE of every easy
 *     handle it holds: do not set or read it yourself.
 *   - `done` runs from a host timer or watch callback, never from inside kd_curl_add(), and
 *     after the easy handle has left the multi: the caller owns it again and may clean it up,
 *     or reuse it, right there.
 *   - From inside `done` the caller may call kd_curl_add(), kd_curl_remove() (of other
 *     transfers) and kd_curl_destroy(): the driver finishes its own work first.
 *   - kd_curl_remove() and kd_curl_destroy() never call `done`.
 */
#ifndef KD_CURL_DRIVER_H
#define KD_CURL_DRIVER_H

#include <stddef.h>

#include <curl/curl.h>
#include <kedastral/plugin.h>

struct kd_curl;

struct kd_curl_options {
    /* Connections open at once, per host and in total, and transfers running at once;
     * transfers beyond wait in the driver's queue. 0: no cap (libcurl's default). */
    long max_connections;
};

/* A transfer ended: `result` is libcurl's (CURLE_OK, or why it failed). `easy` is the
 * caller's again. */
typedef void kd_curl_done_fn(CURL *easy, CURLcode result, void *arg);

/*
 * A driver for instance `inst`, on `host`'s loop. Calls curl_global_init() (once per driver,
 * undone by destroy). Returns 0 and *ret_curl; -ENOSYS when the host lends no loop (see
 * host->timer_create); -ENOMEM; -EIO when libcurl refuses to set up (the message in err).
 */
int kd_curl_create(const struct kd_host *host, const struct kd_instance *inst,
                   const struct kd_curl_options *options, struct kd_curl **ret_curl, char *err,
                   size_t err_len);

/*
 * Start `easy` (set up by the caller) and call done(easy, result, arg) exactly once when it
 * ends, unless it is removed first. Returns 0; -ENOMEM; -EINVAL when `easy` is already
 * running in this driver or `done` is NULL; -EIO when libcurl refuses the handle. On error
 * nothing was started and `done` will not be called.
 */
int kd_curl_add(struct kd_curl *curl, CURL *easy, kd_curl_done_fn *done, void *arg);

/* Stop `easy` without calling its `done`; the caller owns it again. Unknown handles are
 * ignored. */
void kd_curl_remove(struct kd_curl *curl, CURL *easy);

/*
 * Unpause `easy`, which its write callback paused (CURL_WRITEFUNC_PAUSE). libcurl hands the
 * held data to the write callback from inside this call; if the callback refuses it (returns
 * less than it was given), the transfer ends here: `done` runs, with libcurl's error, before
 * this returns, so the caller must not touch what `done` frees. Call it from a host timer or
 * watch callback only, never from inside a libcurl callback or `done`. Unknown or queued
 * handles are ignored.
 */
void kd_curl_resume(struct kd_curl *curl, CURL *easy);

/* Transfers running (started or queued). */
size_t kd_curl_running(const struct kd_curl *curl);

/* Remove every transfer (no `done` calls) and free the driver; NULL is a no-op. Allowed from
 * inside `done`: the memory goes when the driver's own callback returns. */
void kd_curl_destroy(struct kd_curl *curl);

#endif /* KD_CURL_DRIVER_H */
