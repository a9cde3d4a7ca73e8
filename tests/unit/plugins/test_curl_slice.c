/* SPDX-License-Identifier: Apache-2.0 */
/* plugins/common/curl_slice: when a write callback pauses for the next loop turn, and that a
 * host without timers never pauses (the body is read on). The resume itself runs in the
 * source-http and Prometheus tests, against real transfers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <event2/event.h>

#include "curl_slice.h"
#include "fake_host.h"

static void test_pauses_past_the_slice(void **state)
{
    struct event_base *base = event_base_new();
    struct kd_fake_host fake;
    struct kd_curl_slice slice;

    (void)state;
    assert_non_null(base);
    kd_fake_host_init(&fake, base, 0);
    kd_curl_slice_init(&slice, &fake.host, kd_fake_host_instance(&fake), NULL, NULL, 10);
    assert_false(kd_curl_slice_pause(&slice, 6));
    assert_false(kd_curl_slice_pause(&slice, 6)); /* 6 < 10: taken, the slice now overdrawn */
    assert_int_equal(slice.used, 12);
    assert_int_equal(slice.pauses, 0);
    assert_int_equal(fake.n_timers, 0); /* no timer before the first pause */
    assert_true(kd_curl_slice_pause(&slice, 1));
    assert_int_equal(slice.used, 12); /* the held piece is not counted: curl hands it back */
    assert_int_equal(slice.pauses, 1);
    assert_int_equal(fake.n_timers, 1);
    kd_curl_slice_fini(&slice);
    assert_int_equal(fake.n_timers, 0);
    assert_null(slice.resume);
    event_base_free(base);
}

static void test_no_timer_reads_on(void **state)
{
    struct kd_fake_host fake;
    struct kd_curl_slice slice;

    (void)state;
    kd_fake_host_init(&fake, NULL, 0); /* timer_create: -ENOSYS */
    kd_curl_slice_init(&slice, &fake.host, kd_fake_host_instance(&fake), NULL, NULL, 4);
    for (int i = 0; i < 5; i++)
        assert_false(kd_curl_slice_pause(&slice, 4));
    assert_int_equal(slice.used, 20);
    assert_int_equal(slice.pauses, 0);
    kd_curl_slice_fini(&slice);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pauses_past_the_slice),
        cmocka_unit_test(test_no_timer_reads_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
