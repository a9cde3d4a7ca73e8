/* SPDX-License-Identifier: Apache-2.0 */
/* PromQL text for the prometheus source: see promql.h. */
#include "promql.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLACEHOLDER_LEN (sizeof(KD_PROMQL_PLACEHOLDER) - 1)

/*
 * Walks `query` as the PromQL lexer does for what matters here (string literals and comments)
 * and calls `on_placeholder` for each `$workload` with the quote character of the literal
 * around it (0: outside any literal, '`': inside a raw string). Stops at the first nonzero
 * return. Sets *ret_open to the quote of a literal left open at the end, else 0.
 */
static int scan(const char *query, int (*on_placeholder)(void *arg, size_t at, char quote),
                void *arg, char *ret_open)
{
    char quote = 0;
    bool is_comment = false;

    for (size_t i = 0; query[i]; i++) {
        char c = query[i];
        if (strncmp(query + i, KD_PROMQL_PLACEHOLDER, PLACEHOLDER_LEN) == 0 && !is_comment) {
            int rc = on_placeholder(arg, i, quote);
            if (rc)
                return rc;
            i += PLACEHOLDER_LEN - 1;
            continue;
        }
        if (is_comment) {
            is_comment = c != '\n';
        } else if (quote) {
            if (c == '\\' && quote != '`' && query[i + 1])
                i++;
            else if (c == quote)
                quote = 0;
        } else if (c == '"' || c == '\'' || c == '`') {
            quote = c;
        } else if (c == '#') {
            is_comment = true;
        }
    }
    *ret_open = quote;
    return 0;
}

struct check_ctx {
    char *err;
    size_t err_len;
};

static int check_one(void *arg, size_t at, char quote)
{
    struct check_ctx *ctx = arg;

    if (quote == '"' || quote == '\'')
        return 0;
    snprintf(ctx->err, ctx->err_len,
             "%s at byte %zu is %s; put it inside a \"double-quoted\" string, e.g. "
             "{job=\"%s\"}",
             KD_PROMQL_PLACEHOLDER, at,
             quote == '`' ? "inside a `raw` string, which cannot escape a workload name"
                          : "outside a string literal",
             KD_PROMQL_PLACEHOLDER);
    return -EINVAL;
}

int kd_promql_check(const char *query, char *err, size_t err_len)
{
    struct check_ctx ctx = {err, err_len};
    char open = 0;

    if (err_len)
        err[0] = '\0';
    if (!query || !query[0]) {
        snprintf(err, err_len, "the query is empty");
        return -EINVAL;
    }
    int rc = scan(query, check_one, &ctx, &open);
    if (rc)
        return rc;
    if (open) {
        snprintf(err, err_len, "a string literal opened with %c is never closed", open);
        return -EINVAL;
    }
    return 0;
}

size_t kd_promql_escape(const char *text, char quote, char *out, size_t out_len)
{
    size_t n = 0;

#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (n + 1 < out_len)                                                                       \
            out[n] = (ch);                                                                         \
        n++;                                                                                       \
    } while (0)

    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        unsigned char c = *p;
        if (c == '\\' || c == (unsigned char)quote) {
            PUT('\\');
            PUT((char)c);
        } else if (c == '\n' || c == '\t' || c == '\r') {
            PUT('\\');
            PUT(c == '\n' ? 'n' : c == '\t' ? 't' : 'r');
        } else if (c < ' ' || c == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            PUT('\\');
            PUT('x');
            PUT(hex[c >> 4]);
            PUT(hex[c & 15]);
        } else {
            PUT((char)c);
        }
    }
#undef PUT
    if (out_len)
        out[n < out_len ? n : out_len - 1] = '\0';
    return n;
}

struct expand_ctx {
    const char *workload;
    size_t from; /* bytes of the template copied so far */
    const char *query;
    char *out;  /* NULL while measuring */
    size_t len; /* bytes produced so far */
};

static int expand_one(void *arg, size_t at, char quote)
{
    struct expand_ctx *ctx = arg;

    if (quote != '"' && quote != '\'')
        return -EINVAL;
    size_t plain = at - ctx->from;
    if (ctx->out)
        memcpy(ctx->out + ctx->len, ctx->query + ctx->from, plain);
    ctx->len += plain;
    ctx->len += kd_promql_escape(ctx->workload, quote, ctx->out ? ctx->out + ctx->len : NULL,
                                 ctx->out ? SIZE_MAX - ctx->len : 0);
    ctx->from = at + PLACEHOLDER_LEN;
    return 0;
}

int kd_promql_expand(const char *query, const char *workload, char **ret_query)
{
    struct expand_ctx ctx = {.workload = workload, .query = query};
    char open = 0;

    /* Two passes over the same walk: measure, then write. */
    int rc = scan(query, expand_one, &ctx, &open);
    if (rc)
        return rc;
    size_t total = ctx.len + strlen(query + ctx.from);
    char *out = malloc(total + 1);
    if (!out)
        return -ENOMEM;
    ctx = (struct expand_ctx){.workload = workload, .query = query, .out = out};
    scan(query, expand_one, &ctx, &open);
    memcpy(out + ctx.len, query + ctx.from, strlen(query + ctx.from) + 1);
    *ret_query = out;
    return 0;
}

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Unix milliseconds as decimal seconds, exact: "-1.500", "1700000000.000". */
static void seconds(int64_t ms, char *out, size_t out_len)
{
    const char *sign = ms < 0 ? "-" : "";
    uint64_t mag = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;

    snprintf(out, out_len, "%s%" PRIu64 ".%03u", sign, mag / 1000, (unsigned)(mag % 1000));
}

int kd_promql_range_url(const char *base, const char *query, int64_t start_ms, int64_t end_ms,
                        int64_t step_ms, char **ret_url)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char path[] = "/api/v1/query_range?query=";
    char start[32], end[32], step[32];
    size_t base_len = strlen(base);

    while (base_len > 0 && base[base_len - 1] == '/')
        base_len--;
    if (base_len == 0)
        return -EINVAL;
    seconds(start_ms, start, sizeof(start));
    seconds(end_ms, end, sizeof(end));
    seconds(step_ms, step, sizeof(step));

    size_t qlen = strlen(query);
    size_t cap = base_len + sizeof(path) + 3 * qlen + strlen(start) + strlen(end) + strlen(step) +
                 sizeof("&start=&end=&step=");
    char *url = malloc(cap);
    if (!url)
        return -ENOMEM;
    memcpy(url, base, base_len);
    size_t n = base_len;
    memcpy(url + n, path, sizeof(path) - 1);
    n += sizeof(path) - 1;
    for (size_t i = 0; i < qlen; i++) {
        unsigned char c = (unsigned char)query[i];
        if (is_unreserved(c)) {
            url[n++] = (char)c;
        } else {
            url[n++] = '%';
            url[n++] = hex[c >> 4];
            url[n++] = hex[c & 15];
        }
    }
    snprintf(url + n, cap - n, "&start=%s&end=%s&step=%s", start, end, step);
    *ret_url = url;
    return 0;
}
