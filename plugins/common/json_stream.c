/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON tokenizer of json_stream.h: a byte-at-a-time state machine. Every byte goes through
 * the same path whatever the split, which is what makes feeds of any size agree; only strings
 * and numbers outlive a byte, in the scratch buffer. Error positions follow cJSON's habit
 * (which the forecast parser's messages kept): the offending byte, or the last byte when the
 * document ends early.
 */
#include "json_stream.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum state {
    ST_VALUE,        /* a value must come: top level, after ':', after ',' in an array */
    ST_ARRAY_FIRST,  /* after '[': a value or ']' */
    ST_OBJECT_FIRST, /* after '{': a member name or '}' */
    ST_KEY,          /* after ',' in an object: a member name */
    ST_COLON,        /* after a member name */
    ST_AFTER,        /* after a value in a container: ',' or the closing bracket */
    ST_DONE,         /* the top-level value is complete: only whitespace may follow */
    ST_STRING,
    ST_NUMBER,
    ST_LITERAL,
    ST_FAILED,
};

enum escape {
    ESC_NONE,
    ESC_BACKSLASH,     /* after '\' */
    ESC_HEX,           /* inside \uXXXX */
    ESC_LOW_BACKSLASH, /* a high surrogate was read: '\' of its low half must follow */
    ESC_LOW_U,         /* ... then 'u' */
};

struct kd_json_stream {
    kd_json_stream_cb *cb;
    void *ctx;
    size_t max_depth, max_token;
    enum state state;
    int rc; /* once failed: what every call returns */
    size_t depth;
    unsigned char is_object[KD_JSON_STREAM_DEPTH_MAX / 8]; /* bit per open container */
    size_t offset;
    size_t line, column;           /* of the next byte */
    size_t last_line, last_column; /* of the byte being handled (or the last one) */
    /* the token in progress */
    size_t tok_line, tok_column;
    int is_key;
    int is_cut;       /* a string longer than max_token: the rest is checked, not kept */
    int has_fraction; /* a number with '.', 'e' or 'E' */
    int is_any_bytes; /* kd_json_stream_allow_any_bytes: no UTF-8 check */
    char *buf;        /* max_token + 1 bytes, allocated on first use */
    size_t len;
    enum escape esc;
    unsigned hex_digits, code, high;
    unsigned utf8_need;             /* continuation bytes still due */
    unsigned char utf8_lo, utf8_hi; /* the range of the next one */
    const char *word;               /* true, false, null */
    size_t word_pos;
    enum kd_json_event word_event;
    char err[KD_JSON_STREAM_ERR_MAX];
};

__attribute__((format(printf, 3, 4))) static int fail(struct kd_json_stream *s, int rc,
                                                      const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
    s->state = ST_FAILED;
    s->rc = rc;
    return rc;
}

static int syntax_at(struct kd_json_stream *s, size_t line, size_t column, const char *what)
{
    return fail(s, -EINVAL, "invalid JSON at line %zu, column %zu: %s", line, column, what);
}

static int syntax(struct kd_json_stream *s, const char *what)
{
    return syntax_at(s, s->last_line, s->last_column, what);
}

static int emit(struct kd_json_stream *s, enum kd_json_event ev, size_t line, size_t column)
{
    struct kd_json_token t = {.event = ev, .depth = s->depth, .line = line, .column = column};

    if (ev == KD_JSON_KEY || ev == KD_JSON_STRING || ev == KD_JSON_NUMBER) {
        t.text = s->buf ? s->buf : "";
        t.len = s->len;
        t.is_cut = s->is_cut;
    }
    if (ev == KD_JSON_NUMBER)
        t.is_integer = !s->has_fraction;
    s->err[0] = '\0';
    int rc = s->cb(s->ctx, &t, s->err, sizeof(s->err));
    if (rc < 0) {
        if (!s->err[0])
            snprintf(s->err, sizeof(s->err), "rejected at line %zu, column %zu", line, column);
        s->state = ST_FAILED;
        s->rc = rc;
    }
    return rc;
}

