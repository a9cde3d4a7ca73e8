/* SPDX-License-Identifier: Apache-2.0 */
/*
 * grpc/grpc_router.c: the route table, "/pkg.Service/Method" -> struct kd_grpc_method, and the
 * list of known services. Pure: no I/O, no libevent; the server owns one.
 */
#ifndef KD_GRPC_ROUTER_H
#define KD_GRPC_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "grpc/grpc_server.h"

struct kd_grpc_route {
    const struct kd_grpc_method *method; /* borrowed from the registered table */
    size_t path_len;
    size_t service_len; /* "/svc/M": service is path[1 .. 1 + service_len) */
};

struct kd_grpc_router {
    struct kd_grpc_route *routes;
    size_t n_routes, routes_cap;
    char **services; /* owned copies, in registration order */
    size_t n_services, services_cap;
};

void kd_grpc_router_init(struct kd_grpc_router *router);
void kd_grpc_router_fini(struct kd_grpc_router *router);

/* Add `n` methods (the table is borrowed). -EINVAL on a path that is not "/S/M" or a NULL
 * on_message, -EEXIST on a duplicate path (also within `methods`), -ENOMEM. On -EINVAL and
 * -EEXIST nothing was added. */
int kd_grpc_router_add(struct kd_grpc_router *router, const struct kd_grpc_method *methods,
                       size_t n);

/* Point each path of `methods` (the table is borrowed) at its entry there, allocating
 * nothing. -ENOENT if a path is not routed: then nothing changed. */
int kd_grpc_router_replace(struct kd_grpc_router *router, const struct kd_grpc_method *methods,
                           size_t n);

/* Remove every method of `service` and the service itself. */
void kd_grpc_router_remove_service(struct kd_grpc_router *router, const char *service);

/* The method serving `path` (NUL-terminated), or NULL. */
const struct kd_grpc_method *kd_grpc_router_find(const struct kd_grpc_router *router,
                                                 const char *path);

/* The same for a path of `len` bytes (not NUL-terminated: a header value). */
const struct kd_grpc_method *kd_grpc_router_find_n(const struct kd_grpc_router *router,
                                                   const char *path, size_t len);

bool kd_grpc_router_has_service(const struct kd_grpc_router *router, const char *service,
                                size_t len);

/* Whether `method` belongs to `service` (len bytes, no slashes). */
bool kd_grpc_method_in_service(const struct kd_grpc_method *method, const char *service,
                               size_t len);

/*
 * grpc-go's words for a path nothing serves (UNIMPLEMENTED): "unknown method M for service S",
 * "unknown service S" or "malformed method name: \"P\"". The path splits at its last '/'.
 */
void kd_grpc_router_explain(const struct kd_grpc_router *router, const char *path, char *buf,
                            size_t size);

#endif /* KD_GRPC_ROUTER_H */
