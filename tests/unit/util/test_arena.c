/* SPDX-License-Identifier: Apache-2.0 */
/* util/arena.c: alignment, bump allocation inside the buffer, spills, reuse after fini. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/arena.h"

static void test_bump_and_spill(void **state)
{
    (void)state;
    _Alignas(16) unsigned char buf[256];
    struct kd_arena arena;

    kd_arena_init(&arena, buf + 1, sizeof(buf) - 1); /* misaligned: the first 15 bytes skipped */
    unsigned char *a = kd_arena_alloc(&arena, 1);
    unsigned char *b = kd_arena_alloc(&arena, 17);
    assert_ptr_equal(a, buf + 16);
    assert_ptr_equal(b, buf + 32); /* 1 rounded up to 16 */
    assert_int_equal((uintptr_t)b % 16, 0);
    unsigned char *c = kd_arena_alloc(&arena, 1000); /* does not fit: spilled */
    assert_non_null(c);
    assert_true(c < buf || c >= buf + sizeof(buf));
    assert_int_equal((uintptr_t)c % 16, 0);
    memset(c, 0x5a, 1000);
    unsigned char *d = kd_arena_alloc(&arena, 100); /* still room inside */
    assert_ptr_equal(d, buf + 64);
    assert_null(kd_arena_alloc(&arena, SIZE_MAX - 4)); /* overflow refused */
    kd_arena_fini(&arena);
    assert_ptr_equal(kd_arena_alloc(&arena, 1), buf + 16); /* empty again */
    kd_arena_fini(&arena);
}

static void test_tiny_buffer(void **state)
{
    (void)state;
    unsigned char buf[8];
    struct kd_arena arena;

    kd_arena_init(&arena, buf, 0);
    void *p = kd_arena_alloc(&arena, 8);
    assert_non_null(p);
    assert_true((unsigned char *)p < buf || (unsigned char *)p >= buf + sizeof(buf));
    kd_arena_fini(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bump_and_spill),
        cmocka_unit_test(test_tiny_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