static void value_done(struct kd_json_stream *s)
{
    s->state = s->depth == 0 ? ST_DONE : ST_AFTER;
}

static int top_is_object(const struct kd_json_stream *s)
{
    size_t i = s->depth - 1;

    return s->is_object[i / 8] >> (i % 8) & 1;
}

static int open_container(struct kd_json_stream *s, int is_object)
{
    size_t i = s->depth;
    int rc = emit(s, is_object ? KD_JSON_OBJECT_BEGIN : KD_JSON_ARRAY_BEGIN, s->last_line,
                  s->last_column);

    if (rc < 0)
        return rc;
    if (is_object)
        s->is_object[i / 8] |= (unsigned char)(1u << (i % 8));
    else
        s->is_object[i / 8] &= (unsigned char)~(1u << (i % 8));
    s->depth++;
    s->state = is_object ? ST_OBJECT_FIRST : ST_ARRAY_FIRST;
    return 0;
}

static int close_container(struct kd_json_stream *s, int is_object)
{
    s->depth--;
    int rc =
        emit(s, is_object ? KD_JSON_OBJECT_END : KD_JSON_ARRAY_END, s->last_line, s->last_column);
    if (rc < 0)
        return rc;
    value_done(s);
    return 0;
}

/* Strings past max_token are cut, not refused: an unknown member may hold anything. */
static int take(struct kd_json_stream *s, const char *bytes, size_t n, const char *what)
{
    if (s->is_cut)
        return 0;
    if (n > s->max_token - s->len) {
        if (s->state == ST_STRING) {
            size_t room = s->max_token - s->len;
            s->is_cut = 1;
            n = room; /* the first max_token bytes are kept */
            if (n == 0)
                return 0;
        } else {
            return fail(s, -EINVAL,
                        "invalid JSON at line %zu, column %zu: a %s longer than %zu bytes",
                        s->tok_line, s->tok_column, what, s->max_token);
        }
    }
    if (!s->buf) {
        s->buf = malloc(s->max_token + 1);
        if (!s->buf)
            return fail(s, -ENOMEM, "out of memory for a token of %zu bytes", s->max_token);
    }
    memcpy(s->buf + s->len, bytes, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return 0;
}

static void start_token(struct kd_json_stream *s, enum state st)
{
    s->state = st;
    s->tok_line = s->last_line;
    s->tok_column = s->last_column;
    s->len = 0;
    s->is_cut = 0;
    s->has_fraction = 0;
    if (s->buf)
        s->buf[0] = '\0';
}

static int begin_value(struct kd_json_stream *s, unsigned char c)
{
    if (s->depth + 1 > s->max_depth)
        return fail(s, -EINVAL,
                    "invalid JSON at line %zu, column %zu: nesting deeper than %zu levels",
                    s->last_line, s->last_column, s->max_depth);
    if (c == '{' || c == '[')
        return open_container(s, c == '{');
    if (c == '"') {
        start_token(s, ST_STRING);
        s->is_key = 0;
        s->esc = ESC_NONE;
        s->utf8_need = 0;
        return 0;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        start_token(s, ST_NUMBER);
        return take(s, (const char *)&c, 1, "number");
    }
    static const struct {
        char first;
        const char *word;
        enum kd_json_event ev;
    } words[] = {
        {'t', "true", KD_JSON_TRUE}, {'f', "false", KD_JSON_FALSE}, {'n', "null", KD_JSON_NULL}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (c == words[i].first) {
            start_token(s, ST_LITERAL);
            s->word = words[i].word;
            s->word_event = words[i].ev;
            s->word_pos = 1;
            return 0;
        }
    }
    return syntax(s, "expected a value");
}

/* ---- Strings ------------------------------------------------------------------------------ */

static int take_code_point(struct kd_json_stream *s, unsigned cp)
{
    char out[4];
    size_t n;

    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | cp >> 18);
        out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return take(s, out, n, "string");
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The fourth hex digit of a \u escape: a code point, or one half of a surrogate pair. */
static int end_unicode_escape(struct kd_json_stream *s)
{
    unsigned code = s->code;

    s->esc = ESC_NONE;
    if (s->high) {
        unsigned high = s->high;
        s->high = 0;
        if (code < 0xDC00 || code > 0xDFFF)
            return syntax(s, "a high surrogate without its low half");
        return take_code_point(s, 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00));
    }
    if (code >= 0xD800 && code <= 0xDBFF) {
        s->high = code;
        s->esc = ESC_LOW_BACKSLASH;
        return 0;
    }
    if (code >= 0xDC00 && code <= 0xDFFF)
        return syntax(s, "a low surrogate without its high half");
    return take_code_point(s, code);
}

