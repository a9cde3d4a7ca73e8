/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small string-keyed hash map: open addressing, linear probing, backward-shift deletion (no
 * tombstones). Keys and values are borrowed: the caller keeps each key alive while it is in the
 * map (typically the key lives inside the value).
 */
#ifndef KD_HASHMAP_H
#define KD_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kd_hashmap_slot {
    const char *key; /* NULL: empty */
    uint64_t hash;
    void *value;
};

struct kd_hashmap {
    struct kd_hashmap_slot *slots;
    size_t capacity; /* 0 or a power of two */
    size_t len;
};

#define KD_HASHMAP_INIT                                                                            \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void kd_hashmap_init(struct kd_hashmap *map);
/* Frees the table, not the keys or values. */
void kd_hashmap_fini(struct kd_hashmap *map);

void *kd_hashmap_get(const struct kd_hashmap *map, const char *key);

/* Insert; -EEXIST if `key` is present (map unchanged), -ENOMEM. */
int kd_hashmap_put(struct kd_hashmap *map, const char *key, void *value);

/* Remove and return the value, or NULL if absent. */
void *kd_hashmap_remove(struct kd_hashmap *map, const char *key);

/*
 * Iterate: start with *pos = 0; returns false when done. The map must not be modified while
 * iterating, except that removing the entry just returned is fine if the caller then restarts
 * from *pos = 0 (backward shift may move later entries before the cursor).
 */
bool kd_hashmap_next(const struct kd_hashmap *map, size_t *pos, const char **ret_key,
                     void **ret_value);

/* FNV-1a, 64 bit. */
uint64_t kd_hashmap_hash(const char *key);

#endif /* KD_HASHMAP_H */
