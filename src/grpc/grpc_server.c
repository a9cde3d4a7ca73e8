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
#include <sys/socket.h>

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

static bool is_valid_config(const struct kd_grpc_server_config *cfg)
{
    return cfg->max_message_size > 0 && cfg->max_message_size <= UINT32_MAX &&
           cfg->max_concurrent_streams > 0;
}

void kd_grpc_server_config_init(struct kd_grpc_server_config *cfg)
{
    cfg->max_message_size = 4 << 20;
    cfg->default_deadline_ms = 30000;
    cfg->max_concurrent_streams = 10000;
}

/* ---- Accepting ----------------------------------------------------------------------------- */

static void on_accept(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *addr,
                      int addrlen, void *arg)
{
    struct kd_grpc_server *server = arg;
    int one = 1;
    (void)listener;
    (void)addr;
    (void)addrlen;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
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
    if (kd_grpc_conn_create(server, bev) != 0)
        KD_GRPC_LOG_WARN("out of memory accepting a connection");
}

static void on_tls_ready(struct bufferevent *bev, void *arg)
{
    if (kd_grpc_conn_create(arg, bev) != 0)
        KD_GRPC_LOG_WARN("out of memory accepting a connection");
}

int kd_grpc_server_set_tls(struct kd_grpc_server *server, struct kd_tls *tls)
{
    if (tls && !server->tls_acceptor &&
        kd_tls_acceptor_create(server->base, on_tls_ready, server, &server->tls_acceptor) != 0)
        return -ENOMEM;
    server->tls = tls;
    return 0;
}

static void on_accept_error(struct evconnlistener *listener, void *arg)
{
    (void)listener;
    (void)arg;
    /* EMFILE and friends: the listener retries on the next readiness. */
    KD_GRPC_LOG_WARN("accept: %s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
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
    evtimer_assign(&server->drain_ev, base, on_drain_end, server);
    *ret_server = server;
    return 0;

fail_options:
    nghttp2_session_callbacks_del(server->callbacks);
fail_callbacks:
    kd_pool_destroy(server->pool);
fail_pool:
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
    event_del(&server->drain_ev);
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
