/* SPDX-License-Identifier: Apache-2.0 */
/* status_health.c: the verbose lines and the pass/fail rules of /healthz and /readyz. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ops/status_health.h"

#define T0 1764662400000LL

static char *text(const struct kd_status_health *h, const struct kd_status_snapshot *s,
                  bool *ret_pass)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    *ret_pass = kd_status_health_render(h, s, f);
    long n = ftell(f);
    rewind(f);
    char *buf = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return buf;
}

static void test_lines(void **state)
{
    (void)state;
    struct kd_status_source src[2] = {
        {.name = "live", .last_error = ""},
        {.name = "fc",
         .failing = true,
         .failing_since_ms = T0,
         .last_error = "HTTP 500\nbody",
         .workloads = 3,
         .cached = 1},
    };
    struct kd_status_snapshot s = {.sources = src, .n_sources = 2};
    struct kd_status_health h = {.probe = KD_STATUS_HEALTHZ, .live = true, .ready = true};
    bool pass;
    char *t = text(&h, &s, &pass);
    assert_true(pass);
    assert_string_equal(t, "[+]ping ok\n[+]grpc ok\n[+]source live ok\n"
                           "[-]source fc failing since 2025-12-02T08:00:00.000Z: HTTP 500 body "
                           "(1 of 3 workloads cached)\nhealthz check passed\n");
    free(t);

    h = (struct kd_status_health){.probe = KD_STATUS_READYZ, .live = false, .ready = false};
    t = text(&h, &s, &pass);
    assert_false(pass);
    assert_non_null(strstr(t, "[-]grpc failed: draining\n"));
    assert_non_null(strstr(t, "\nreadyz check failed\n"));
    free(t);

    h.live = true; /* starting */
    t = text(&h, &s, &pass);
    assert_non_null(strstr(t, "[-]grpc failed: not ready\n"));
    free(t);
}

static void test_requires_sources(void **state)
{
    (void)state;
    struct kd_status_source src[2] = {
        {.name = "a", .failing = true, .last_error = "x"},
        {.name = "b", .failing = true, .last_error = "y"},
    };
    struct kd_status_snapshot s = {.sources = src, .n_sources = 2};
    struct kd_status_health h = {.probe = KD_STATUS_READYZ, .live = true, .ready = true};
    bool pass;

    /* Without the switch, failing sources are information only. */
    assert_true(kd_status_health_passes(&h, &s));
    h.requires_sources = true;
    assert_false(kd_status_health_passes(&h, &s));
    char *t = text(&h, &s, &pass);
    assert_false(pass);
    assert_non_null(strstr(t, "[-]sources failed: every source is failing with nothing cached\n"
                              "readyz check failed\n"));
    free(t);
    src[1].cached = 1; /* something to serve: ready */
    assert_true(kd_status_health_passes(&h, &s));
    src[1].cached = 0;
    src[0].failing = false; /* one source up: ready */
    assert_true(kd_status_health_passes(&h, &s));
    t = text(&h, &s, &pass);
    assert_non_null(strstr(t, "[+]sources ok\nreadyz check passed\n"));
    free(t);
    s.n_sources = 0; /* no sources at all is not "every source failing" */
    assert_true(kd_status_health_passes(&h, &s));
    /* Liveness never looks at sources. */
    h.probe = KD_STATUS_HEALTHZ;
    s.n_sources = 2;
    src[0].failing = true;
    assert_true(kd_status_health_passes(&h, &s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_requires_sources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
