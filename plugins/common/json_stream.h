/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A resumable JSON tokenizer (RFC 8259, strict) for bodies that arrive in pieces: feed it bytes
 * as they come, with any split, and it calls back once per token. Feeding one byte at a time
 * gives exactly the tokens and the error of feeding everything at once. Memory is bounded: a
 * token split across feeds waits in a scratch buffer of at most `max_token` bytes (a longer
 * string is still read and checked, and handed on cut to its first max_token bytes; a longer
 * number is an error), and nesting is tracked in a fixed bit stack. Pure: no I/O, no logging;
 * errors are one line.
 *
 * Strict means: no NaN/Infinity, no leading zeros or "1."/".5"/"+1", no raw control characters
 * or invalid UTF-8 (overlong forms and encoded surrogates included) in strings, \u escapes with
 * surrogates only as a high-low pair, one top-level value, only space/tab/CR/LF around tokens.
 */
#ifndef KD_JSON_STREAM_H
#define KD_JSON_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#define KD_JSON_STREAM_DEPTH_MAX 1024 /* the bit stack's size; max_depth may not exceed it */
#define KD_JSON_STREAM_ERR_MAX 256

enum kd_json_event {
    KD_JSON_OBJECT_BEGIN,
    KD_JSON_OBJECT_END,
    KD_JSON_ARRAY_BEGIN,
    KD_JSON_ARRAY_END,
    KD_JSON_KEY,    /* an object member's name; its value is the next token at the same depth */
    KD_JSON_STRING, /* text holds the decoded UTF-8, which may contain NUL (from \u0000) */
    KD_JSON_NUMBER, /* text holds the literal as written */
    KD_JSON_TRUE,
    KD_JSON_FALSE,
    KD_JSON_NULL,
};

struct kd_json_token {
    enum kd_json_event event;
    size_t depth;        /* containers open around the token (a BEGIN and its END agree) */
    size_t line, column; /* of the token's first byte, from 1 */
    const char *text;    /* KEY, STRING, NUMBER: NUL-terminated, valid until the callback returns */
    size_t len;
    bool is_integer; /* NUMBER: no fraction, no exponent (converting is the caller's: strtod
                      * or strtoll on text, and only for the numbers it wants) */
    bool is_cut;     /* KEY, STRING: longer than max_token; text holds the first max_token bytes */
};

/*
 * Called once per token, in document order. Return 0 to go on, or a negative errno value after
 * writing one line into err (err_len > 0 bytes) to stop: the stream then fails with that value
 * and that text.
 */
typedef int kd_json_stream_cb(void *ctx, const struct kd_json_token *token, char *err,
                              size_t err_len);

struct kd_json_stream;

/*
 * A tokenizer calling `cb(ctx, ...)`. max_depth (1..KD_JSON_STREAM_DEPTH_MAX): a value inside
 * more open containers than max_depth - 1 is an error (the top-level value is at level 1).
 * max_token: the longest string (decoded) kept whole and the longest number literal, in bytes.
 * Returns 0 and the stream to release with kd_json_stream_free(), -EINVAL or -ENOMEM.
 */
int kd_json_stream_new(size_t max_depth, size_t max_token, kd_json_stream_cb *cb, void *ctx,
                       struct kd_json_stream **ret_stream);

/*
 * Bytes of 0x80 and above in strings are then kept as they are, valid UTF-8 or not (cJSON's
 * way), for documents whose strings are only compared and logged with escaping. Call before
 * the first feed.
 */
void kd_json_stream_allow_any_bytes(struct kd_json_stream *s);

/*
 * Tokenizes `len` more bytes of the document (no NUL needed, nothing past len is read).
 * Returns 0, or -EINVAL (bad input, or the callback's value) / -ENOMEM: the stream has failed,
 * and every later call returns the same value and the same text. err always ends in NUL.
 */
int kd_json_stream_feed(struct kd_json_stream *s, const char *data, size_t len, char *err,
                        size_t err_len);

/* The end of the document: a number at the very end completes, anything open is an error. */
int kd_json_stream_finish(struct kd_json_stream *s, char *err, size_t err_len);

/* Bytes fed so far, the failing feed's included. */
size_t kd_json_stream_offset(const struct kd_json_stream *s);

void kd_json_stream_free(struct kd_json_stream *s);

#endif /* KD_JSON_STREAM_H */
