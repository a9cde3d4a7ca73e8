/* SPDX-License-Identifier: Apache-2.0 */
/* The http source's pure helpers: request URL, percent-encoding, error excerpts, array pick. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "response.h"
#include "url.h"

static void assert_forecast_url(const char *base, const char *workload, const char *want)
{
    char *url = NULL;

    assert_int_equal(kd_url_forecast(base, workload, &url), 0);
    assert_string_equal(url, want);
    free(url);
}

static void assert_encoded(const char *text, const char *want)
{
    char *out = NULL;

    assert_int_equal(kd_url_encode(text, &out), 0);
    assert_string_equal(out, want);
    free(out);
}

static void test_plain_workload(void **state)
{
    (void)state;
    assert_forecast_url("http://forecaster:8081", "my-api",
                        "http://forecaster:8081/forecast/current?workload=my-api");
}

static void test_trailing_slashes_dropped(void **state)
{
    (void)state;
    assert_forecast_url("http://forecaster:8081/", "my-api",
                        "http://forecaster:8081/forecast/current?workload=my-api");
    assert_forecast_url("http://forecaster:8081///", "my-api",
                        "http://forecaster:8081/forecast/current?workload=my-api");
    assert_forecast_url("https://f.example/prefix/", "w",
                        "https://f.example/prefix/forecast/current?workload=w");
}

/* Upstream pastes the name in raw; each of these turned into another query there. */
static void test_query_injection_encoded(void **state)
{
    (void)state;
    assert_forecast_url("http://f", "a&b=c", "http://f/forecast/current?workload=a%26b%3Dc");
    assert_forecast_url("http://f", "a#b", "http://f/forecast/current?workload=a%23b");
    assert_forecast_url("http://f", "a b", "http://f/forecast/current?workload=a%20b");
    assert_forecast_url("http://f", "a+b", "http://f/forecast/current?workload=a%2Bb");
    assert_forecast_url("http://f", "../x?y", "http://f/forecast/current?workload=..%2Fx%3Fy");
}

static void test_unreserved_kept(void **state)
{
    (void)state;
    assert_encoded("AZaz09-._~", "AZaz09-._~");
    assert_encoded("", "");
}

static void test_unicode_bytes(void **state)
{
    (void)state;
    /* "über-app" in UTF-8, and a 4-byte character: every byte encoded, upper-case hex. */
    assert_encoded("\xc3\xbc"
                   "ber-app",
                   "%C3%BCber-app");
    assert_encoded("\xf0\x9f\x9a\x80", "%F0%9F%9A%80");
    assert_encoded("%", "%25");
    assert_encoded("\x01\x7f", "%01%7F");
}

static void test_empty_base_rejected(void **state)
{
    char *url = (char *)0x1;

    (void)state;
    assert_int_equal(kd_url_forecast("", "w", &url), -EINVAL);
    assert_int_equal(kd_url_forecast("///", "w", &url), -EINVAL);
    assert_ptr_equal(url, (char *)0x1); /* untouched on failure */
}

static void test_excerpt(void **state)
{
    char out[KD_RESPONSE_EXCERPT_MAX + 4];
    char big[500];

    (void)state;
    kd_response_excerpt("{\"error\":\"internal server error\"}\n", 34, out, sizeof(out));
    assert_string_equal(out, "{\"error\":\"internal server error\"}");

    kd_response_excerpt("", 0, out, sizeof(out));
    assert_string_equal(out, "");
    kd_response_excerpt(NULL, 0, out, sizeof(out));
    assert_string_equal(out, "");

    kd_response_excerpt("  line one\r\nline\ttwo\x01\xff\n", 23, out, sizeof(out));
    assert_string_equal(out, "line one  line two ?");

    memset(big, 'x', sizeof(big));
    kd_response_excerpt(big, sizeof(big), out, sizeof(out));
    assert_int_equal(strlen(out), KD_RESPONSE_EXCERPT_MAX + 3);
    assert_memory_equal(out + KD_RESPONSE_EXCERPT_MAX, "...", 3);

    /* A small buffer is filled and terminated, never overrun. */
    char small[8];
    kd_response_excerpt(big, sizeof(big), small, sizeof(small));
    assert_string_equal(small, "xxxxxxx");
}

static void test_pick(void **state)
{
    struct kd_forecast f[3] = {
        {.workload = "a"},
        {.workload = NULL},
        {.workload = "b"},
    };
    struct kd_forecast_doc doc = {.n_forecasts = 3, .forecasts = f};

    (void)state;
    assert_ptr_equal(kd_response_pick(&doc, "b"), &f[2]);
    assert_ptr_equal(kd_response_pick(&doc, "a"), &f[0]);
    assert_ptr_equal(kd_response_pick(&doc, "zzz"), &f[0]); /* none matches: the first */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_workload),
        cmocka_unit_test(test_trailing_slashes_dropped),
        cmocka_unit_test(test_query_injection_encoded),
        cmocka_unit_test(test_unreserved_kept),
        cmocka_unit_test(test_unicode_bytes),
        cmocka_unit_test(test_empty_base_rejected),
        cmocka_unit_test(test_excerpt),
        cmocka_unit_test(test_pick),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
