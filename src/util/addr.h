/* SPDX-License-Identifier: Apache-2.0 */
/* util/addr.c: listen addresses ("host:port", "[v6]:port", ":port") for the gRPC and admin
 * servers, parsed one way for both, and the port a bound socket got. */
#ifndef KD_ADDR_H
#define KD_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct addrinfo;

/* Longest host part accepted (a DNS name is at most 253 bytes). */
#define KD_ADDR_HOST_MAX 255

/*
 * Split `address` into host and port. ":port" means every IPv4 interface ("0.0.0.0"); an IPv6
 * host is bracketed ("[::1]:50051"); the port is 0..65535, decimal digits only. `host` gets
 * the host part, NUL-terminated (size >= KD_ADDR_HOST_MAX + 1). Returns 0 or -EINVAL; on
 * failure `host` and `*ret_port` are unspecified and untouched respectively.
 */
int kd_addr_split(const char *address, char *host, size_t host_size, uint16_t *ret_port);

/* Split and resolve for bind(2) (AI_PASSIVE, numeric port). `*ret_res` is the caller's, to be
 * released with freeaddrinfo(). -EINVAL (syntax), -EADDRNOTAVAIL (host does not resolve) or
 * -errno. */
int kd_addr_resolve(const char *address, struct addrinfo **ret_res);

/* The local port socket `fd` is bound to, or -1. */
int kd_addr_local_port(int fd);

/* Whether socket `fd` is bound to exactly `addr` (same family, address and port). */
bool kd_addr_is_bound_to(int fd, const struct addrinfo *addr);

#endif /* KD_ADDR_H */
