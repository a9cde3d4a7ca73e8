/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util/list.h: the one intrusive doubly-linked list. A list is a circular chain through a
 * sentinel `struct kd_list` head; an element embeds a `struct kd_list` member and is found
 * from it with KD_CONTAINER_OF. Nothing is allocated: the list owns none of its elements.
 *
 * A node that is all zeroes (calloc) is "unlinked", as is one just removed, so
 * kd_list_remove() of an unlinked node is a no-op and kd_list_linked() tells the two apart.
 */
#ifndef KD_LIST_H
#define KD_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct kd_list {
    struct kd_list *prev, *next;
};

/* The struct of type `type` whose member `member` is at `ptr`. */
#define KD_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Static initialiser of a head: `struct kd_list calls = KD_LIST_INIT(calls);`. */
#define KD_LIST_INIT(head)                                                                         \
    {                                                                                              \
        &(head), &(head)                                                                           \
    }

/* Iterate over the nodes of `head`; the current node may be removed (and freed). */
#define KD_LIST_FOR_EACH_SAFE(node, tmp, head)                                                     \
    for ((node) = (head)->next, (tmp) = (node)->next; (node) != (head);                            \
         (node) = (tmp), (tmp) = (node)->next)

static inline void kd_list_init(struct kd_list *head)
{
    head->prev = head;
    head->next = head;
}

static inline bool kd_list_empty(const struct kd_list *head)
{
    return head->next == head;
}

/* True if `node` is in some list (not zeroed, not removed). */
static inline bool kd_list_linked(const struct kd_list *node)
{
    return node->next != NULL;
}

static inline void kd_list_insert_between(struct kd_list *node, struct kd_list *prev,
                                          struct kd_list *next)
{
    node->prev = prev;
    node->next = next;
    prev->next = node;
    next->prev = node;
}

/* Append `node` (unlinked) at the tail of `head`. */
static inline void kd_list_push_back(struct kd_list *head, struct kd_list *node)
{
    kd_list_insert_between(node, head->prev, head);
}

/* Insert `node` (unlinked) at the front of `head`. */
static inline void kd_list_push_front(struct kd_list *head, struct kd_list *node)
{
    kd_list_insert_between(node, head, head->next);
}

/* Unlink `node`; a no-op if it is not linked. */
static inline void kd_list_remove(struct kd_list *node)
{
    if (!kd_list_linked(node))
        return;
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->prev = NULL;
    node->next = NULL;
}

/* The first node, or NULL if the list is empty. */
static inline struct kd_list *kd_list_first(const struct kd_list *head)
{
    return kd_list_empty(head) ? NULL : head->next;
}

/* Unlink and return the first node, or NULL if the list is empty. */
static inline struct kd_list *kd_list_pop_front(struct kd_list *head)
{
    struct kd_list *node = kd_list_first(head);

    if (node)
        kd_list_remove(node);
    return node;
}

#endif /* KD_LIST_H */