static int string_escape(struct kd_json_stream *s, unsigned char c)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";

    switch (s->esc) {
    case ESC_BACKSLASH: {
        const char *hit = c ? strchr(from, c) : NULL;
        if (c == 'u') {
            s->esc = ESC_HEX;
            s->hex_digits = s->code = 0;
            return 0;
        }
        if (!hit)
            return syntax(s, "an invalid escape in a string");
        s->esc = ESC_NONE;
        return take(s, &to[hit - from], 1, "string");
    }
    case ESC_HEX: {
        int v = hex_value(c);
        if (v < 0)
            return syntax(s, "an invalid \\u escape");
        s->code = s->code * 16 + (unsigned)v;
        return ++s->hex_digits == 4 ? end_unicode_escape(s) : 0;
    }
    case ESC_LOW_BACKSLASH:
    case ESC_LOW_U:
        if (c != (s->esc == ESC_LOW_BACKSLASH ? '\\' : 'u'))
            return syntax(s, "a high surrogate without its low half");
        if (s->esc == ESC_LOW_U) {
            s->esc = ESC_HEX;
            s->hex_digits = s->code = 0;
        } else {
            s->esc = ESC_LOW_U;
        }
        return 0;
    default:
        return 0;
    }
}

/* The lead byte of a multi-byte UTF-8 sequence: how many follow, and the range of the first
 * (RFC 3629 table 4, which rules out overlong forms, surrogates and code points past U+10FFFF). */
static int utf8_lead(struct kd_json_stream *s, unsigned char c)
{
    s->utf8_lo = 0x80;
    s->utf8_hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        s->utf8_need = 1;
    else if (c >= 0xE0 && c <= 0xEF)
        s->utf8_need = 2;
    else if (c >= 0xF0 && c <= 0xF4)
        s->utf8_need = 3;
    else
        return syntax(s, "invalid UTF-8 in a string");
    if (c == 0xE0)
        s->utf8_lo = 0xA0;
    else if (c == 0xED)
        s->utf8_hi = 0x9F;
    else if (c == 0xF0)
        s->utf8_lo = 0x90;
    else if (c == 0xF4)
        s->utf8_hi = 0x8F;
    return take(s, (const char *)&c, 1, "string");
}

static int string_byte(struct kd_json_stream *s, unsigned char c)
{
    if (s->esc != ESC_NONE)
        return string_escape(s, c);
    if (s->utf8_need) {
        if (c < s->utf8_lo || c > s->utf8_hi)
            return syntax(s, "invalid UTF-8 in a string");
        s->utf8_need--;
        s->utf8_lo = 0x80;
        s->utf8_hi = 0xBF;
        return take(s, (const char *)&c, 1, "string");
    }
    if (c == '"') {
        int is_key = s->is_key;
        int rc = emit(s, is_key ? KD_JSON_KEY : KD_JSON_STRING, s->tok_line, s->tok_column);
        if (rc < 0)
            return rc;
        if (is_key)
            s->state = ST_COLON;
        else
            value_done(s);
        return 0;
    }
    if (c == '\\') {
        s->esc = ESC_BACKSLASH;
        return 0;
    }
    if (c < 0x20)
        return syntax(s, "a control character in a string (it must be escaped)");
    if (c < 0x80 || s->is_any_bytes)
        return take(s, (const char *)&c, 1, "string");
    return utf8_lead(s, c);
}

