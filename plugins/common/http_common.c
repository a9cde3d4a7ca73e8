/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the HTTP sources: see http_common.h. */
#include "http_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KD_HTTP_BODY_START 4096 /* first allocation for a response body */

/* The token file into a ready header line: a trailing newline is dropped, anything else
 * unprintable would forge headers. */
static int read_token(const char *path, char **ret_header, struct kd_file_identity *ret_id,
                      char *err, size_t err_len)
{
    struct kd_file_identity id;
    char *text, *header;
    size_t len;

    int rc = kd_file_read(path, KD_HTTP_TOKEN_MAX, &text, &len, &id, err, err_len);
    if (rc == -EFBIG)
        snprintf(err, err_len, "longer than %d bytes; is it really a token?", KD_HTTP_TOKEN_MAX);
    if (rc < 0)
        return rc;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
                       text[len - 1] == '\t'))
        len--;
    rc = -EINVAL;
    if (len == 0) {
        snprintf(err, err_len, "empty");
        goto fail_text;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c <= ' ' || c >= 0x7f) {
            snprintf(err, err_len, "byte %zu is not a printable character (0x%02x)", i, c);
            goto fail_text;
        }
    }
    text[len] = '\0';
    if (asprintf(&header, "Authorization: Bearer %s", text) < 0) {
        snprintf(err, err_len, "out of memory");
        rc = -ENOMEM;
        goto fail_text;
    }
    free(text);
    *ret_id = id;
    *ret_header = header;
    return 0;

fail_text:
    free(text);
    return rc;
}

int kd_http_token_load(struct kd_http_token *token, const char *path, char *err, size_t err_len)
{
    struct kd_file_identity id;
    char *header;

    int rc = read_token(path, &header, &id, err, err_len);
    if (rc < 0)
        return rc;
    free(token->header);
    token->header = header;
    token->loaded = token->tried = id;
    return 0;
}

void kd_http_token_refresh(struct kd_http_token *token, const struct kd_host *host,
                           const struct kd_instance *inst, const char *path)
{
    struct kd_file_identity id;
    char err[256];

    if (!path)
        return;
    kd_file_identity_stat(path, &id);
    if (kd_file_identity_equal(&id, &token->loaded) || kd_file_identity_equal(&id, &token->tried))
        return;
    token->tried = id;
    if (id.error) {
        host->log(inst, KD_LOG_WARN, "bearer_token_file %s: %s; keeping the token read before",
                  path, strerror(id.error));
        return;
    }
    if (kd_http_token_load(token, path, err, sizeof(err)) < 0) {
        host->log(inst, KD_LOG_WARN, "bearer_token_file %s: %s; keeping the token read before",
                  path, err);
        return;
    }
    host->log(inst, KD_LOG_INFO, "re-read the bearer token from %s", path);
}

void kd_http_token_fini(struct kd_http_token *token)
{
    free(token->header);
    token->header = NULL;
}

static bool is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

int kd_http_check_header(const char *header, char *err, size_t err_len)
{
    const char *colon = strchr(header, ':');

    if (!colon || colon == header) {
        snprintf(err, err_len, "expected \"Name: value\"");
        return -EINVAL;
    }
    for (const char *p = header; p < colon; p++) {
        if (!is_tchar((unsigned char)*p)) {
            snprintf(err, err_len, "the name has a character not allowed in a header name (0x%02x)",
                     (unsigned char)*p);
            return -EINVAL;
        }
    }
    for (const char *p = colon + 1; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c < ' ' && c != '\t') || c == 0x7f) {
            snprintf(err, err_len, "the value has a control character (0x%02x)", c);
            return -EINVAL;
        }
    }
    return 0;
}

int kd_http_check_readable(const struct kd_host *host, const struct kd_instance *inst,
                           const char *name, const char *path)
{
    if (!path)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int rc = -errno;
        host->log(inst, KD_LOG_ERROR, "%s %s: %s", name, path, strerror(-rc));
        return rc;
    }
    close(fd);
    return 0;
}

int kd_http_body_append(struct kd_http_body *body, const char *data, size_t n, size_t limit,
                        size_t *ret_taken)
{
    size_t room = limit > body->len ? limit - body->len : 0;
    size_t take = n <= room ? n : room;

    if (take && body->len + take > body->cap) {
        size_t cap = body->cap ? body->cap : KD_HTTP_BODY_START;
        while (cap < body->len + take)
            cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
        if (cap > limit)
            cap = limit;
        char *grown = realloc(body->data, cap);
        if (!grown)
            return -ENOMEM;
        body->data = grown;
        body->cap = cap;
    }
    if (take)
        memcpy(body->data + body->len, data, take);
    body->len += take;
    *ret_taken = take;
    return 0;
}

void kd_http_describe_error(CURL *easy, CURLcode result, const char *errbuf, char *out,
                            size_t out_len)
{
    /* curl 7.x says "Couldn't connect to server"; the operator wants the errno's words. */
    const char *why = errbuf && errbuf[0] ? errbuf : curl_easy_strerror(result);
    long os_errno = 0;

    curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
    const char *os_text = os_errno ? strerror((int)os_errno) : NULL;
    if (os_text && !strstr(why, os_text))
        snprintf(out, out_len, "%s (%s)", why, os_text);
    else
        snprintf(out, out_len, "%s", why);
}
