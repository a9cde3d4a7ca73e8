/* SPDX-License-Identifier: Apache-2.0 */
/* Option tables -> plugin config structs: defaults, then the libconfig group's keys, then the
 * required ones. Pure: reads libconfig's tree, never logs; errors go to the caller's buffer. */
#include "plugin/plugin_options.h"
#include "util/errbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/duration.h"

struct type_info {
    const char *name;
    size_t size;
    size_t align;
};

static const struct type_info types[] = {
    [KD_OPTION_STRING] = {"string", sizeof(char *), alignof(char *)},
    [KD_OPTION_INT] = {"int", sizeof(int64_t), alignof(int64_t)},
    [KD_OPTION_DOUBLE] = {"double", sizeof(double), alignof(double)},
    [KD_OPTION_BOOL] = {"bool", sizeof(bool), alignof(bool)},
    [KD_OPTION_DURATION] = {"duration", sizeof(int64_t), alignof(int64_t)},
    [KD_OPTION_SIZE] = {"size", sizeof(int64_t), alignof(int64_t)},
    [KD_OPTION_LIST] = {"list", sizeof(char **), alignof(char **)},
};

static const struct type_info *type_of(const struct kd_option *opt)
{
    if (opt->type < KD_OPTION_STRING || opt->type > KD_OPTION_LIST)
        return NULL;
    return &types[opt->type];
}

/* The daemon-wide setting an option takes its default from, looked up by name in the host's
 * table; NULL when it names none or the table does not have it. */
static const struct kd_plugin_setting *setting_of(const struct kd_option *opt,
                                                  const struct kd_plugin_setting *settings)
{
    if (!opt->host_default)
        return NULL;
    for (const struct kd_plugin_setting *s = settings; s && s->name; s++) {
        if (strcmp(opt->host_default, s->name) == 0)
            return s;
    }
    return NULL;
}

static const char *host_default_value(const struct kd_option *opt,
                                      const struct kd_plugin_setting *settings)
{
    const struct kd_plugin_setting *s = setting_of(opt, settings);
    return s ? s->value : NULL;
}

static void settings_list(const struct kd_plugin_setting *settings, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const struct kd_plugin_setting *s = settings; s && s->name && used < len; s++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", s->name);
    if (used == 0)
        snprintf(buf, len, "none");
}

static void *field(void *config, const struct kd_option *opt)
{
    return (char *)config + opt->offset;
}

/* Parses text as the config file would spell the value. Strings are not touched. */
static int parse_text(enum kd_option_type type, const char *text, void *ret_value)
{
    char *end;
    switch (type) {
    case KD_OPTION_STRING:
    case KD_OPTION_LIST:
        return 0;
    case KD_OPTION_INT: {
        errno = 0;
        long long v = strtoll(text, &end, 0);
        if (end == text || *end)
            return -EINVAL;
        if (errno == ERANGE)
            return -ERANGE;
        *(int64_t *)ret_value = v;
        return 0;
    }
    case KD_OPTION_DOUBLE: {
        double v = strtod(text, &end);
        if (end == text || *end)
            return -EINVAL;
        *(double *)ret_value = v;
        return 0;
    }
    case KD_OPTION_BOOL:
        if (strcmp(text, "true") == 0)
            *(bool *)ret_value = true;
        else if (strcmp(text, "false") == 0)
            *(bool *)ret_value = false;
        else
            return -EINVAL;
        return 0;
    case KD_OPTION_DURATION: {
        int64_t ms;
        int r = kd_duration_parse(text, &ms);
        if (r < 0)
            return r;
        if (ms < 0)
            return -EINVAL;
        *(int64_t *)ret_value = ms;
        return 0;
    }
    case KD_OPTION_SIZE:
        return kd_size_parse(text, (int64_t *)ret_value);
    }
    return -EINVAL;
}

int kd_plugin_options_validate(const struct kd_option *table, size_t config_size, char *err,
                               size_t err_len)
{
    if (!table)
        return 0;
    for (const struct kd_option *opt = table; opt->name; opt++) {
        const struct type_info *ti = type_of(opt);
        if (!ti) {
            kd_errbuf_printf(err, err_len, "option \"%s\" has unknown type %d", opt->name,
                             (int)opt->type);
            return -EINVAL;
        }
        if (opt->name[0] == '\0') {
            kd_errbuf_printf(err, err_len, "an option has an empty name");
            return -EINVAL;
        }
        for (const struct kd_option *prev = table; prev != opt; prev++) {
            if (strcmp(prev->name, opt->name) == 0) {
                kd_errbuf_printf(err, err_len, "option \"%s\" is declared twice", opt->name);
                return -EINVAL;
            }
        }
        if (opt->offset > config_size || ti->size > config_size - opt->offset) {
            kd_errbuf_printf(err, err_len,
                             "option \"%s\" (%s at offset %zu, %zu bytes) overruns config_size %zu",
                             opt->name, ti->name, opt->offset, ti->size, config_size);
            return -EINVAL;
        }
        if (opt->offset % ti->align != 0) {
            kd_errbuf_printf(err, err_len, "option \"%s\" (%s) is misaligned at offset %zu",
                             opt->name, ti->name, opt->offset);
            return -EINVAL;
        }
        union {
            int64_t i;
            double d;
            bool b;
        } scratch;
        if (opt->default_value && parse_text(opt->type, opt->default_value, &scratch) < 0) {
            kd_errbuf_printf(err, err_len, "option \"%s\": default \"%s\" is not a valid %s",
                             opt->name, opt->default_value, ti->name);
            return -EINVAL;
        }
    }
    return 0;
}

