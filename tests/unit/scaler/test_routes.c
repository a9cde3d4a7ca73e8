/* SPDX-License-Identifier: Apache-2.0 */
/* scaler/routes: glob matching in config order, defaults, the NOT_FOUND route list. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fake_plugins.h"
#include "scaler/routes.h"

static const struct kd_source_timing timing = {10000, 2000, 600000};

struct fixture {
    struct fake_source fs_a, fs_b;
    struct fake_policy fp;
    struct kd_instance *src_a, *src_b, *pol;
    struct kd_routes routes;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    f->fp.lookahead_ms = 5 * 60 * 1000;
    f->src_a = fake_instance("a", &fake_source_plugin, &f->fs_a, NULL);
    f->src_b = fake_instance("b", &fake_source_plugin, &f->fs_b, NULL);
    f->pol = fake_instance("max", &fake_policy_plugin, &f->fp, NULL);
    kd_routes_init(&f->routes);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    kd_routes_fini(&f->routes);
    kd_instance_destroy(f->src_a);
    kd_instance_destroy(f->src_b);
    kd_instance_destroy(f->pol);
    free(f);
    return 0;
}

static void test_first_match_wins(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(kd_routes_add(&f->routes, "api-*", f->src_a, f->pol, &timing, -1, -1), 0);
    assert_int_equal(kd_routes_add(&f->routes, "*", f->src_b, f->pol, &timing, -1, -1), 0);
    assert_ptr_equal(kd_routes_match(&f->routes, "api-web")->source, f->src_a);
    assert_ptr_equal(kd_routes_match(&f->routes, "worker")->source, f->src_b);
    /* fnmatch without flags: '*' crosses '/' and '.' too. */
    assert_ptr_equal(kd_routes_match(&f->routes, "ns/api.x")->source, f->src_b);
}

static void test_no_match_and_describe(void **state)
{
    struct fixture *f = *state;
    char buf[64];

    assert_int_equal(kd_routes_add(&f->routes, "a*", f->src_a, f->pol, &timing, -1, -1), 0);
    assert_int_equal(kd_routes_add(&f->routes, "b", f->src_b, f->pol, &timing, -1, -1), 0);
    assert_null(kd_routes_match(&f->routes, "x"));
    assert_null(kd_routes_match(&f->routes, "bb"));
    assert_non_null(kd_routes_match(&f->routes, "b"));
    assert_non_null(kd_routes_match(&f->routes, "a"));
    kd_routes_describe(&f->routes, buf, sizeof(buf));
    assert_string_equal(buf, "a*, b");
    kd_routes_describe(&f->routes, buf, 3);
    assert_string_equal(buf, "a*");
}

static void test_describe_empty(void **state)
{
    struct fixture *f = *state;
    char buf[16];

    kd_routes_describe(&f->routes, buf, sizeof(buf));
    assert_string_equal(buf, "(none)");
    assert_null(kd_routes_match(&f->routes, "x"));
}

static void test_glob_classes(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(kd_routes_add(&f->routes, "prod-[ab]?", f->src_a, f->pol, &timing, -1, -1), 0);
    assert_non_null(kd_routes_match(&f->routes, "prod-a1"));
    assert_null(kd_routes_match(&f->routes, "prod-c1"));
    assert_null(kd_routes_match(&f->routes, "prod-a12"));
}

static void test_stale_after_and_fallback(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(kd_routes_add(&f->routes, "d", f->src_a, f->pol, &timing, -1, -1), 0);
    assert_int_equal(kd_routes_add(&f->routes, "e", f->src_a, f->pol, &timing, 1234, 3), 0);
    const struct kd_route *d = kd_routes_match(&f->routes, "d");
    const struct kd_route *e = kd_routes_match(&f->routes, "e");
    assert_int_equal(d->stale_after_ms, -1); /* 2 x max(lead, step), per forecast */
    assert_int_equal(d->on_stale, KD_ON_STALE_ERROR);
    assert_int_equal(d->activation, KD_ACTIVATION_FRESH);
    assert_int_equal(d->activation_lead_ms, -1);
    assert_int_equal(d->mode, KD_MODE_ACTIVE);
    assert_int_equal(d->overrides, 0);
    assert_int_equal(d->lead_time_max_ms, 3600000);
    assert_int_equal(d->fallback_replicas, -1);
    assert_int_equal(d->timing.refresh_ms, 10000);
    assert_int_equal(e->stale_after_ms, 1234);
    assert_int_equal(e->fallback_replicas, 3);
}

static void test_invalid(void **state)
{
    struct fixture *f = *state;
    struct kd_source_timing bad = timing;

    assert_int_equal(kd_routes_add(&f->routes, "", f->src_a, f->pol, &timing, -1, -1), -EINVAL);
    assert_int_equal(kd_routes_add(&f->routes, NULL, f->src_a, f->pol, &timing, -1, -1), -EINVAL);
    bad.timeout_ms = 0;
    assert_int_equal(kd_routes_add(&f->routes, "x", f->src_a, f->pol, &bad, -1, -1), -EINVAL);
    assert_int_equal(f->routes.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_match_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_match_and_describe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_glob_classes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_after_and_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
