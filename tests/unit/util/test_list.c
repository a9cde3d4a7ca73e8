/* SPDX-License-Identifier: Apache-2.0 */
/* util/list.h: order, removal while iterating, zeroed and removed nodes, container_of. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/list.h"

struct item {
    int value;
    struct kd_list link;
};

/* Writes the values in list order into out[]; returns how many. */
static size_t collect(struct kd_list *head, int *out, size_t cap)
{
    struct kd_list *node, *tmp;
    size_t n = 0;

    KD_LIST_FOR_EACH_SAFE(node, tmp, head) {
        assert_true(n < cap);
        out[n++] = KD_CONTAINER_OF(node, struct item, link)->value;
    }
    return n;
}

static void test_push_order(void **state)
{
    (void)state;
    struct kd_list head = KD_LIST_INIT(head);
    struct item items[3] = {{.value = 1}, {.value = 2}, {.value = 3}};
    int got[4];

    assert_true(kd_list_empty(&head));
    assert_null(kd_list_first(&head));
    kd_list_push_back(&head, &items[1].link);
    kd_list_push_back(&head, &items[2].link);
    kd_list_push_front(&head, &items[0].link);
    assert_false(kd_list_empty(&head));
    assert_int_equal(collect(&head, got, 4), 3);
    assert_int_equal(got[0], 1);
    assert_int_equal(got[1], 2);
    assert_int_equal(got[2], 3);
    assert_ptr_equal(kd_list_first(&head), &items[0].link);
    /* the chain is consistent backwards too */
    assert_ptr_equal(head.prev, &items[2].link);
    assert_ptr_equal(items[2].link.prev, &items[1].link);
    assert_ptr_equal(items[1].link.prev, &items[0].link);
    assert_ptr_equal(items[0].link.prev, &head);
}

static void test_remove_while_iterating(void **state)
{
    (void)state;
    struct kd_list head;
    struct item items[5];
    struct kd_list *node, *tmp;
    int got[5];

    kd_list_init(&head);
    for (int i = 0; i < 5; i++) {
        items[i] = (struct item){.value = i};
        kd_list_push_back(&head, &items[i].link);
    }
    KD_LIST_FOR_EACH_SAFE(node, tmp, &head) {
        struct item *it = KD_CONTAINER_OF(node, struct item, link);
        if (it->value % 2 == 0)
            kd_list_remove(node);
    }
    assert_int_equal(collect(&head, got, 5), 2);
    assert_int_equal(got[0], 1);
    assert_int_equal(got[1], 3);
    assert_false(kd_list_linked(&items[0].link));
    assert_true(kd_list_linked(&items[1].link));
}

static void test_unlinked_nodes(void **state)
{
    (void)state;
    struct kd_list head = KD_LIST_INIT(head);
    struct item zeroed;
    struct item other = {.value = 7};

    memset(&zeroed, 0, sizeof(zeroed));
    assert_false(kd_list_linked(&zeroed.link));
    kd_list_remove(&zeroed.link); /* a calloc'd node: no-op */
    kd_list_push_back(&head, &other.link);
    kd_list_remove(&other.link);
    kd_list_remove(&other.link); /* removed twice: no-op, the list is untouched */
    assert_true(kd_list_empty(&head));
    kd_list_push_back(&head, &other.link); /* a removed node can be linked again */
    assert_ptr_equal(kd_list_pop_front(&head), &other.link);
    assert_null(kd_list_pop_front(&head));
    assert_true(kd_list_empty(&head));
}

static void test_container_of(void **state)
{
    (void)state;
    struct item it = {.value = 42};

    assert_ptr_equal(KD_CONTAINER_OF(&it.link, struct item, link), &it);
    assert_int_equal(KD_CONTAINER_OF(&it.link, struct item, link)->value, 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_order),
        cmocka_unit_test(test_remove_while_iterating),
        cmocka_unit_test(test_unlinked_nodes),
        cmocka_unit_test(test_container_of),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
