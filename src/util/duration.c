/* SPDX-License-Identifier: Apache-2.0 */
/* Durations and byte sizes as operators write them. The duration grammar and its overflow
 * rules follow Go's time.ParseDuration (computed in nanoseconds, as upstream's durationx does)
 * with "d" and "w" added. */
#include "util/duration.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NS_PER_MS UINT64_C(1000000)
#define LIMIT (UINT64_C(1) << 63) /* Go's bound: magnitudes above it overflow */

struct unit {
    const char *name;
    uint64_t factor; /* nanoseconds, or bytes */
};

static const struct unit duration_units[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000}, /* U+03BC Greek mu */
    {"ms", 1000 * 1000},
    {"s", UINT64_C(1000000000)},
    {"m", UINT64_C(60) * 1000000000},
    {"h", UINT64_C(3600) * 1000000000},
    {"d", UINT64_C(86400) * 1000000000},
    {"w", UINT64_C(604800) * 1000000000},
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static const struct unit *find_unit(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
        if (strlen(duration_units[i].name) == len && memcmp(duration_units[i].name, s, len) == 0)
            return &duration_units[i];
    }
    return NULL;
}

/* [0-9]*; -ERANGE past 2^63. */
static int leading_int(const char **s, uint64_t *ret_value)
{
    uint64_t x = 0;
    const char *p = *s;
    for (; is_digit(*p); p++) {
        if (x > LIMIT / 10)
            return -ERANGE;
        x = x * 10 + (uint64_t)(*p - '0');
        if (x > LIMIT)
            return -ERANGE;
    }
    *s = p;
    *ret_value = x;
    return 0;
}

/* [0-9]* after the point; digits beyond 63-bit precision are dropped, as Go does. */
static void leading_fraction(const char **s, uint64_t *ret_value, double *ret_scale)
{
    uint64_t x = 0;
    double scale = 1;
    bool overflow = false;
    const char *p = *s;
    for (; is_digit(*p); p++) {
        if (overflow)
            continue;
        if (x > (LIMIT - 1) / 10) {
            overflow = true;
            continue;
        }
        uint64_t y = x * 10 + (uint64_t)(*p - '0');
        if (y > LIMIT) {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10;
    }
    *s = p;
    *ret_value = x;
    *ret_scale = scale;
}

int kd_duration_parse(const char *text, int64_t *ret_ms)
{
    const char *s = text;
    bool neg = false;
    uint64_t total = 0;

    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (strcmp(s, "0") == 0) {
        *ret_ms = 0;
        return 0;
    }
    if (*s == '\0')
        return -EINVAL;

    while (*s) {
        uint64_t v, f = 0;
        double scale = 1;

        if (!(*s == '.' || is_digit(*s)))
            return -EINVAL;
        const char *start = s;
        if (leading_int(&s, &v) < 0)
            return -ERANGE;
        bool pre = s != start;
        bool post = false;
        if (*s == '.') {
            s++;
            start = s;
            leading_fraction(&s, &f, &scale);
            post = s != start;
        }
        if (!pre && !post)
            return -EINVAL;

        size_t n = 0;
        while (s[n] && s[n] != '.' && !is_digit(s[n]))
            n++;
        const struct unit *u = find_unit(s, n);
        if (!u)
            return -EINVAL;
        s += n;

        if (v > LIMIT / u->factor)
            return -ERANGE;
        v *= u->factor;
        if (f > 0) {
            /* f * ns / scale stays below 2^53 for every unit, so the double is exact enough */
            v += (uint64_t)((double)f * ((double)u->factor / scale));
            if (v > LIMIT)
                return -ERANGE;
        }
        total += v;
        if (total > LIMIT)
            return -ERANGE;
    }
    if (!neg && total > LIMIT - 1)
        return -ERANGE;

    int64_t ms = (int64_t)(total / NS_PER_MS);
    *ret_ms = neg ? -ms : ms;
    return 0;
}

void kd_duration_format(int64_t ms, char *buf, size_t len)
{
    static const struct {
        const char *name;
        uint64_t ms;
    } parts[] = {
        {"w", UINT64_C(604800000)}, {"d", UINT64_C(86400000)}, {"h", UINT64_C(3600000)},
        {"m", UINT64_C(60000)},     {"s", UINT64_C(1000)},     {"ms", 1},
    };

    if (len == 0)
        return;
    if (ms == 0) {
        snprintf(buf, len, "0s");
        return;
    }

    /* magnitude in unsigned arithmetic, so INT64_MIN works */
    uint64_t rest = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    size_t used = 0;
    buf[0] = '\0';
    if (ms < 0)
        used += (size_t)snprintf(buf, len, "-");
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && used < len; i++) {
        uint64_t n = rest / parts[i].ms;
        if (n == 0)
            continue;
        rest -= n * parts[i].ms;
        used += (size_t)snprintf(buf + used, len - used, "%" PRIu64 "%s", n, parts[i].name);
    }
}

int kd_size_parse(const char *text, int64_t *ret_bytes)
{
    static const struct unit size_units[] = {
        {"", 1},
        {"B", 1},
        {"KB", UINT64_C(1000)},
        {"MB", UINT64_C(1000000)},
        {"GB", UINT64_C(1000000000)},
        {"KiB", UINT64_C(1) << 10},
        {"MiB", UINT64_C(1) << 20},
        {"GiB", UINT64_C(1) << 30},
    };
    const char *s = text;
    uint64_t v = 0;

    if (!is_digit(*s))
        return -EINVAL;
    for (; is_digit(*s); s++) {
        if (v > (uint64_t)INT64_MAX / 10)
            return -ERANGE;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > (uint64_t)INT64_MAX)
            return -ERANGE;
    }
    for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
        if (strcmp(s, size_units[i].name) != 0)
            continue;
        if (v > (uint64_t)INT64_MAX / size_units[i].factor)
            return -ERANGE;
        *ret_bytes = (int64_t)(v * size_units[i].factor);
        return 0;
    }
    return -EINVAL;
}
