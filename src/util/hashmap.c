/* SPDX-License-Identifier: Apache-2.0 */
/* String-keyed open-addressing hash map (see hashmap.h). Load factor kept at or below 7/8: the
 * forecast cache holds 100,000 workloads in it, and a hit compares stored hashes before any
 * strcmp, so the longer probe runs of a fuller table cost a few loads, while the table at 1/2
 * would take twice the memory (24 bytes a slot). */
#include "util/hashmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KD_HASHMAP_MIN_CAPACITY 16u

uint64_t kd_hashmap_hash(const char *key)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h;
}

void kd_hashmap_init(struct kd_hashmap *map)
{
    map->slots = NULL;
    map->capacity = 0;
    map->len = 0;
}

void kd_hashmap_fini(struct kd_hashmap *map)
{
    free(map->slots);
    kd_hashmap_init(map);
}

static size_t find_slot(const struct kd_hashmap *map, const char *key, uint64_t hash)
{
    size_t mask = map->capacity - 1;
    size_t i = (size_t)hash & mask;

    while (map->slots[i].key) {
        if (map->slots[i].hash == hash && strcmp(map->slots[i].key, key) == 0)
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

void *kd_hashmap_get(const struct kd_hashmap *map, const char *key)
{
    if (map->len == 0)
        return NULL;
    size_t i = find_slot(map, key, kd_hashmap_hash(key));
    return map->slots[i].key ? map->slots[i].value : NULL;
}

static int grow(struct kd_hashmap *map)
{
    size_t capacity = map->capacity ? map->capacity * 2 : KD_HASHMAP_MIN_CAPACITY;
    if (capacity < map->capacity || capacity > SIZE_MAX / sizeof(struct kd_hashmap_slot))
        return -ENOMEM;
    struct kd_hashmap_slot *slots = calloc(capacity, sizeof(*slots));
    if (!slots)
        return -ENOMEM;

    struct kd_hashmap old = *map;
    map->slots = slots;
    map->capacity = capacity;
    for (size_t i = 0; i < old.capacity; i++) {
        if (!old.slots[i].key)
            continue;
        size_t j = find_slot(map, old.slots[i].key, old.slots[i].hash);
        map->slots[j] = old.slots[i];
    }
    free(old.slots);
    return 0;
}

int kd_hashmap_put(struct kd_hashmap *map, const char *key, void *value)
{
    uint64_t hash = kd_hashmap_hash(key);

    if (map->len > 0 && map->slots[find_slot(map, key, hash)].key)
        return -EEXIST;
    if ((map->len + 1) * 8 > map->capacity * 7) {
        int r = grow(map);
        if (r < 0)
            return r;
    }
    size_t i = find_slot(map, key, hash);
    map->slots[i] = (struct kd_hashmap_slot){.key = key, .hash = hash, .value = value};
    map->len++;
    return 0;
}

void *kd_hashmap_remove(struct kd_hashmap *map, const char *key)
{
    if (map->len == 0)
        return NULL;
    size_t mask = map->capacity - 1;
    size_t i = find_slot(map, key, kd_hashmap_hash(key));
    if (!map->slots[i].key)
        return NULL;
    void *value = map->slots[i].value;

    /* Backward shift: pull later members of the probe run into the hole so lookups never
     * stop early at it. */
    size_t hole = i;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!map->slots[j].key)
            break;
        size_t home = (size_t)map->slots[j].hash & mask;
        /* Move j into the hole unless its home lies cyclically in (hole, j]. */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (stays)
            continue;
        map->slots[hole] = map->slots[j];
        hole = j;
    }
    map->slots[hole] = (struct kd_hashmap_slot){0};
    map->len--;
    return value;
}

bool kd_hashmap_next(const struct kd_hashmap *map, size_t *pos, const char **ret_key,
                     void **ret_value)
{
    for (size_t i = *pos; i < map->capacity; i++) {
        if (!map->slots[i].key)
            continue;
        *pos = i + 1;
        if (ret_key)
            *ret_key = map->slots[i].key;
        if (ret_value)
            *ret_value = map->slots[i].value;
        return true;
    }
    *pos = map->capacity;
    return false;
}
