/* SPDX-License-Identifier: Apache-2.0 */
/* Interned settings for the cache's answers (see answer_store.h). */
#include "scaler/answer_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Field by field below: a field added to either struct must be added there too. */
_Static_assert(sizeof(struct kd_settings) == 64 + 4 * KD_EFF_COUNT + (KD_EFF_COUNT % 2 ? 4 : 0),
               "struct kd_settings changed: update same_settings() and hash_settings()");
_Static_assert(sizeof(struct kd_workload_answer) == 72 + sizeof(struct kd_settings),
               "struct kd_workload_answer changed: update kd_answer_store_put() and _get()");

struct kd_interned_settings {
    struct kd_interned_settings *next; /* in its bucket */
    uint64_t hash;
    size_t refs;
    struct kd_settings settings;
};

static bool same_settings(const struct kd_settings *a, const struct kd_settings *b)
{
    if (a->policy != b->policy || a->lead_time_ms != b->lead_time_ms ||
        a->stale_after_ms != b->stale_after_ms || a->fallback_replicas != b->fallback_replicas ||
        a->activation != b->activation || a->activation_lead_ms != b->activation_lead_ms ||
        a->mode != b->mode || a->on_stale != b->on_stale ||
        memcmp(&a->activation_threshold, &b->activation_threshold, sizeof(double)) != 0)
        return false;
    for (size_t i = 0; i < KD_EFF_COUNT; i++)
        if (a->origin[i] != b->origin[i])
            return false;
    return true;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static uint64_t hash_settings(const struct kd_settings *s)
{
    uint64_t t, h = (uint64_t)(uintptr_t)s->policy;

    memcpy(&t, &s->activation_threshold, sizeof(t));
    h = mix(h, (uint64_t)s->lead_time_ms);
    h = mix(h, (uint64_t)s->stale_after_ms);
    h = mix(h, (uint64_t)s->fallback_replicas);
    h = mix(h, (uint64_t)s->activation);
    h = mix(h, (uint64_t)s->activation_lead_ms);
    h = mix(h, (uint64_t)s->mode);
    h = mix(h, (uint64_t)s->on_stale);
    h = mix(h, t);
    for (size_t i = 0; i < KD_EFF_COUNT; i++)
        h = mix(h, (uint64_t)s->origin[i]);
    return h;
}

void kd_answer_store_init(struct kd_answer_store *store)
{
    *store = (struct kd_answer_store){0};
}

void kd_answer_store_fini(struct kd_answer_store *store)
{
    for (size_t b = 0; b < store->n_buckets; b++) {
        while (store->buckets[b]) {
            struct kd_interned_settings *s = store->buckets[b];
            store->buckets[b] = s->next;
            free(s);
        }
    }
    free(store->buckets);
    kd_answer_store_init(store);
}

static int grow(struct kd_answer_store *store)
{
    size_t n = store->n_buckets ? store->n_buckets * 2 : 16;
    struct kd_interned_settings **buckets = calloc(n, sizeof(*buckets));

    if (!buckets)
        return -ENOMEM;
    for (size_t b = 0; b < store->n_buckets; b++) {
        while (store->buckets[b]) {
            struct kd_interned_settings *s = store->buckets[b];
            store->buckets[b] = s->next;
            s->next = buckets[s->hash & (n - 1)];
            buckets[s->hash & (n - 1)] = s;
        }
    }
    free(store->buckets);
    store->buckets = buckets;
    store->n_buckets = n;
    return 0;
}

static const struct kd_interned_settings *intern(struct kd_answer_store *store,
                                                 const struct kd_settings *settings)
{
    uint64_t hash = hash_settings(settings);

    if (store->n_buckets) {
        for (struct kd_interned_settings *s = store->buckets[hash & (store->n_buckets - 1)]; s;
             s = s->next) {
            if (s->hash == hash && same_settings(&s->settings, settings)) {
                s->refs++;
                return s;
            }
        }
    }
    if (store->n >= store->n_buckets && grow(store) < 0)
        return NULL;
    struct kd_interned_settings *s = malloc(sizeof(*s));
    if (!s)
        return NULL;
    *s = (struct kd_interned_settings){.hash = hash, .refs = 1, .settings = *settings};
    s->next = store->buckets[hash & (store->n_buckets - 1)];
    store->buckets[hash & (store->n_buckets - 1)] = s;
    store->n++;
    return s;
}

static void unintern(struct kd_answer_store *store, const struct kd_interned_settings *settings)
{
    struct kd_interned_settings **pp;

    if (!settings || --((struct kd_interned_settings *)(uintptr_t)settings)->refs > 0)
        return;
    for (pp = &store->buckets[settings->hash & (store->n_buckets - 1)]; *pp != settings;
         pp = &(*pp)->next)
        ;
    *pp = settings->next;
    store->n--;
    free((void *)(uintptr_t)settings);
}

int kd_answer_store_put(struct kd_answer_store *store, struct kd_stored_answer *slot,
                        const struct kd_workload_answer *a)
{
    const struct kd_interned_settings *settings = slot->settings;

    /* The common case, a workload answered again with the same settings: no lookup. */
    if (!settings || !same_settings(&settings->settings, &a->settings)) {
        settings = intern(store, &a->settings);
        if (!settings)
            return -ENOMEM;
        unintern(store, slot->settings);
    }
    *slot = (struct kd_stored_answer){
        .at_ms = a->at_ms,
        .settings = settings,
        .policy_value = a->policy_value,
        .window_first = a->window_first,
        .window_last = a->window_last,
        .age_ms = a->age_ms,
        .stale_after_ms = a->stale_after_ms,
        .next_activation_ms = a->next_activation_ms,
        .status = (int32_t)a->status,
        .stale = a->stale,
        .exhausted = a->exhausted,
        .shadow = a->shadow,
        .active = a->active,
    };
    return 0;
}

void kd_answer_store_get(const struct kd_stored_answer *slot,
                         const struct kd_workload_answer *empty, struct kd_workload_answer *ret)
{
    if (!slot->settings) {
        *ret = *empty;
        return;
    }
    *ret = (struct kd_workload_answer){
        .at_ms = slot->at_ms,
        .status = (enum kd_grpc_status)slot->status,
        .settings = slot->settings->settings,
        .policy_value = slot->policy_value,
        .window_first = slot->window_first,
        .window_last = slot->window_last,
        .age_ms = slot->age_ms,
        .stale_after_ms = slot->stale_after_ms,
        .stale = slot->stale,
        .exhausted = slot->exhausted,
        .shadow = slot->shadow,
        .active = slot->active,
        .next_activation_ms = slot->next_activation_ms,
    };
}

void kd_answer_store_release(struct kd_answer_store *store, struct kd_stored_answer *slot)
{
    unintern(store, slot->settings);
    *slot = (struct kd_stored_answer){0};
}
