/* SPDX-License-Identifier: Apache-2.0 */
/* util/hashmap: insert, lookup, duplicate keys, removal inside probe runs, iteration. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/hashmap.h"

#define N_KEYS 2000

static char keys[N_KEYS][16];

static void make_keys(void)
{
    for (int i = 0; i < N_KEYS; i++)
        snprintf(keys[i], sizeof(keys[i]), "workload-%d", i);
}

static void test_empty(void **state)
{
    struct kd_hashmap map = KD_HASHMAP_INIT;
    size_t pos = 0;

    (void)state;
    assert_null(kd_hashmap_get(&map, "x"));
    assert_null(kd_hashmap_remove(&map, "x"));
    assert_false(kd_hashmap_next(&map, &pos, NULL, NULL));
    assert_int_equal(map.len, 0);
    kd_hashmap_fini(&map);
}

static void test_put_get_duplicate(void **state)
{
    struct kd_hashmap map;
    int a = 1, b = 2;

    (void)state;
    kd_hashmap_init(&map);
    assert_int_equal(kd_hashmap_put(&map, "a", &a), 0);
    assert_int_equal(kd_hashmap_put(&map, "a", &b), -EEXIST);
    assert_ptr_equal(kd_hashmap_get(&map, "a"), &a);
    assert_null(kd_hashmap_get(&map, "b"));
    assert_int_equal(kd_hashmap_put(&map, "", &b), 0);
    assert_ptr_equal(kd_hashmap_get(&map, ""), &b);
    assert_int_equal(map.len, 2);
    kd_hashmap_fini(&map);
}

static void test_many_grow_and_remove(void **state)
{
    struct kd_hashmap map;

    (void)state;
    make_keys();
    kd_hashmap_init(&map);
    for (int i = 0; i < N_KEYS; i++)
        assert_int_equal(kd_hashmap_put(&map, keys[i], keys[i]), 0);
    assert_int_equal(map.len, N_KEYS);
    for (int i = 0; i < N_KEYS; i++)
        assert_ptr_equal(kd_hashmap_get(&map, keys[i]), keys[i]);

    /* Remove every third key: the rest must stay reachable (backward shift). */
    for (int i = 0; i < N_KEYS; i += 3)
        assert_ptr_equal(kd_hashmap_remove(&map, keys[i]), keys[i]);
    for (int i = 0; i < N_KEYS; i++) {
        if (i % 3 == 0)
            assert_null(kd_hashmap_get(&map, keys[i]));
        else
            assert_ptr_equal(kd_hashmap_get(&map, keys[i]), keys[i]);
    }
    assert_null(kd_hashmap_remove(&map, keys[0]));

    size_t pos = 0, seen = 0;
    const char *key;
    void *value;
    while (kd_hashmap_next(&map, &pos, &key, &value)) {
        assert_ptr_equal(key, value);
        seen++;
    }
    assert_int_equal(seen, map.len);
    assert_int_equal(seen, N_KEYS - (N_KEYS + 2) / 3);
    kd_hashmap_fini(&map);
}

/* Keys with identical hashes collide in one probe run; removals inside it keep order valid. */
static void test_collision_run(void **state)
{
    struct kd_hashmap map;
    char small[64][8];
    int n = 0;

    (void)state;
    kd_hashmap_init(&map);
    /* All keys whose home slot is 5 in a 16-slot table (map stays at 16 with <= 8 keys). */
    for (int i = 0; n < 7 && i < 100000; i++) {
        snprintf(small[n], sizeof(small[n]), "k%d", i);
        if ((kd_hashmap_hash(small[n]) & 15) == 5)
            n++;
    }
    assert_int_equal(n, 7);
    for (int i = 0; i < n; i++)
        assert_int_equal(kd_hashmap_put(&map, small[i], small[i]), 0);
    assert_ptr_equal(kd_hashmap_remove(&map, small[2]), small[2]);
    assert_ptr_equal(kd_hashmap_remove(&map, small[0]), small[0]);
    for (int i = 0; i < n; i++) {
        if (i == 0 || i == 2)
            assert_null(kd_hashmap_get(&map, small[i]));
        else
            assert_ptr_equal(kd_hashmap_get(&map, small[i]), small[i]);
    }
    assert_int_equal(kd_hashmap_put(&map, small[0], small[0]), 0);
    assert_ptr_equal(kd_hashmap_get(&map, small[0]), small[0]);
    kd_hashmap_fini(&map);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_put_get_duplicate),
        cmocka_unit_test(test_many_grow_and_remove),
        cmocka_unit_test(test_collision_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
