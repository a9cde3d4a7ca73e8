/* SPDX-License-Identifier: Apache-2.0 */
/* The gRPC server (see grpc_server.h): the listener, the route table, reload and graceful
 * drain. Connections are grpc_conn.c, calls grpc_call.c, the route table grpc_router.c. */
#include "grpc/grpc_server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "grpc/grpc_call.h"
#include "grpc/grpc_conn.h"
#include "grpc/grpc_server_impl.h"
#include "grpc/tls.h"
#include "util/addr.h"
#include "util/pool.h"

/* Between the shutdown notice and the real GOAWAY: at least one round trip. */
#define GOAWAY_DELAY_MS 500
/* Idle bytes the pool keeps for reuse (calls, nghttp2's per-stream blocks). */
#define POOL_CACHE_LIMIT (1 << 20)

/* Accepting again after the fd table was full: first after this, doubling up to the max. */
#define ACCEPT_BACKOFF_MIN_MS 100
#define ACCEPT_BACKOFF_MAX_MS 2000
/* A paused listener is looked at again this often (a TLS handshake may have ended). */
#define ACCEPT_RECHECK_MS 250
/* File descriptors kept for everything that is not a gRPC connection. */
#define FD_HEADROOM 64

static bool is_valid_config(const struct kd_grpc_server_config *cfg)
{
    return cfg->max_message_size > 0 && cfg->max_message_size <= UINT32_MAX &&
           cfg->max_concurrent_streams > 0 && cfg->connection_buffer > 0 && cfg->total_buffer > 0 &&
           cfg->max_connections > 0 && cfg->handshake_timeout_ms > 0 && cfg->idle_timeout_ms > 0 &&
           cfg->write_timeout_ms > 0 && cfg->max_deadline_ms > 0 &&
           cfg->max_streams_without_deadline > 0 && cfg->total_streams_without_deadline > 0;
}

void kd_grpc_server_config_init(struct kd_grpc_server_config *cfg)
{
    cfg->max_message_size = 4 << 20;
    cfg->default_deadline_ms = 30000;
    cfg->max_concurrent_streams = 10000;
    cfg->connection_buffer = 8 << 20;
    cfg->total_buffer = 64 << 20;
    cfg->max_connections = 1000;
    cfg->handshake_timeout_ms = 10000;
    cfg->idle_timeout_ms = 5 * 60000;
    cfg->write_timeout_ms = 30000;
    cfg->max_deadline_ms = 3600000;
    cfg->max_streams_without_deadline = 1000;
    cfg->total_streams_without_deadline = 10000;
}

/* max_connections, but never so many that connections alone fill the fd table. */
static uint32_t clamp_connections(uint32_t wanted)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return wanted;
    rlim_t room = rl.rlim_cur > 2 * FD_HEADROOM ? rl.rlim_cur - FD_HEADROOM : rl.rlim_cur / 2;
    if (wanted <= room)
        return wanted;
    KD_GRPC_LOG_INFO("limits.max_connections %u lowered to %u: the fd limit is %llu", wanted,
                     (unsigned)room, (unsigned long long)rl.rlim_cur);
    return (uint32_t)room;
}

/* ---- Accepting ----------------------------------------------------------------------------- */

static size_t open_connections(const struct kd_grpc_server *server)
{
    return server->n_conns +
           (server->tls_acceptor ? kd_tls_acceptor_pending(server->tls_acceptor) : 0);
}

static void pause_accepting(struct kd_grpc_server *server, int64_t ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    if (server->listener && !server->is_accept_paused)
        evconnlistener_disable(server->listener);
    server->is_accept_paused = true;
    evtimer_add(&server->accept_ev, &tv);
}

void kd_grpc_server_accept_check(struct kd_grpc_server *server)
{
    if (!server->is_accept_paused || server->n_refused > 0)
        return; /* an fd episode resumes on its own timer */
    if (open_connections(server) >= server->max_connections)
        return;
    server->is_accept_paused = false;
    evtimer_del(&server->accept_ev);
    if (server->listener)
        evconnlistener_enable(server->listener);
}

static void on_accept_resume(evutil_socket_t fd, short events, void *arg)
{
    struct kd_grpc_server *server = arg;
    (void)fd;
    (void)events;
    if (server->n_refused > 0) {
        /* Try again; a full fd table shows as the next accept error and a longer pause. */
        server->is_accept_paused = false;
        if (server->listener)
            evconnlistener_enable(server->listener);
        return;
    }
    if (open_connections(server) >= server->max_connections)
        pause_accepting(server, ACCEPT_RECHECK_MS);
    else
        kd_grpc_server_accept_check(server);
}

