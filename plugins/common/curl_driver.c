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
    bool is_queued; /* waiting in the driver's queue, not in the multi yet */
    struct transfer *prev, *next;
};

/* Transfers in order of arrival. */
struct transfers {
    struct transfer *head, *tail;
    size_t n;
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
    struct kd_timer *timer; /* curl's one timeout, and a retry of the queue */
    long cap;               /* transfers in the multi at once; 0: no cap */
    struct transfers active, queued;
    struct sock *socks; /* every fd curl asked us to watch */
    int depth;          /* drive() nesting: destroy() from inside `done` is deferred */
    bool is_destroyed;  /* destroy() was called; free once depth is back to 0 */
};

static void transfers_push(struct transfers *l, struct transfer *t)
{
    t->prev = l->tail;
    t->next = NULL;
    if (l->tail)
        l->tail->next = t;
    else
        l->head = t;
    l->tail = t;
    l->n++;
}

static void transfers_unlink(struct transfers *l, struct transfer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        l->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        l->tail = t->prev;
    l->n--;
}

static void unlink_transfer(struct kd_curl *c, struct transfer *t)
{
    transfers_unlink(t->is_queued ? &c->queued : &c->active, t);
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

/*
 * Move queued transfers into the multi while there is room. Queued here rather than in
 * libcurl's own queue (CURLMOPT_MAX_HOST_CONNECTIONS alone) because libcurl runs a transfer's
 * CURLOPT_TIMEOUT from curl_multi_add_handle(): behind a slow server, transfers would time
 * out before they had a connection. Here each one's timeout starts when it does.
 * Returns how many could not be added (libcurl out of memory): they stay queued.
 */
static size_t start_queued(struct kd_curl *c)
{
    size_t stuck = 0;
    struct transfer *t = c->queued.head;

    while (t && (c->cap <= 0 || (long)c->active.n < c->cap)) {
        struct transfer *next = t->next;
        if (curl_multi_add_handle(c->multi, t->easy) != CURLM_OK) {
            stuck++;
            t = next;
            continue;
        }
        transfers_unlink(&c->queued, t);
        t->is_queued = false;
        transfers_push(&c->active, t);
        t = next;
    }
    return stuck;
}

/* From the loop only: a queued transfer libcurl keeps refusing, with nothing running that
 * would retry it, ends with CURLE_OUT_OF_MEMORY rather than waiting forever. */
static void fail_stuck(struct kd_curl *c)
{
    while (!c->is_destroyed && c->active.n == 0 && c->queued.n > 0 && start_queued(c) > 0) {
        struct transfer *t = c->queued.head;
        CURL *easy = t->easy;
        kd_curl_done_fn *done = t->done;
        void *arg = t->arg;
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        unlink_transfer(c, t);
        free(t);
        done(easy, CURLE_OUT_OF_MEMORY, arg);
    }
}

/* Every entry into curl from the loop comes through here, then completions are delivered. */
static void drive(struct kd_curl *c, curl_socket_t fd, int ev_bitmask)
{
    int running;

    c->depth++;
    curl_multi_socket_action(c->multi, fd, ev_bitmask, &running);
    complete_finished(c);
    if (!c->is_destroyed && c->queued.n > 0)
        start_queued(c); /* each added handle asks for a 0 ms timer: it starts from the loop */
    fail_stuck(c);
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
    c->cap = cap;
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
    /* Behind any already waiting (in order), also when a `done` adds one after its own
     * transfer left: the slot it freed is the queue's. */
    if (curl->cap > 0 && (curl->queued.n > 0 || (long)curl->active.n >= curl->cap)) {
        t->is_queued = true;
        transfers_push(&curl->queued, t);
        if (curl->depth == 0 && (long)curl->active.n < curl->cap && start_queued(curl) > 0)
            curl->host->timer_start(curl->timer, 0, 0);
        return 0;
    }
    CURLMcode mc = curl_multi_add_handle(curl->multi, easy);
    if (mc != CURLM_OK) {
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(t);
        return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
    }
    transfers_push(&curl->active, t);
    return 0;
}

void kd_curl_remove(struct kd_curl *curl, CURL *easy)
{
    struct transfer *t = easy ? transfer_of(easy) : NULL;

    if (!t)
        return;
    if (!t->is_queued)
        curl_multi_remove_handle(curl->multi, easy);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
    unlink_transfer(curl, t);
    free(t);
    /* A slot freed outside the loop's callbacks: the next queued transfer starts now, or at
     * the next drive() (a timer at 0 ms) when libcurl refuses it here. */
    if (!curl->is_destroyed && curl->queued.n > 0 && curl->depth == 0 && start_queued(curl) > 0)
        curl->host->timer_start(curl->timer, 0, 0);
}

void kd_curl_resume(struct kd_curl *curl, CURL *easy)
{
    struct transfer *t = easy ? transfer_of(easy) : NULL;

    if (!t || t->is_queued)
        return;
    curl->depth++;
    /* libcurl hands the held piece to the write callback from in here; when that refuses it,
     * libcurl returns the error without scheduling the handle again, so nothing would ever
     * finish the transfer: it ends here, as it would have at completion. */
    CURLcode rc = curl_easy_pause(easy, CURLPAUSE_CONT);
    if (rc != CURLE_OK && !curl->is_destroyed && transfer_of(easy) == t) {
        kd_curl_done_fn *done = t->done;
        void *arg = t->arg;
        curl_multi_remove_handle(curl->multi, easy);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        unlink_transfer(curl, t);
        free(t);
        done(easy, rc, arg);
    }
    if (!curl->is_destroyed && curl->queued.n > 0)
        start_queued(curl);
    curl->depth--;
    if (curl->depth == 0 && curl->is_destroyed)
        driver_free(curl);
}

size_t kd_curl_running(const struct kd_curl *curl)
{
    return curl->active.n + curl->queued.n;
}

void kd_curl_destroy(struct kd_curl *curl)
{
    if (!curl || curl->is_destroyed)
        return;
    curl->is_destroyed = true; /* no queued transfer starts while the rest go */
    while (curl->queued.head)
        kd_curl_remove(curl, curl->queued.head->easy);
    while (curl->active.head)
        kd_curl_remove(curl, curl->active.head->easy);
    if (curl->depth == 0)
        driver_free(curl);
}
