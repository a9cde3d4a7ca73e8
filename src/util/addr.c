/* SPDX-License-Identifier: Apache-2.0 */
/* Listen address parsing and bound-socket facts (see addr.h). */
#include "util/addr.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static int parse_port(const char *s, uint16_t *ret_port)
{
    unsigned long port = 0;

    if (!*s)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        port = port * 10 + (unsigned long)(*s - '0');
        if (port > 65535)
            return -EINVAL;
    }
    *ret_port = (uint16_t)port;
    return 0;
}

int kd_addr_split(const char *address, char *host, size_t host_size, uint16_t *ret_port)
{
    const char *h = address;
    const char *colon;
    size_t hlen;

    if (address[0] == '[') {
        const char *end = strchr(address, ']');
        if (!end || end[1] != ':')
            return -EINVAL;
        h = address + 1;
        hlen = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strchr(address, ':');
        if (!colon || strchr(colon + 1, ':'))
            return -EINVAL;
        hlen = (size_t)(colon - address);
    }
    if (hlen >= host_size || hlen > KD_ADDR_HOST_MAX)
        return -EINVAL;
    if (parse_port(colon + 1, ret_port) != 0)
        return -EINVAL;
    if (hlen == 0) {
        snprintf(host, host_size, "0.0.0.0");
    } else {
        memcpy(host, h, hlen);
        host[hlen] = '\0';
    }
    return 0;
}

int kd_addr_resolve(const char *address, struct addrinfo **ret_res)
{
    char host[KD_ADDR_HOST_MAX + 1];
    char port[8];
    uint16_t p;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};

    int rc = kd_addr_split(address, host, sizeof(host), &p);
    if (rc < 0)
        return rc;
    snprintf(port, sizeof(port), "%u", (unsigned)p);
    rc = getaddrinfo(host, port, &hints, ret_res);
    if (rc != 0)
        return rc == EAI_SYSTEM && errno ? -errno : -EADDRNOTAVAIL;
    return 0;
}

int kd_addr_local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return -1;
}

bool kd_addr_is_bound_to(int fd, const struct addrinfo *addr)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return false;
    return len == addr->ai_addrlen && memcmp(&ss, addr->ai_addr, len) == 0;
}