/* The first connection after a full fd table: the episode is over. */
static void end_fd_episode(struct kd_grpc_server *server)
{
    KD_GRPC_LOG_WARN("accepting again after %zu connection(s) refused for want of a file "
                     "descriptor",
                     server->n_refused);
    server->n_refused = 0;
    server->accept_backoff_ms = 0;
    if (server->reserve_fd < 0)
        server->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_accept(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *addr,
                      int addrlen, void *arg)
{
    struct kd_grpc_server *server = arg;
    int one = 1;
    (void)listener;
    (void)addr;
    (void)addrlen;

    if (server->n_refused > 0)
        end_fd_episode(server);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (open_connections(server) + 1 >= server->max_connections) {
        if (open_connections(server) + 1 == server->max_connections)
            KD_GRPC_LOG_INFO("limits.max_connections (%u) reached: not accepting until one "
                             "closes",
                             server->max_connections);
        pause_accepting(server, ACCEPT_RECHECK_MS);
    }
    if (server->tls) {
        /* HTTP/2 starts in on_tls_ready, once the handshake selected h2. */
        if (kd_tls_acceptor_accept(server->tls_acceptor, server->tls, fd) != 0)
            KD_GRPC_LOG_WARN("out of memory accepting a connection");
        return;
    }
    struct bufferevent *bev =
        bufferevent_socket_new(server->base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!bev) {
        evutil_closesocket(fd);
        KD_GRPC_LOG_WARN("out of memory accepting a connection");
        return;
    }
    if (kd_grpc_conn_create(server, bev, true) != 0)
        KD_GRPC_LOG_WARN("out of memory accepting a connection");
}

static void on_tls_ready(struct bufferevent *bev, void *arg)
{
    if (kd_grpc_conn_create(arg, bev, false) != 0)
        KD_GRPC_LOG_WARN("out of memory accepting a connection");
}

int kd_grpc_server_set_tls(struct kd_grpc_server *server, struct kd_tls *tls)
{
    if (tls && !server->tls_acceptor &&
        kd_tls_acceptor_create(server->base, server->cfg.handshake_timeout_ms, on_tls_ready, server,
                               &server->tls_acceptor) != 0)
        return -ENOMEM;
    server->tls = tls;
    return 0;
}

/*
 * The fd table is full: the pending connection would stay readable and spin the loop. Give up
 * the reserve fd to accept it and close it at once (the client sees a clean close, not a hang),
 * then stop accepting for a while, longer each time until an accept succeeds. One log line per
 * episode, and one when it ends.
 */
static void refuse_for_want_of_fd(struct kd_grpc_server *server, int err)
{
    if (server->reserve_fd >= 0) {
        close(server->reserve_fd);
        server->reserve_fd = -1;
    }
    int fd = accept4(evconnlistener_get_fd(server->listener), NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        server->n_refused++;
    }
    server->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (server->accept_backoff_ms == 0) {
        KD_GRPC_LOG_WARN("accept: %s; refusing new connections until file descriptors free up",
                         strerror(err));
        if (fd < 0)
            server->n_refused++; /* the episode counts from here even if none was refused */
    }
    server->accept_backoff_ms = server->accept_backoff_ms == 0 ? ACCEPT_BACKOFF_MIN_MS
                                : server->accept_backoff_ms * 2 > ACCEPT_BACKOFF_MAX_MS
                                    ? ACCEPT_BACKOFF_MAX_MS
                                    : server->accept_backoff_ms * 2;
    pause_accepting(server, server->accept_backoff_ms);
}

static void on_accept_error(struct evconnlistener *listener, void *arg)
{
    struct kd_grpc_server *server = arg;
    int err = EVUTIL_SOCKET_ERROR();
    (void)listener;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
        refuse_for_want_of_fd(server, err);
    else
        KD_GRPC_LOG_DEBUG("accept: %s", strerror(err)); /* ECONNABORTED and the like */
}

/* Bind and listen on `addr`; the server's listener and port are not touched. */
static int bind_listener(struct kd_grpc_server *server, const struct addrinfo *addr,
                         struct evconnlistener **ret_listener, int *ret_port)
{
    struct evconnlistener *listener;

    errno = 0;
    listener =
        evconnlistener_new_bind(server->base, on_accept, server,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                511, addr->ai_addr, (int)addr->ai_addrlen);
    if (!listener)
        return errno ? -errno : -EADDRNOTAVAIL;
    evconnlistener_set_error_cb(listener, on_accept_error);
    *ret_listener = listener;
    *ret_port = kd_addr_local_port(evconnlistener_get_fd(listener));
    return 0;
}

int kd_grpc_server_listen(struct kd_grpc_server *server, const char *address)
{
    struct addrinfo *res;

    if (server->listener || server->is_draining)
        return -EBUSY;
    int rc = kd_addr_resolve(address, &res);
    if (rc < 0)
        return rc;
    rc = bind_listener(server, res, &server->listener, &server->port);
    freeaddrinfo(res);
    return rc;
}

int kd_grpc_server_relisten(struct kd_grpc_server *server, const char *address)
{
    struct evconnlistener *listener;
    struct addrinfo *res;
    int port;

    if (!server->listener || server->is_draining)
        return -EBUSY;
    int rc = kd_addr_resolve(address, &res);
    if (rc < 0)
        return rc;
    /* Another spelling of the address already served (":50051", "0.0.0.0:50051"). */
    if (kd_addr_is_bound_to(evconnlistener_get_fd(server->listener), res)) {
        freeaddrinfo(res);
        return 0;
    }
    rc = bind_listener(server, res, &listener, &port);
    freeaddrinfo(res);
    if (rc < 0)
        return rc;
    /* Connections are not tied to the listener that accepted them: they carry on. */
    evconnlistener_free(server->listener);
    server->listener = listener;
    server->port = port;
    if (server->is_accept_paused)
        evconnlistener_disable(listener);
    return 0;
}

int kd_grpc_server_port(const struct kd_grpc_server *server)
{
    return server->port;
}

/* ---- Server -------------------------------------------------------------------------------- */

/* nghttp2 allocates several blocks per stream: from the pool, not from malloc. */
static void *mem_malloc(size_t size, void *arg)
{
    return kd_pool_alloc(arg, size);
}

static void mem_free(void *ptr, void *arg)
{
    kd_pool_free(arg, ptr);
}

static void *mem_calloc(size_t n, size_t size, void *arg)
{
    return kd_pool_calloc(arg, n, size);
}

static void *mem_realloc(void *ptr, size_t size, void *arg)
{
    return kd_pool_realloc(arg, ptr, size);
}

static void on_goaway(evutil_socket_t fd, short events, void *arg);
static void on_drain_end(evutil_socket_t fd, short events, void *arg);

int kd_grpc_server_create(struct event_base *base, const struct kd_grpc_server_config *cfg,
                          struct kd_grpc_server **ret_server)
{
    if (!base || !cfg || !is_valid_config(cfg))
        return -EINVAL;

    struct kd_grpc_server *server = calloc(1, sizeof(*server));
    if (!server)
        goto fail_server;
    server->base = base;
    server->cfg = *cfg;
    server->port = -1;
    server->max_connections = clamp_connections(cfg->max_connections);
    server->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    kd_grpc_router_init(&server->router);
    kd_list_init(&server->conns);
    if (kd_pool_create(POOL_CACHE_LIMIT, &server->pool) != 0)
        goto fail_pool;
    server->mem = (nghttp2_mem){server->pool, mem_malloc, mem_free, mem_calloc, mem_realloc};
    if (kd_grpc_conn_callbacks_new(&server->callbacks) != 0)
        goto fail_callbacks;
    if (nghttp2_option_new(&server->options) != 0)
        goto fail_options;
    /* A server keeps closed streams for the priority tree, up to MAX_CONCURRENT_STREAMS per
     * connection (about 1 MB each at 10,000): we do not use priorities. */
    nghttp2_option_set_no_closed_streams(server->options, 1);
    evtimer_assign(&server->goaway_ev, base, on_goaway, server);
    evtimer_assign(&server->accept_ev, base, on_accept_resume, server);
    evtimer_assign(&server->drain_ev, base, on_drain_end, server);
    *ret_server = server;
    return 0;

fail_options:
    nghttp2_session_callbacks_del(server->callbacks);
fail_callbacks:
    kd_pool_destroy(server->pool);
fail_pool:
    if (server->reserve_fd >= 0)
        close(server->reserve_fd);
    free(server);
fail_server:
    return -ENOMEM;
}

int kd_grpc_server_register(struct kd_grpc_server *server, const struct kd_grpc_method *methods,
                            size_t n)
{
    return kd_grpc_router_add(&server->router, methods, n);
}

void kd_grpc_server_unregister_service(struct kd_grpc_server *server, const char *service)
{
    size_t len = strlen(service);
    struct kd_list *cn, *ctmp, *node, *tmp;

    kd_grpc_router_remove_service(&server->router, service);
    KD_LIST_FOR_EACH_SAFE(cn, ctmp, &server->conns) {
        struct kd_grpc_conn *conn = KD_CONTAINER_OF(cn, struct kd_grpc_conn, link);
        KD_LIST_FOR_EACH_SAFE(node, tmp, &conn->calls) {
            kd_grpc_call_forget_service(KD_CONTAINER_OF(node, struct kd_grpc_call, link), service,
                                        len);
        }
    }
}

int kd_grpc_server_replace(struct kd_grpc_server *server, const struct kd_grpc_method *methods,
                           size_t n)
{
    struct kd_list *cn, *ctmp, *node, *tmp;
    int rc = kd_grpc_router_replace(&server->router, methods, n);

    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const char *service = methods[i].path + 1;
        size_t len = (size_t)(strrchr(service, '/') - service);
        KD_LIST_FOR_EACH_SAFE(cn, ctmp, &server->conns) {
            struct kd_grpc_conn *conn = KD_CONTAINER_OF(cn, struct kd_grpc_conn, link);
            KD_LIST_FOR_EACH_SAFE(node, tmp, &conn->calls) {
                kd_grpc_call_forget_service(KD_CONTAINER_OF(node, struct kd_grpc_call, link),
                                            service, len);
            }
        }
    }
    return 0;
}