void kd_plugin_options_release(const struct kd_option *table, void *config)
{
    if (!table || !config)
        return;
    for (const struct kd_option *opt = table; opt->name; opt++) {
        if (opt->type == KD_OPTION_STRING) {
            char **slot = field(config, opt);
            free(*slot);
            *slot = NULL;
        } else if (opt->type == KD_OPTION_LIST) {
            char ***slot = field(config, opt);
            for (char **item = *slot; item && *item; item++)
                free(*item);
            free(*slot);
            *slot = NULL;
        }
    }
}

static const char *src_file(const config_setting_t *s)
{
    const char *file = config_setting_source_file(s);
    return file ? file : "<built-in>";
}

/* The message at the setting's file:line, -EINVAL. */
static int fail_at(struct kd_error *err, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct kd_error *err, const config_setting_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kd_error_vat(err, src_file(s), config_setting_source_line(s), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static bool is_host_key(const char *const *host_keys, const char *name)
{
    for (; host_keys && *host_keys; host_keys++) {
        if (strcmp(*host_keys, name) == 0)
            return true;
    }
    return false;
}

static const struct kd_option *find_option(const struct kd_option *table, const char *name)
{
    for (const struct kd_option *opt = table; opt && opt->name; opt++) {
        if (strcmp(opt->name, name) == 0)
            return opt;
    }
    return NULL;
}

static void allowed_list(const struct kd_option *table, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const struct kd_option *opt = table; opt && opt->name && used < len; opt++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", opt->name);
    if (used == 0)
        snprintf(buf, len, "none (this plugin has no options)");
}

static int set_string(const struct kd_option *opt, void *config, const char *value)
{
    char **slot = field(config, opt);
    char *copy = strdup(value);
    if (!copy)
        return -ENOMEM;
    free(*slot);
    *slot = copy;
    return 0;
}

/* Replaces a list option's value with the `n` strings of `items` (copied). */
static int set_list(const struct kd_option *opt, void *config, const char *const *items, size_t n)
{
    char ***slot = field(config, opt);
    char **list = calloc(n + 1, sizeof(*list));
    if (!list)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        list[i] = strdup(items[i]);
        if (!list[i]) {
            while (i > 0)
                free(list[--i]);
            free(list);
            return -ENOMEM;
        }
    }
    for (char **item = *slot; item && *item; item++)
        free(*item);
    free(*slot);
    *slot = list;
    return 0;
}

/* Applies one default; the host's setting, when the operator gave it, replaces the table's.
 * A required option ignores default_value but takes the host's setting: "--forecaster-url
 * supplies the url of http sources without one". A list always ends up allocated. */
static int apply_default(const struct kd_option *opt, const struct kd_plugin_setting *settings,
                         const char *label, void *config, struct kd_error *err)
{
    const char *from_host = host_default_value(opt, settings);
    const char *text = from_host;
    if (!text && !(opt->flags & KD_OPTION_REQUIRED))
        text = opt->default_value;
    if (opt->type == KD_OPTION_LIST)
        return set_list(opt, config, &text, text ? 1 : 0);
    if (!text)
        return 0;
    if (opt->type == KD_OPTION_STRING)
        return set_string(opt, config, text);
    if (parse_text(opt->type, text, field(config, opt)) < 0) {
        if (from_host)
            kd_error_set(err, "%s: option \"%s\": invalid %s \"%s\" from %s", label, opt->name,
                         type_of(opt)->name, text, setting_of(opt, settings)->how);
        else
            kd_error_set(err, "%s: option \"%s\": invalid default \"%s\"", label, opt->name, text);
        return -EINVAL;
    }
    return 0;
}

/* A list from a string (a list of one) or a libconfig list / array of strings. 1: not a
 * list of strings at all (the caller says what was expected), else 0 or a negative errno. */
static int apply_list(const struct kd_option *opt, const config_setting_t *s, void *config,
                      const char *label, struct kd_error *err)
{
    int type = config_setting_type(s);
    if (type == CONFIG_TYPE_STRING) {
        const char *one = config_setting_get_string(s);
        return set_list(opt, config, &one, 1);
    }
    if (type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY)
        return 1;
    int n = config_setting_length(s);
    const char **items = calloc((size_t)n + 1, sizeof(*items));
    if (!items)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        items[i] =
            config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : NULL;
        if (!items[i]) {
            fail_at(err, s,
                    "%s: option \"%s\": element %d is not a string; write a list of "
                    "strings, e.g. [\"a\", \"b\"]",
                    label, opt->name, i + 1);
            free(items);
            return -EINVAL;
        }
    }
    int r = set_list(opt, config, items, (size_t)n);
    free(items);
    return r;
}

