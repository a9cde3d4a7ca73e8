/* SPDX-License-Identifier: Apache-2.0 */
/* Bump allocation with a malloc spill list (see arena.h). */
#include "util/arena.h"

#include <stdint.h>
#include <stdlib.h>

#define ALIGN 16

struct kd_arena_spill {
    struct kd_arena_spill *next;
    size_t pad; /* keeps the block after the header 16-byte aligned */
};

void kd_arena_init(struct kd_arena *arena, void *buf, size_t cap)
{
    uintptr_t p = (uintptr_t)buf;
    size_t skip = (ALIGN - p % ALIGN) % ALIGN;

    arena->buf = (unsigned char *)buf + (skip < cap ? skip : cap);
    arena->cap = skip < cap ? cap - skip : 0;
    arena->used = 0;
    arena->spill = NULL;
}

void *kd_arena_alloc(struct kd_arena *arena, size_t size)
{
    size_t rounded = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);

    if (rounded >= size && rounded <= arena->cap - arena->used) {
        void *p = arena->buf + arena->used;
        arena->used += rounded;
        return p;
    }
    if (size > SIZE_MAX - sizeof(struct kd_arena_spill))
        return NULL;
    struct kd_arena_spill *s = malloc(sizeof(*s) + size);
    if (!s)
        return NULL;
    s->next = arena->spill;
    arena->spill = s;
    return s + 1;
}

void kd_arena_fini(struct kd_arena *arena)
{
    while (arena->spill) {
        struct kd_arena_spill *s = arena->spill;
        arena->spill = s->next;
        free(s);
    }
    arena->used = 0;
}