size_t kd_grpc_server_services(const struct kd_grpc_server *server, const char *const **ret_names)
{
    *ret_names = (const char *const *)server->router.services;
    return server->router.n_services;
}

size_t kd_grpc_server_connections(const struct kd_grpc_server *server)
{
    return server->n_conns;
}

int kd_grpc_server_reconfigure(struct kd_grpc_server *server,
                               const struct kd_grpc_server_config *cfg)
{
    if (!is_valid_config(cfg))
        return -EINVAL;
    server->cfg = *cfg;
    server->max_connections = clamp_connections(cfg->max_connections);
    if (server->tls_acceptor)
        kd_tls_acceptor_set_timeout(server->tls_acceptor, cfg->handshake_timeout_ms);
    kd_grpc_server_accept_check(server);
    return 0;
}

static void free_all_conns(struct kd_grpc_server *server)
{
    struct kd_list *node;
    while ((node = kd_list_first(&server->conns)))
        kd_grpc_conn_free(KD_CONTAINER_OF(node, struct kd_grpc_conn, link));
}

void kd_grpc_server_destroy(struct kd_grpc_server *server)
{
    if (!server)
        return;
    free_all_conns(server);
    kd_tls_acceptor_destroy(server->tls_acceptor);
    if (server->listener)
        evconnlistener_free(server->listener);
    evtimer_del(&server->goaway_ev);
    evtimer_del(&server->accept_ev);
    event_del(&server->drain_ev);
    if (server->reserve_fd >= 0)
        close(server->reserve_fd);
    kd_grpc_router_fini(&server->router);
    nghttp2_option_del(server->options);
    nghttp2_session_callbacks_del(server->callbacks);
    kd_pool_destroy(server->pool);
    free(server);
}

