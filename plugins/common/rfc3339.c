/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 3339 parsing without libc time zones: fields -> days since 1970 -> milliseconds. */
#include "rfc3339.h"

#include <errno.h>
#include <stdbool.h>

static bool digits(const char *s, size_t n, int *ret_value)
{
    int v = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *ret_value = v;
    return true;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Howard Hinnant's days_from_civil: proleptic Gregorian, valid for every 4-digit year. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

int kd_rfc3339_parse(const char *text, size_t len, int64_t *ret_ms)
{
    int year, month, day, hour, minute, second;

    /* "2006-01-02T15:04:05" is 19 bytes, and a zone follows. */
    if (len < 20 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') ||
        text[13] != ':' || text[16] != ':')
        return -EINVAL;
    if (!digits(text, 4, &year) || !digits(text + 5, 2, &month) || !digits(text + 8, 2, &day) ||
        !digits(text + 11, 2, &hour) || !digits(text + 14, 2, &minute) ||
        !digits(text + 17, 2, &second))
        return -EINVAL;

    size_t i = 19;
    int64_t frac_ms = 0;
    if (text[i] == '.') {
        size_t start = ++i;
        while (i < len && text[i] >= '0' && text[i] <= '9') {
            if (i - start < 3)
                frac_ms = frac_ms * 10 + (text[i] - '0');
            i++;
        }
        if (i == start)
            return -EINVAL;
        for (size_t scale = i - start; scale < 3; scale++)
            frac_ms *= 10;
    }

    int64_t offset_min = 0;
    if (i < len && (text[i] == 'Z' || text[i] == 'z')) {
        i++;
    } else if (i < len && (text[i] == '+' || text[i] == '-')) {
        int oh, om;
        if (len - i < 6 || text[i + 3] != ':' || !digits(text + i + 1, 2, &oh) ||
            !digits(text + i + 4, 2, &om))
            return -EINVAL;
        if (oh > 23 || om > 59)
            return -ERANGE;
        offset_min = (text[i] == '-' ? -1 : 1) * (oh * 60 + om);
        i += 6;
    } else {
        return -EINVAL;
    }
    if (i != len)
        return -EINVAL;

    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
        minute > 59 || second > 59)
        return -ERANGE;

    int64_t secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
                   offset_min * 60;
    *ret_ms = secs * 1000 + frac_ms;
    return 0;
}