/* A duration from a string with a unit; a bare number is refused. 1: neither (mistyped). */
static int apply_duration(const struct kd_option *opt, const config_setting_t *s, bool is_int,
                          const char *text, const char *label, void *slot, struct kd_error *err)
{
    if (is_int)
        return fail_at(err, s,
                       "%s: option \"%s\": a bare number is not a duration; write it with a unit "
                       "in quotes, e.g. \"30s\" (units: ms, s, m, h, d, w)",
                       label, opt->name);
    if (!text)
        return 1;
    if (parse_text(opt->type, text, slot) < 0)
        return fail_at(err, s,
                       "%s: option \"%s\": invalid duration \"%s\"; write e.g. \"250ms\", "
                       "\"30s\", \"5m\", \"1h30m\", \"2d\" (not negative)",
                       label, opt->name, text);
    return 0;
}

/* A size from a number of bytes or a string with a unit. 1: neither (mistyped). */
static int apply_size(const struct kd_option *opt, const config_setting_t *s, bool is_int,
                      const char *text, const char *label, void *slot, struct kd_error *err)
{
    if (is_int) {
        long long v = config_setting_get_int64(s);
        if (v < 0)
            return fail_at(err, s, "%s: option \"%s\": a size cannot be negative", label,
                           opt->name);
        *(int64_t *)slot = v;
        return 0;
    }
    if (!text)
        return 1;
    if (parse_text(opt->type, text, slot) < 0)
        return fail_at(err, s,
                       "%s: option \"%s\": invalid size \"%s\"; write bytes or e.g. \"64KiB\", "
                       "\"4MiB\", \"1GiB\", \"10MB\"",
                       label, opt->name, text);
    return 0;
}

/* Stores one scalar; 1 if the setting's libconfig type does not fit the option. */
static int apply_scalar(const struct kd_option *opt, const config_setting_t *s, void *slot)
{
    int type = config_setting_type(s);
    bool is_int = type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;

    switch (opt->type) {
    case KD_OPTION_INT:
        if (!is_int)
            return 1;
        *(int64_t *)slot = config_setting_get_int64(s);
        return 0;
    case KD_OPTION_DOUBLE:
        if (is_int)
            *(double *)slot = (double)config_setting_get_int64(s);
        else if (type == CONFIG_TYPE_FLOAT)
            *(double *)slot = config_setting_get_float(s);
        else
            return 1;
        return 0;
    case KD_OPTION_BOOL:
        if (type != CONFIG_TYPE_BOOL)
            return 1;
        *(bool *)slot = config_setting_get_bool(s) != 0;
        return 0;
    default:
        return 1;
    }
}

static int apply_setting(const struct kd_option *opt, const config_setting_t *s, const char *label,
                         void *config, struct kd_error *err)
{
    static const char *const expected[] = {
        [KD_OPTION_STRING] = "a string in double quotes",
        [KD_OPTION_INT] = "an integer",
        [KD_OPTION_DOUBLE] = "a number",
        [KD_OPTION_BOOL] = "true or false",
        [KD_OPTION_DURATION] = "a duration in quotes, e.g. \"30s\"",
        [KD_OPTION_SIZE] = "a size, e.g. 1048576 or \"4MiB\"",
        [KD_OPTION_LIST] = "a string or a list of strings, e.g. [\"a\", \"b\"]",
    };
    int type = config_setting_type(s);
    bool is_int = type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;
    const char *text = type == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
    void *slot = field(config, opt);
    int r;

    switch (opt->type) {
    case KD_OPTION_STRING:
        r = text ? set_string(opt, config, text) : 1;
        break;
    case KD_OPTION_LIST:
        r = apply_list(opt, s, config, label, err);
        break;
    case KD_OPTION_DURATION:
        r = apply_duration(opt, s, is_int, text, label, slot, err);
        break;
    case KD_OPTION_SIZE:
        r = apply_size(opt, s, is_int, text, label, slot, err);
        break;
    default:
        r = apply_scalar(opt, s, slot);
        break;
    }
    if (r <= 0)
        return r;
    return fail_at(err, s, "%s: option \"%s\": expected %s", label, opt->name, expected[opt->type]);
}