/* ---- Drain --------------------------------------------------------------------------------- */

static void on_goaway(evutil_socket_t fd, short events, void *arg)
{
    struct kd_grpc_server *server = arg;
    struct kd_list *node, *tmp;
    (void)fd;
    (void)events;
    KD_LIST_FOR_EACH_SAFE(node, tmp, &server->conns) {
        kd_grpc_conn_goaway(KD_CONTAINER_OF(node, struct kd_grpc_conn, link));
    }
}

static void on_drain_end(evutil_socket_t fd, short events, void *arg)
{
    struct kd_grpc_server *server = arg;
    (void)fd;
    (void)events;
    if (server->n_conns > 0)
        KD_GRPC_LOG_INFO("drain grace over, dropping %zu connection(s)", server->n_conns);
    free_all_conns(server);
    evtimer_del(&server->goaway_ev);
    event_del(&server->drain_ev);
    void (*done)(void *) = server->drain_done;
    server->drain_done = NULL;
    if (done)
        done(server->drain_arg);
}

static struct timeval ms_to_tv(int64_t ms)
{
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

void kd_grpc_server_drain(struct kd_grpc_server *server, int64_t grace_ms, void (*done)(void *arg),
                          void *arg)
{
    struct kd_list *node, *tmp;

    if (server->is_draining)
        return;
    server->is_draining = true;
    server->drain_done = done;
    server->drain_arg = arg;
    if (server->listener) {
        evconnlistener_free(server->listener);
        server->listener = NULL;
    }
    if (server->tls_acceptor)
        kd_tls_acceptor_drop_all(server->tls_acceptor); /* no HTTP/2 yet: nothing to finish */
    if (grace_ms < 0)
        grace_ms = 0;
    KD_LIST_FOR_EACH_SAFE(node, tmp, &server->conns) {
        kd_grpc_conn_shutdown_notice(KD_CONTAINER_OF(node, struct kd_grpc_conn, link));
    }
    struct timeval tv = ms_to_tv(grace_ms < GOAWAY_DELAY_MS ? grace_ms : GOAWAY_DELAY_MS);
    evtimer_add(&server->goaway_ev, &tv);
    if (server->n_conns == 0) {
        event_active(&server->drain_ev, EV_TIMEOUT, 0);
    } else {
        struct timeval gtv = ms_to_tv(grace_ms);
        evtimer_add(&server->drain_ev, &gtv);
    }
}
