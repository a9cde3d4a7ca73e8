/* SPDX-License-Identifier: Apache-2.0 */
/* Size-class free lists (see pool.h). Each block carries a 16-byte header with its class (or
 * its size, for blocks too big for a class), so free and realloc need no size from the
 * caller. */
#include "util/pool.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define ON_VALGRIND() RUNNING_ON_VALGRIND
#else
#define ON_VALGRIND() 0
#endif

/* Under sanitizers always; under memcheck (not callgrind, whose instruction counts should see
 * the pool), which replaces malloc through its preload library. */
static bool is_passthrough(void)
{
#ifdef KD_POOL_PASSTHROUGH
    return true;
#else
    const char *preload = getenv("LD_PRELOAD");
    return ON_VALGRIND() && preload && strstr(preload, "vgpreload_memcheck");
#endif
}

/* Classes of 32 bytes, then two per power of two, 1.5 x 2^k and 2^(k+1) (48, 64, 96, 128, ...,
 * 6144, 8192): a block wastes at most a third of itself instead of half. nghttp2's session
 * (2,928 bytes) is one per connection and sat in 4096 before: 1 KB of every idle connection. */
#define MIN_SHIFT 5                                 /* 32 bytes */
#define MAX_SHIFT 13                                /* 8192 bytes */
#define N_CLASSES (1 + 2 * (MAX_SHIFT - MIN_SHIFT)) /* 17 */
#define BIG ((size_t)-1)

struct header {
    size_t cls;  /* class index, or BIG */
    size_t size; /* usable bytes */
};

struct free_block {
    struct free_block *next;
};

struct kd_pool {
    struct free_block *free[N_CLASSES];
    size_t idle_bytes;
    size_t cache_limit;
    bool passthrough;
};

_Static_assert(sizeof(struct header) == 16, "headers keep 16-byte alignment");
_Static_assert(((size_t)1 << MAX_SHIFT) == KD_POOL_MAX_CLASS, "classes");

int kd_pool_create(size_t cache_limit, struct kd_pool **ret_pool)
{
    struct kd_pool *pool = calloc(1, sizeof(*pool));
    if (!pool)
        return -ENOMEM;
    pool->cache_limit = cache_limit;
    pool->passthrough = is_passthrough();
    *ret_pool = pool;
    return 0;
}

void kd_pool_destroy(struct kd_pool *pool)
{
    if (!pool)
        return;
    for (size_t c = 0; c < N_CLASSES; c++) {
        while (pool->free[c]) {
            struct free_block *b = pool->free[c];
            pool->free[c] = b->next;
            free((struct header *)(void *)b - 1);
        }
    }
    free(pool);
}

/* The smallest class that holds `size` (<= KD_POOL_MAX_CLASS): with 2^k < size <= 2^(k+1),
 * class 2(k - MIN_SHIFT) + 1 holds 1.5 x 2^k bytes and the next one 2^(k+1). */
static size_t class_of(size_t size)
{
    if (size <= ((size_t)1 << MIN_SHIFT))
        return 0;
    size_t k = (size_t)(63 - __builtin_clzll((unsigned long long)size - 1));
    size_t half = ((size_t)3 << k) >> 1;
    return 2 * (k - MIN_SHIFT) + (size <= half ? 1 : 2);
}

/* The bytes each class holds (all multiples of 16). */
static const uint16_t class_size[N_CLASSES] = {32,  48,   64,   96,   128,  192,  256,  384, 512,
                                               768, 1024, 1536, 2048, 3072, 4096, 6144, 8192};

void *kd_pool_alloc(struct kd_pool *pool, size_t size)
{
    struct header *h;

    if (size > KD_POOL_MAX_CLASS || pool->passthrough) {
        if (size > SIZE_MAX - sizeof(*h))
            return NULL;
        h = malloc(sizeof(*h) + size);
        if (!h)
            return NULL;
        *h = (struct header){.cls = BIG, .size = size};
        return h + 1;
    }
    size_t c = class_of(size);
    size_t usable = class_size[c];
    if (pool->free[c]) {
        struct free_block *b = pool->free[c];
        pool->free[c] = b->next;
        pool->idle_bytes -= usable;
        return b;
    }
    h = malloc(sizeof(*h) + usable);
    if (!h)
        return NULL;
    *h = (struct header){.cls = c, .size = usable};
    return h + 1;
}

void *kd_pool_calloc(struct kd_pool *pool, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = kd_pool_alloc(pool, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void kd_pool_free(struct kd_pool *pool, void *ptr)
{
    if (!ptr)
        return;
    struct header *h = (struct header *)ptr - 1;
    if (h->cls == BIG || pool->idle_bytes + h->size > pool->cache_limit) {
        free(h);
        return;
    }
    struct free_block *b = ptr;
    b->next = pool->free[h->cls];
    pool->free[h->cls] = b;
    pool->idle_bytes += h->size;
}

void *kd_pool_realloc(struct kd_pool *pool, void *ptr, size_t size)
{
    if (!ptr)
        return kd_pool_alloc(pool, size);
    struct header *h = (struct header *)ptr - 1;
    if (size <= h->size && (h->cls != BIG || size > KD_POOL_MAX_CLASS))
        return ptr;
    void *p = kd_pool_alloc(pool, size);
    if (!p)
        return NULL;
    memcpy(p, ptr, h->size < size ? h->size : size);
    kd_pool_free(pool, ptr);
    return p;
}

bool kd_pool_passthrough(const struct kd_pool *pool)
{
    return pool->passthrough;
}

size_t kd_pool_idle_bytes(const struct kd_pool *pool)
{
    return pool->idle_bytes;
}
