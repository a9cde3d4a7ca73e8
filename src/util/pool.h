/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util/pool.c: a size-class free-list allocator for short-lived blocks that come and go with
 * every call (nghttp2's own allocations, calls, request and response bytes). Blocks up to
 * KD_POOL_MAX_CLASS bytes are recycled through one free list per class (32, 48, 64, 96, ...,
 * 6144, 8192 bytes: libevent's 8 KB output chains too), keeping
 * at most `cache_limit` bytes idle; bigger blocks go straight to malloc. Single-threaded.
 *
 * Under sanitizers (KD_POOL_PASSTHROUGH) and under valgrind's memcheck every block is a real
 * malloc and a real free, so their checks see each one.
 */
#ifndef KD_POOL_H
#define KD_POOL_H

#include <stdbool.h>
#include <stddef.h>

#define KD_POOL_MAX_CLASS 8192

struct kd_pool;

/* -ENOMEM. */
int kd_pool_create(size_t cache_limit, struct kd_pool **ret_pool);

/* Frees the idle blocks; every block must have been given back. NULL is a no-op. */
void kd_pool_destroy(struct kd_pool *pool);

/* malloc/calloc/realloc/free semantics (realloc(NULL) allocates, size 0 gives a block). */
void *kd_pool_alloc(struct kd_pool *pool, size_t size);
void *kd_pool_calloc(struct kd_pool *pool, size_t n, size_t size);
void *kd_pool_realloc(struct kd_pool *pool, void *ptr, size_t size);
void kd_pool_free(struct kd_pool *pool, void *ptr);

/* True when every block is a real malloc and free (sanitizers, memcheck). */
bool kd_pool_passthrough(const struct kd_pool *pool);

/* Bytes held idle in the free lists (for tests and metrics). */
size_t kd_pool_idle_bytes(const struct kd_pool *pool);

#endif /* KD_POOL_H */
