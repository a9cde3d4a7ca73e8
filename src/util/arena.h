/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util/arena.c: a bump allocator over a caller's buffer (typically on the stack) for
 * allocations that all end together, such as one request's unpacked protobuf. Blocks that do
 * not fit go to malloc and are freed by kd_arena_fini; nothing is freed one by one.
 */
#ifndef KD_ARENA_H
#define KD_ARENA_H

#include <stddef.h>

struct kd_arena_spill;

struct kd_arena {
    unsigned char *buf;
    size_t cap, used;
    struct kd_arena_spill *spill; /* blocks that did not fit, malloc'd */
};

/* `buf` is borrowed for the arena's lifetime; 16-byte alignment is kept inside it. */
void kd_arena_init(struct kd_arena *arena, void *buf, size_t cap);

/* 16-byte aligned; NULL when out of memory. */
void *kd_arena_alloc(struct kd_arena *arena, size_t size);

/* Free the spilled blocks; the arena is empty afterwards (and may be used again). */
void kd_arena_fini(struct kd_arena *arena);

#endif /* KD_ARENA_H */
