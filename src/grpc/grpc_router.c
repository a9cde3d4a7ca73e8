/* SPDX-License-Identifier: Apache-2.0 */
/* The route table (see grpc_router.h). A handful of services: linear scans are enough. */
#include "grpc/grpc_router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/grpc_status.h"

void kd_grpc_router_init(struct kd_grpc_router *router)
{
    memset(router, 0, sizeof(*router));
}

void kd_grpc_router_fini(struct kd_grpc_router *router)
{
    for (size_t i = 0; i < router->n_services; i++)
        free(router->services[i]);
    free(router->services);
    free(router->routes);
    kd_grpc_router_init(router);
}

const struct kd_grpc_method *kd_grpc_router_find(const struct kd_grpc_router *router,
                                                 const char *path)
{
    return kd_grpc_router_find_n(router, path, strlen(path));
}

const struct kd_grpc_method *kd_grpc_router_find_n(const struct kd_grpc_router *router,
                                                   const char *path, size_t len)
{
    for (size_t i = 0; i < router->n_routes; i++) {
        const struct kd_grpc_route *r = &router->routes[i];
        if (r->path_len == len && memcmp(r->method->path, path, len) == 0)
            return r->method;
    }
    return NULL;
}

bool kd_grpc_router_has_service(const struct kd_grpc_router *router, const char *service,
                                size_t len)
{
    for (size_t i = 0; i < router->n_services; i++) {
        if (strlen(router->services[i]) == len && memcmp(router->services[i], service, len) == 0)
            return true;
    }
    return false;
}

bool kd_grpc_method_in_service(const struct kd_grpc_method *method, const char *service, size_t len)
{
    return strncmp(method->path + 1, service, len) == 0 && method->path[1 + len] == '/';
}

static int check_methods(const struct kd_grpc_router *router, const struct kd_grpc_method *methods,
                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *path = methods[i].path;
        const char *slash = path && path[0] == '/' ? strrchr(path + 1, '/') : NULL;
        if (!slash || slash == path + 1 || !slash[1] || !methods[i].on_message)
            return -EINVAL;
        if (kd_grpc_router_find(router, path))
            return -EEXIST;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(methods[j].path, path) == 0)
                return -EEXIST;
        }
    }
    return 0;
}

static int add_service(struct kd_grpc_router *router, const char *service, size_t len)
{
    if (kd_grpc_router_has_service(router, service, len))
        return 0;
    if (router->n_services == router->services_cap) {
        size_t cap = router->services_cap ? router->services_cap * 2 : 8;
        char **names = realloc(router->services, cap * sizeof(*names));
        if (!names)
            return -ENOMEM;
        router->services = names;
        router->services_cap = cap;
    }
    char *name = malloc(len + 1);
    if (!name)
        return -ENOMEM;
    memcpy(name, service, len);
    name[len] = '\0';
    router->services[router->n_services++] = name;
    return 0;
}

int kd_grpc_router_add(struct kd_grpc_router *router, const struct kd_grpc_method *methods,
                       size_t n)
{
    int rc = check_methods(router, methods, n);
    if (rc < 0)
        return rc;
    if (router->n_routes + n > router->routes_cap) {
        size_t cap = (router->n_routes + n) * 2;
        struct kd_grpc_route *routes = realloc(router->routes, cap * sizeof(*routes));
        if (!routes)
            return -ENOMEM;
        router->routes = routes;
        router->routes_cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        const char *service = methods[i].path + 1;
        size_t len = (size_t)(strrchr(service, '/') - service);
        if (add_service(router, service, len) != 0)
            return -ENOMEM;
        router->routes[router->n_routes].method = &methods[i];
        router->routes[router->n_routes].service_len = len;
        router->routes[router->n_routes].path_len = strlen(methods[i].path);
        router->n_routes++;
    }
    return 0;
}

int kd_grpc_router_replace(struct kd_grpc_router *router, const struct kd_grpc_method *methods,
                           size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!kd_grpc_router_find(router, methods[i].path))
            return -ENOENT;
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < router->n_routes; j++) {
            if (strcmp(router->routes[j].method->path, methods[i].path) == 0)
                router->routes[j].method = &methods[i];
        }
    }
    return 0;
}

void kd_grpc_router_remove_service(struct kd_grpc_router *router, const char *service)
{
    size_t len = strlen(service);
    size_t keep = 0;

    for (size_t i = 0; i < router->n_routes; i++) {
        const struct kd_grpc_route *r = &router->routes[i];
        if (r->service_len == len && memcmp(r->method->path + 1, service, len) == 0)
            continue;
        router->routes[keep++] = *r;
    }
    router->n_routes = keep;

    keep = 0;
    for (size_t i = 0; i < router->n_services; i++) {
        if (strcmp(router->services[i], service) == 0) {
            free(router->services[i]);
            continue;
        }
        router->services[keep++] = router->services[i];
    }
    router->n_services = keep;
}

void kd_grpc_router_explain(const struct kd_grpc_router *router, const char *path, char *buf,
                            size_t size)
{
    const char *sm = path[0] == '/' ? path + 1 : path;
    const char *slash = strrchr(sm, '/');

    if (!slash) {
        char q[512];
        kd_grpc_status_quote(path, q, sizeof(q));
        snprintf(buf, size, "malformed method name: %s", q);
        return;
    }
    int len = (int)(slash - sm);
    if (kd_grpc_router_has_service(router, sm, (size_t)len))
        snprintf(buf, size, "unknown method %s for service %.*s", slash + 1, len, sm);
    else
        snprintf(buf, size, "unknown service %.*s", len, sm);
}
