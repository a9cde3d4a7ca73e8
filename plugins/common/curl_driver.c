/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl's multi-socket API on the host's timers and fd watches (see curl_driver.h). */
#include "curl_driver.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

struct transfer {
    CURL *easy;
    kd_curl_done_fn *done;
    void *arg;
    struct transfer *prev, *next;
};

struct sock {
    struct kd_curl *curl;
    struct kd_watch *watch;
    struct sock *prev, *next;
};

struct kd_curl {
    const struct kd_host *host;
    const struct kd_instance *inst;
    CURLM *multi;
    struct kd_timer *timer; /* curl's one timeout */
    struct transfer *transfers;
    struct sock *socks; /* every fd curl asked us to watch */
    size_t n_running;
    int depth;         /* drive() nesting: destroy() from inside `done` is deferred */
    bool is_destroyed; /* destroy() was called; free once depth is back to 0 */
};

static void unlink_transfer(struct kd_curl *c, struct transfer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        c->transfers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    c->n_running--;
}

static struct transfer *transfer_of(CURL *easy)
{
    char *priv = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    return (struct transfer *)(void *)priv;
}

static void sock_free(struct kd_curl *c, struct sock *s)
{
    c->host->watch_free(s->watch);
    if (s->prev)
        s->prev->next = s->next;
    else
        c->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s);
}

static void driver_free(struct kd_curl *c)
{
    /* Cleanup may still report sockets through on_curl_socket, so c lives until the end. */
    curl_multi_cleanup(c->multi);
    while (c->socks)
        sock_free(c, c->socks);
    c->host->timer_free(c->timer);
    free(c);
    curl_global_cleanup();
}

/* Delivers every finished transfer; `done` may add, remove or destroy meanwhile. */
static void complete_finished(struct kd_curl *c)
{
    CURLMsg *msg;
    int left;

    while (!c->is_destroyed && (msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result; /* msg dies with the handle's removal */
        struct transfer *t = transfer_of(easy);
        curl_multi_remove_handle(c->multi, easy);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        unlink_transfer(c, t);
        kd_curl_done_fn *done = t->done;
        void *arg = t->arg;
        free(t);
        done(easy, result, arg);
    }
}

/* Every entry into curl from the loop comes through here, then completions are delivered. */
static void drive(struct kd_curl *c, curl_socket_t fd, int ev_bitmask)
{
    int running;

    c->depth++;
    curl_multi_socket_action(c->multi, fd, ev_bitmask, &running);
    complete_finished(c);
    c->depth--;
    if (c->depth == 0 && c->is_destroyed)
        driver_free(c);
}

static void on_watch(int fd, uint32_t events, void *arg)
{
    struct sock *s = arg;
    int flags = ((events & KD_IO_READ) ? CURL_CSELECT_IN : 0) |
                ((events & KD_IO_WRITE) ? CURL_CSELECT_OUT : 0);

    drive(s->curl, fd, flags); /* may free s */
}

static void on_timer(void *arg)
{
    drive(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_SOCKETFUNCTION: watch `fd` for what curl wants, or stop watching it. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *arg, void *socketp)
{
    struct kd_curl *c = arg;
    struct sock *s = socketp;
    uint32_t events =
        ((what & CURL_POLL_IN) ? KD_IO_READ : 0u) | ((what & CURL_POLL_OUT) ? KD_IO_WRITE : 0u);

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(c->multi, fd, NULL);
            sock_free(c, s);
        }
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -1;
        s->curl = c;
        if (c->host->watch_create(c->inst, fd, on_watch, s, &s->watch) < 0) {
            free(s);
            return -1;
        }
        s->next = c->socks;
        if (c->socks)
            c->socks->prev = s;
        c->socks = s;
        curl_multi_assign(c->multi, fd, s);
    }
    return c->host->watch_set(s->watch, events) == 0 ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: curl never wants to be called back from inside itself, so even a
 * 0 ms timeout goes through the loop. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *arg)
{
    struct kd_curl *c = arg;

    (void)multi;
    if (timeout_ms < 0) {
        c->host->timer_stop(c->timer);
        return 0;
    }
    return c->host->timer_start(c->timer, timeout_ms, 0) == 0 ? 0 : -1;
}

int kd_curl_create(const struct kd_host *host, const struct kd_instance *inst,
                   const struct kd_curl_options *options, struct kd_curl **ret_curl, char *err,
                   size_t err_len)
{
    long cap = options ? options->max_connections : 0;
    int rc;

    struct kd_curl *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    c->host = host;
    c->inst = inst;
    rc = host->timer_create(inst, on_timer, c, &c->timer);
    if (rc < 0) {
        snprintf(err, err_len, "%s",
                 rc == -ENOSYS ? "the host lends no event loop" : "out of memory for a timer");
        free(c);
        return rc;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, err_len, "libcurl failed to initialise");
        host->timer_free(c->timer);
        free(c);
        return -EIO;
    }
    c->multi = curl_multi_init();
    if (!c->multi || curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) ||
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) ||
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) ||
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) ||
        (cap > 0 && (curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, cap) ||
                     curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, cap) ||
                     curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, cap)))) {
        snprintf(err, err_len, "cannot set up a libcurl multi handle");
        driver_free(c);
        return -EIO;
    }
    *ret_curl = c;
    return 0;
}

int kd_curl_add(struct kd_curl *curl, CURL *easy, kd_curl_done_fn *done, void *arg)
{
    if (!easy || !done || transfer_of(easy))
        return -EINVAL;
    struct transfer *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->easy = easy;
    t->done = done;
    t->arg = arg;
    if (curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)t) != CURLE_OK) {
        free(t);
        return -EIO;
    }
    CURLMcode mc = curl_multi_add_handle(curl->multi, easy);
    if (mc != CURLM_OK) {
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(t);
        return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
    }
    t->next = curl->transfers;
    if (curl->transfers)
        curl->transfers->prev = t;
    curl->transfers = t;
    curl->n_running++;
    return 0;
}

void kd_curl_remove(struct kd_curl *curl, CURL *easy)
{
    struct transfer *t = easy ? transfer_of(easy) : NULL;

    if (!t)
        return;
    curl_multi_remove_handle(curl->multi, easy);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
    unlink_transfer(curl, t);
    free(t);
}

size_t kd_curl_running(const struct kd_curl *curl)
{
    return curl->n_running;
}

void kd_curl_destroy(struct kd_curl *curl)
{
    if (!curl || curl->is_destroyed)
        return;
    while (curl->transfers)
        kd_curl_remove(curl, curl->transfers->easy);
    curl->is_destroyed = true;
    if (curl->depth == 0)
        driver_free(curl);
}
