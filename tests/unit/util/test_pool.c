/* SPDX-License-Identifier: Apache-2.0 */
/* util/pool.c: recycling within a class, the idle cap, big blocks, realloc and calloc. In
 * sanitizer builds the pool passes every block through to malloc: then nothing stays idle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/pool.h"

static void test_recycle(void **state)
{
    (void)state;
    struct kd_pool *pool;

    assert_int_equal(kd_pool_create(1024, &pool), 0);
    uint8_t *a = kd_pool_alloc(pool, 100);
    assert_non_null(a);
    assert_int_equal((uintptr_t)a % 16, 0);
    memset(a, 0xab, 100);
    kd_pool_free(pool, a);
    if (kd_pool_idle_bytes(pool) == 0) { /* passthrough */
        kd_pool_destroy(pool);
        return;
    }
    assert_int_equal(kd_pool_idle_bytes(pool), 128); /* the 128-byte class */
    assert_ptr_equal(kd_pool_alloc(pool, 97), a);    /* same class: the same block */
    assert_int_equal(kd_pool_idle_bytes(pool), 0);
    uint8_t *b = kd_pool_alloc(pool, 96); /* another class: 1.5 x 64 */
    assert_ptr_not_equal(b, a);
    kd_pool_free(pool, a);
    kd_pool_free(pool, b);
    assert_int_equal(kd_pool_idle_bytes(pool), 128 + 96);
    kd_pool_destroy(pool);

    /* Every class boundary: a size just past one lands in the next; a fresh pool's idle
     * count after one free is the size of the class the block came from. */
    static const size_t sizes[] = {1,    32,   33,   48,   49,   64,   65,   96,   97,   2048,
                                   2049, 2928, 3072, 3073, 4096, 4097, 6144, 6145, 8176, 8192};
    static const size_t held[] = {32,   32,   48,   48,   64,   64,   96,   96,   128,  2048,
                                  3072, 3072, 3072, 4096, 4096, 6144, 6144, 8192, 8192, 8192};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_int_equal(kd_pool_create(1 << 20, &pool), 0);
        uint8_t *p = kd_pool_alloc(pool, sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0x5a, sizes[i]);
        kd_pool_free(pool, p);
        assert_int_equal(kd_pool_idle_bytes(pool), held[i]);
        kd_pool_destroy(pool);
    }
}

static void test_idle_cap(void **state)
{
    (void)state;
    struct kd_pool *pool;
    void *blocks[10];

    assert_int_equal(kd_pool_create(2048, &pool), 0);
    for (int i = 0; i < 10; i++)
        assert_non_null(blocks[i] = kd_pool_alloc(pool, 512));
    for (int i = 0; i < 10; i++)
        kd_pool_free(pool, blocks[i]);
    assert_true(kd_pool_idle_bytes(pool) <= 2048); /* four kept at most, six freed */
    kd_pool_destroy(pool);
}

static void test_big_realloc_calloc(void **state)
{
    (void)state;
    struct kd_pool *pool;

    assert_int_equal(kd_pool_create(1 << 20, &pool), 0);
    uint8_t *big = kd_pool_alloc(pool, KD_POOL_MAX_CLASS + 1);
    assert_non_null(big);
    kd_pool_free(pool, big);
    assert_int_equal(kd_pool_idle_bytes(pool), 0); /* never cached */

    uint8_t *p = kd_pool_realloc(pool, NULL, 10);
    assert_non_null(p);
    for (int i = 0; i < 10; i++)
        p[i] = (uint8_t)i;
    p = kd_pool_realloc(pool, p, 3000); /* across classes: contents kept */
    assert_non_null(p);
    for (int i = 0; i < 10; i++)
        assert_int_equal(p[i], i);
    p = kd_pool_realloc(pool, p, 100000); /* to a big block */
    assert_non_null(p);
    for (int i = 0; i < 10; i++)
        assert_int_equal(p[i], i);
    p = kd_pool_realloc(pool, p, 5); /* shrinking back into a class */
    assert_non_null(p);
    for (int i = 0; i < 5; i++)
        assert_int_equal(p[i], i);
    kd_pool_free(pool, p);

    uint8_t *z = kd_pool_calloc(pool, 10, 30);
    assert_non_null(z);
    for (int i = 0; i < 300; i++)
        assert_int_equal(z[i], 0);
    kd_pool_free(pool, z);
    assert_null(kd_pool_calloc(pool, SIZE_MAX / 2, 4)); /* overflow */
    kd_pool_free(pool, NULL);
    kd_pool_destroy(pool);
    kd_pool_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recycle),
        cmocka_unit_test(test_idle_cap),
        cmocka_unit_test(test_big_realloc_calloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
