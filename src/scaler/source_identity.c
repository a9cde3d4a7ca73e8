/* SPDX-License-Identifier: Apache-2.0 */
/* Canonical rendering of a source definition (see source_identity.h). */
#include "scaler/source_identity.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_string(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static int by_name(const void *a, const void *b)
{
    const config_setting_t *const *x = a;
    const config_setting_t *const *y = b;
    return strcmp(config_setting_name(*x), config_setting_name(*y));
}

static int put_setting(FILE *out, const config_setting_t *s);

static int put_group(FILE *out, const config_setting_t *group)
{
    int n = config_setting_length(group);
    const config_setting_t **members;

    if (n == 0) {
        fputs("{}", out);
        return 0;
    }
    members = malloc((size_t)n * sizeof(*members));
    if (!members)
        return -ENOMEM;
    for (int i = 0; i < n; i++)
        members[i] = config_setting_get_elem(group, (unsigned)i);
    qsort(members, (size_t)n, sizeof(*members), by_name);
    fputc('{', out);
    int r = 0;
    for (int i = 0; i < n && r == 0; i++) {
        put_string(out, config_setting_name(members[i]));
        fputc('=', out);
        r = put_setting(out, members[i]);
        fputc(';', out);
    }
    fputc('}', out);
    free(members);
    return r;
}

static int put_setting(FILE *out, const config_setting_t *s)
{
    int r = 0;

    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP:
        return put_group(out, s);
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        fprintf(out, "i%lld", config_setting_get_int64(s));
        return 0;
    case CONFIG_TYPE_FLOAT:
        /* %a is exact: two floats render alike only when they are equal */
        fprintf(out, "f%a", config_setting_get_float(s));
        return 0;
    case CONFIG_TYPE_STRING:
        put_string(out, config_setting_get_string(s));
        return 0;
    case CONFIG_TYPE_BOOL:
        fputs(config_setting_get_bool(s) ? "true" : "false", out);
        return 0;
    case CONFIG_TYPE_ARRAY:
    case CONFIG_TYPE_LIST: {
        bool list = config_setting_type(s) == CONFIG_TYPE_LIST;
        int n = config_setting_length(s);
        fputc(list ? '(' : '[', out);
        for (int i = 0; i < n && r == 0; i++) {
            if (i > 0)
                fputc(',', out);
            r = put_setting(out, config_setting_get_elem(s, (unsigned)i));
        }
        fputc(list ? ')' : ']', out);
        return r;
    }
    default:
        fputs("none", out);
        return 0;
    }
}

int kd_source_identity_render(const struct kd_config *config, const struct kd_config_source *source,
                              char **ret_text)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    if (!out)
        return -ENOMEM;
    fputs("name=", out);
    put_string(out, source->name);
    fputs(";plugin=", out);
    put_string(out, source->plugin);
    fputs(";plugin_dir=", out);
    put_string(out, config->plugin_dir);
    fputs(";base_dir=", out);
    put_string(out, config->base_dir);
    /* Settings given by flag or environment only: plugin options may default from them
     * (kd_option.host_default) without the group saying so. */
    for (size_t i = 0; i < kd_settings_count; i++) {
        if (!(kd_settings[i].flags & KD_SETTING_NOT_IN_FILE))
            continue;
        fprintf(out, ";%s=", kd_settings[i].key);
        put_string(out, config->text[i]);
    }
    fprintf(out, ";refresh=%" PRId64 ";timeout=%" PRId64 ";idle_evict=%" PRId64 ";group=",
            source->refresh_ms, source->timeout_ms, source->idle_evict_ms);
    int r = source->group ? put_setting(out, source->group) : (fputs("none", out), 0);
    bool failed = ferror(out) != 0;
    if (fclose(out) != 0 || failed || r < 0 || !text) {
        free(text);
        return -ENOMEM;
    }
    *ret_text = text;
    return 0;
}
