/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration loader's failures (at a setting's file:line, through util/errbuf) and its
 * typed getters, shared by config.c, instances.c and workloads.c. */
#include "config/config_private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/duration.h"

const char kd_loader_duration_hint[] = "write e.g. \"250ms\", \"30s\", \"5m\", \"1h30m\", \"2d\"";

const char *kd_loader_file_of(const config_setting_t *s)
{
    const char *file = config_setting_source_file(s);
    return file ? file : KD_CONFIG_BUILTIN_FILE;
}

int kd_loader_errf(struct kd_loader *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kd_error_vat(l->err, NULL, 0, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* A message at the setting's file:line, -EINVAL. */
int kd_loader_fail_at(struct kd_loader *l, const config_setting_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kd_error_vat(l->err, kd_loader_file_of(s), (int)config_setting_source_line(s), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int kd_loader_oom(struct kd_loader *l)
{
    kd_loader_errf(l, "out of memory while loading the configuration");
    return -ENOMEM;
}

void kd_loader_join(const char *const *names, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (; *names && used < len; names++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", *names);
}

bool kd_loader_in_list(const char *const *names, const char *name)
{
    for (; *names; names++) {
        if (strcmp(*names, name) == 0)
            return true;
    }
    return false;
}

/* ---- Typed getters: each fails with "file:line: <what>: expected ..." ---------------------- */

int kd_loader_get_string(struct kd_loader *l, const config_setting_t *s, const char *what,
                         const char *expected, const char **ret_text)
{
    const char *text =
        config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
    if (!text || !*text)
        return kd_loader_fail_at(l, s, "%s: expected %s", what, expected);
    *ret_text = text;
    return 0;
}

int kd_loader_dup_string(struct kd_loader *l, const config_setting_t *s, const char *what,
                         const char *expected, char **ret_copy)
{
    const char *text = NULL;
    int r = kd_loader_get_string(l, s, what, expected, &text);
    if (r < 0)
        return r;
    char *copy = strdup(text);
    if (!copy)
        return kd_loader_oom(l);
    free(*ret_copy);
    *ret_copy = copy;
    return 0;
}

/* A positive duration written as a string. */
int kd_loader_get_duration(struct kd_loader *l, const config_setting_t *s, const char *what,
                           int64_t *ret_ms)
{
    int type = config_setting_type(s);
    if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)
        return kd_loader_fail_at(l, s, "%s: a bare number is not a duration; %s (in quotes)", what,
                                 kd_loader_duration_hint);
    if (type != CONFIG_TYPE_STRING)
        return kd_loader_fail_at(l, s, "%s: expected a duration in quotes; %s", what,
                                 kd_loader_duration_hint);
    const char *text = config_setting_get_string(s);
    int64_t ms;
    if (kd_duration_parse(text, &ms) < 0)
        return kd_loader_fail_at(l, s, "%s: invalid duration \"%s\"; %s", what, text,
                                 kd_loader_duration_hint);
    if (ms <= 0)
        return kd_loader_fail_at(l, s, "%s: \"%s\" must be greater than zero", what, text);
    *ret_ms = ms;
    return 0;
}

char *kd_loader_resolve(const char *base_dir, const char *path)
{
    char *out;
    if (path[0] == '/')
        return strdup(path);
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    if (asprintf(&out, "%s/%s", base_dir, path) < 0)
        return NULL;
    return out;
}

int kd_loader_check_list(struct kd_loader *l, const config_setting_t *s, const char *what,
                         const char *example)
{
    if (config_setting_type(s) != CONFIG_TYPE_LIST)
        return kd_loader_fail_at(l, s, "%s: expected a list of groups, e.g. %s = ( %s );", what,
                                 what, example);
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_GROUP)
            return kd_loader_fail_at(l, e, "%s[%d]: expected a group, e.g. %s", what, i, example);
    }
    return 0;
}