/* ---- Numbers ------------------------------------------------------------------------------ */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_number_byte(unsigned char c)
{
    return is_digit((char)c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int is_json_number(const char *p, size_t n)
{
    size_t i = 0, start;

    if (i < n && p[i] == '-')
        i++;
    if (i < n && p[i] == '0')
        i++;
    else if (i < n && is_digit(p[i]))
        while (i < n && is_digit(p[i]))
            i++;
    else
        return 0;
    if (i < n && p[i] == '.') {
        start = ++i;
        while (i < n && is_digit(p[i]))
            i++;
        if (i == start)
            return 0;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        start = i;
        while (i < n && is_digit(p[i]))
            i++;
        if (i == start)
            return 0;
    }
    return i == n;
}

/*
 * A run of number bytes ended. Not JSON: when strtod takes the whole run ("01", "1.", "-.5")
 * the message quotes it, as the cJSON-based parser did; otherwise the first byte strtod left
 * is where the syntax breaks ("1e]", "1-2").
 */
static int end_number(struct kd_json_stream *s)
{
    if (!is_json_number(s->buf, s->len)) {
        char *end;
        strtod(s->buf, &end);
        size_t used = (size_t)(end - s->buf);
        if (used == s->len)
            return fail(s, -EINVAL, "line %zu, column %zu: invalid number \"%.*s\"", s->tok_line,
                        s->tok_column, (int)(s->len > 40 ? 40 : s->len), s->buf);
        return syntax_at(s, s->tok_line, s->tok_column + used, "not a number");
    }
    int rc = emit(s, KD_JSON_NUMBER, s->tok_line, s->tok_column);
    if (rc < 0)
        return rc;
    value_done(s);
    return 0;
}

/* ---- The machine -------------------------------------------------------------------------- */

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int after_value(struct kd_json_stream *s, unsigned char c)
{
    int is_object = top_is_object(s);

    if (c == ',') {
        s->state = is_object ? ST_KEY : ST_VALUE;
        return 0;
    }
    if (c == (is_object ? '}' : ']'))
        return close_container(s, is_object);
    return syntax(s, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
}

static int structural(struct kd_json_stream *s, unsigned char c)
{
    if (is_space(c))
        return 0;
    switch (s->state) {
    case ST_VALUE:
        return begin_value(s, c);
    case ST_ARRAY_FIRST:
        return c == ']' ? close_container(s, 0) : begin_value(s, c);
    case ST_OBJECT_FIRST:
    case ST_KEY:
        if (c == '}' && s->state == ST_OBJECT_FIRST)
            return close_container(s, 1);
        if (c != '"')
            return syntax(s, "expected a member name in double quotes");
        start_token(s, ST_STRING);
        s->is_key = 1;
        s->esc = ESC_NONE;
        s->utf8_need = 0;
        return 0;
    case ST_COLON:
        if (c != ':')
            return syntax(s, "expected ':'");
        s->state = ST_VALUE;
        return 0;
    case ST_AFTER:
        return after_value(s, c);
    default: /* ST_DONE */
        return fail(s, -EINVAL, "unexpected data after the JSON value at line %zu, column %zu",
                    s->last_line, s->last_column);
    }
}

static int literal_byte(struct kd_json_stream *s, unsigned char c)
{
    if (c != (unsigned char)s->word[s->word_pos])
        return syntax(s, "expected true, false or null");
    if (s->word[++s->word_pos] != '\0')
        return 0;
    int rc = emit(s, s->word_event, s->tok_line, s->tok_column);
    if (rc == 0)
        value_done(s);
    return rc;
}

static int step(struct kd_json_stream *s, unsigned char c)
{
    int rc;

    switch (s->state) {
    case ST_STRING:
        return string_byte(s, c);
    case ST_NUMBER: /* plain_run took the number's bytes: c is the one after it */
        rc = end_number(s);
        return rc < 0 ? rc : structural(s, c); /* the byte after a number is the next token's */
    case ST_LITERAL:
        return literal_byte(s, c);
    default:
        return structural(s, c);
    }
}

static int report(const struct kd_json_stream *s, int rc, char *err, size_t err_len)
{
    if (err_len)
        snprintf(err, err_len, "%s", rc < 0 ? s->err : "");
    return rc;
}

int kd_json_stream_new(size_t max_depth, size_t max_token, kd_json_stream_cb *cb, void *ctx,
                       struct kd_json_stream **ret_stream)
{
    if (max_depth < 1 || max_depth > KD_JSON_STREAM_DEPTH_MAX || max_token < 1 ||
        max_token > SIZE_MAX / 2 || !cb)
        return -EINVAL;
    struct kd_json_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->cb = cb;
    s->ctx = ctx;
    s->max_depth = max_depth;
    s->max_token = max_token;
    s->state = ST_VALUE;
    s->line = s->column = 1;
    s->last_line = s->last_column = 1;
    *ret_stream = s;
    return 0;
}

/*
 * How many bytes from p on need no decision of their own: plain ASCII inside a string, or
 * number bytes inside a number. They go into the token at once, which is where a big body's
 * time would otherwise go (one call per byte); neither run can hold a newline.
 */
static size_t plain_run(const struct kd_json_stream *s, const unsigned char *p, size_t n)
{
    size_t i = 0;

    if (s->state == ST_STRING && s->esc == ESC_NONE && !s->utf8_need)
        while (i < n && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\')
            i++;
    else if (s->state == ST_NUMBER)
        while (i < n && is_number_byte(p[i]))
            i++;
    return i;
}

static void take_run(struct kd_json_stream *s, const unsigned char *p, size_t n)
{
    if (s->state == ST_NUMBER && !s->has_fraction &&
        (memchr(p, '.', n) || memchr(p, 'e', n) || memchr(p, 'E', n)))
        s->has_fraction = 1;
    s->last_line = s->line;
    s->last_column = s->column + n - 1;
    s->column += n;
    s->offset += n;
    take(s, (const char *)p, n, s->state == ST_NUMBER ? "number" : "string");
}

int kd_json_stream_feed(struct kd_json_stream *s, const char *data, size_t len, char *err,
                        size_t err_len)
{
    const unsigned char *p = (const unsigned char *)data;

    for (size_t i = 0; i < len && s->state != ST_FAILED;) {
        size_t run = plain_run(s, p + i, len - i);
        if (run > 0) {
            take_run(s, p + i, run);
            i += run;
            continue;
        }
        unsigned char c = p[i++];
        s->last_line = s->line;
        s->last_column = s->column;
        if (c == '\n') {
            s->line++;
            s->column = 1;
        } else {
            s->column++;
        }
        s->offset++;
        step(s, c);
    }
    return report(s, s->state == ST_FAILED ? s->rc : 0, err, err_len);
}

int kd_json_stream_finish(struct kd_json_stream *s, char *err, size_t err_len)
{
    if (s->state == ST_NUMBER)
        end_number(s);
    if (s->state == ST_FAILED)
        return report(s, s->rc, err, err_len);
    if (s->state == ST_DONE)
        return report(s, 0, err, err_len);
    if (s->state == ST_VALUE && s->depth == 0)
        fail(s, -EINVAL, "empty document");
    else
        syntax(s, "the document ends early"); /* last_line/column: the last byte, as cJSON */
    return report(s, s->rc, err, err_len);
}

void kd_json_stream_allow_any_bytes(struct kd_json_stream *s)
{
    s->is_any_bytes = 1;
}

size_t kd_json_stream_offset(const struct kd_json_stream *s)
{
    return s->offset;
}

void kd_json_stream_free(struct kd_json_stream *s)
{
    if (!s)
        return;
    free(s->buf);
    free(s);
}