int kd_plugin_options_apply(const struct kd_option *table, const config_setting_t *group,
                            const char *const *host_keys, const struct kd_plugin_setting *settings,
                            const char *label, void *config, struct kd_error *err)
{
    int r;

    kd_error_clear(err);
    for (const struct kd_option *opt = table; settings && opt && opt->name; opt++) {
        if (opt->host_default && !setting_of(opt, settings)) {
            char known[256];
            settings_list(settings, known, sizeof(known));
            kd_error_set(err,
                         "%s: option \"%s\" takes its default from setting \"%s\", which this "
                         "scaler does not have (it has: %s); upgrade the scaler",
                         label, opt->name, opt->host_default, known);
            return -EINVAL;
        }
    }
    for (const struct kd_option *opt = table; opt && opt->name; opt++) {
        r = apply_default(opt, settings, label, config, err);
        if (r < 0)
            goto fail_release;
    }

    int n = group ? config_setting_length(group) : 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        if (!name)
            continue;
        const struct kd_option *opt = find_option(table, name);
        /* A host key the plugin also declares (the http source's `timeout`) reaches both: the
         * host enforces it, the plugin uses it for its own I/O. */
        if (is_host_key(host_keys, name) && !opt)
            continue;
        if (!opt) {
            char allowed[512];
            allowed_list(table, allowed, sizeof(allowed));
            r = fail_at(err, s, "%s: unknown option \"%s\"; allowed: %s", label, name, allowed);
            goto fail_release;
        }
        r = apply_setting(opt, s, label, config, err);
        if (r < 0)
            goto fail_release;
    }

    for (const struct kd_option *opt = table; opt && opt->name; opt++) {
        if (!(opt->flags & KD_OPTION_REQUIRED))
            continue;
        if (group && config_setting_get_member(group, opt->name))
            continue;
        if (host_default_value(opt, settings))
            continue;
        kd_error_at(err, group ? src_file(group) : NULL,
                    group ? config_setting_source_line(group) : 0,
                    "%s: missing required option \"%s\" (%s: %s)", label, opt->name,
                    type_of(opt)->name, opt->description ? opt->description : "no description");
        r = -EINVAL;
        goto fail_release;
    }
    return 0;

fail_release:
    if (r == -ENOMEM)
        kd_error_set(err, "%s: out of memory", label);
    kd_plugin_options_release(table, config);
    return r;
}

static void default_text(const struct kd_option *opt, const struct kd_plugin_setting *settings,
                         char *buf, size_t len)
{
    const struct kd_plugin_setting *hd = setting_of(opt, settings);
    const char *value = opt->default_value;
    char from[128] = "";

    if (hd)
        snprintf(from, sizeof(from), " (%s)", hd->how ? hd->how : hd->name);
    else if (opt->host_default)
        snprintf(from, sizeof(from), " (setting %s)", opt->host_default);
    if (opt->flags & KD_OPTION_REQUIRED)
        snprintf(buf, len, "(required)%s", from);
    else if (opt->type == KD_OPTION_LIST)
        snprintf(buf, len, "[%s%s%s]%s", value ? "\"" : "", value ? value : "", value ? "\"" : "",
                 from);
    else if (opt->type == KD_OPTION_STRING && value)
        snprintf(buf, len, "\"%s\"%s", value, from);
    else
        snprintf(buf, len, "%s%s", value ? value : "-", from);
}

void kd_plugin_options_describe(const struct kd_option *table,
                                const struct kd_plugin_setting *settings, FILE *out)
{
    int w_name = (int)strlen("option"), w_type = (int)strlen("type"),
        w_def = (int)strlen("default");
    char def[256];

    if (!table || !table->name) {
        fprintf(out, "  (no options)\n");
        return;
    }
    for (const struct kd_option *opt = table; opt->name; opt++) {
        const struct type_info *ti = type_of(opt);
        default_text(opt, settings, def, sizeof(def));
        if ((int)strlen(opt->name) > w_name)
            w_name = (int)strlen(opt->name);
        if (ti && (int)strlen(ti->name) > w_type)
            w_type = (int)strlen(ti->name);
        if ((int)strlen(def) > w_def)
            w_def = (int)strlen(def);
    }
    fprintf(out, "  %-*s  %-*s  %-*s  %s\n", w_name, "option", w_type, "type", w_def, "default",
            "description");
    for (const struct kd_option *opt = table; opt->name; opt++) {
        const struct type_info *ti = type_of(opt);
        default_text(opt, settings, def, sizeof(def));
        fprintf(out, "  %-*s  %-*s  %-*s  %s\n", w_name, opt->name, w_type, ti ? ti->name : "?",
                w_def, def, opt->description ? opt->description : "");
    }
}
