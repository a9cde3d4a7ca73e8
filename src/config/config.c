/* SPDX-License-Identifier: Apache-2.0 */
/* libconfig file (or the built-in upstream-mode text) + overrides -> struct kd_config. Checks
 * structure, types and references; plugin keys are left in the tree for the plugin host. */
#include "config/config.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/duration.h"
#include "util/errbuf.h"

#define BUILTIN_FILE "<built-in>"
#define DEFAULT_FORECASTER_URL "http://localhost:8081"
#define DEFAULT_REFRESH_MS 10000
#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_IDLE_EVICT_MS 600000

const char *const kd_config_source_keys[] = {"name",    "plugin",     "refresh",
                                             "timeout", "idle_evict", NULL};
const char *const kd_config_policy_keys[] = {"name", "plugin", NULL};

/* Top-level keys that are lists of groups, not settings (kd_settings[] has those). */
static const char *const list_keys[] = {"sources", "policies", "workloads", NULL};

_Static_assert(sizeof(enum kd_log_level) == sizeof(int) &&
                   sizeof(enum kd_log_format) == sizeof(int),
               "KD_SETTING_ENUM fields are stored as int");

static const char *const workload_keys[] = {"match",
                                            "source",
                                            "policy",
                                            "stale_after",
                                            "fallback_replicas",
                                            "on_stale",
                                            "activation",
                                            "activation_lead",
                                            "activation_threshold",
                                            "mode",
                                            "overrides",
                                            "lead_time_max",
                                            "stale_after_max",
                                            NULL};

const char *const kd_override_names[KD_OVERRIDE_COUNT] = {
    [KD_OVERRIDE_LEAD_TIME] = "leadTime",
    [KD_OVERRIDE_POLICY] = "policy",
    [KD_OVERRIDE_STALE_AFTER] = "staleAfter",
    [KD_OVERRIDE_FALLBACK_REPLICAS] = "fallbackReplicas",
    [KD_OVERRIDE_ACTIVATION] = "activation",
    [KD_OVERRIDE_ACTIVATION_LEAD_TIME] = "activationLeadTime",
    [KD_OVERRIDE_MODE] = "mode",
};

/* Upstream mode: one http source at FORECASTER_URL, the max policy at LEAD_TIME, route "*".
 * The url is added through the API so no quoting of operator text is needed. */
static const char builtin_text[] =
    "sources = ( { name = \"forecaster\"; plugin = \"http\"; } );\n"
    "policies = ( { name = \"lead-time\"; plugin = \"max\"; } );\n"
    "workloads = ( { match = \"*\"; source = \"forecaster\"; policy = \"lead-time\"; } );\n";

static const char duration_hint[] = "write e.g. \"250ms\", \"30s\", \"5m\", \"1h30m\", \"2d\"";

struct loader {
    struct kd_config *c;
    struct kd_error *err; /* written out by kd_config_load on failure */
};

static const char *file_of(const config_setting_t *s)
{
    const char *file = config_setting_source_file(s);
    return file ? file : BUILTIN_FILE;
}

/* A message without an origin, -EINVAL. */
static int errf(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int errf(struct loader *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kd_error_vat(l->err, NULL, 0, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* A message at file:line (libconfig's parse errors), -EINVAL. */
static int fail_file_line(struct loader *l, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_file_line(struct loader *l, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kd_error_vat(l->err, file, line, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* A message at the setting's file:line, -EINVAL. */
static int fail_at(struct loader *l, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct loader *l, const config_setting_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kd_error_vat(l->err, file_of(s), (int)config_setting_source_line(s), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int oom(struct loader *l)
{
    errf(l, "out of memory while loading the configuration");
    return -ENOMEM;
}

static void join(const char *const *names, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (; *names && used < len; names++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", *names);
}

static bool in_list(const char *const *names, const char *name)
{
    for (; *names; names++) {
        if (strcmp(*names, name) == 0)
            return true;
    }
    return false;
}

/* ---- Typed getters: each fails with "file:line: <what>: expected ..." ---------------------- */

static int get_string(struct loader *l, const config_setting_t *s, const char *what,
                      const char *expected, const char **ret_text)
{
    const char *text =
        config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
    if (!text || !*text)
        return fail_at(l, s, "%s: expected %s", what, expected);
    *ret_text = text;
    return 0;
}

static int dup_string(struct loader *l, const config_setting_t *s, const char *what,
                      const char *expected, char **ret_copy)
{
    const char *text = NULL;
    int r = get_string(l, s, what, expected, &text);
    if (r < 0)
        return r;
    char *copy = strdup(text);
    if (!copy)
        return oom(l);
    free(*ret_copy);
    *ret_copy = copy;
    return 0;
}

/* A positive duration written as a string. */
static int get_duration(struct loader *l, const config_setting_t *s, const char *what,
                        int64_t *ret_ms)
{
    int type = config_setting_type(s);
    if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)
        return fail_at(l, s, "%s: a bare number is not a duration; %s (in quotes)", what,
                       duration_hint);
    if (type != CONFIG_TYPE_STRING)
        return fail_at(l, s, "%s: expected a duration in quotes; %s", what, duration_hint);
    const char *text = config_setting_get_string(s);
    int64_t ms;
    if (kd_duration_parse(text, &ms) < 0)
        return fail_at(l, s, "%s: invalid duration \"%s\"; %s", what, text, duration_hint);
    if (ms <= 0)
        return fail_at(l, s, "%s: \"%s\" must be greater than zero", what, text);
    *ret_ms = ms;
    return 0;
}

static char *resolve(const char *base_dir, const char *path)
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

/* ---- Settings (kd_settings[]): defaults, file values, overrides ---------------------------- */

static void *field_of(struct kd_config *c, const struct kd_setting *s)
{
    return (char *)c + s->offset;
}

/* The value into its field; strings are copied, paths made absolute against base_dir. */
static int store(struct loader *l, const struct kd_setting *s, const struct kd_setting_value *v,
                 const char *base_dir)
{
    struct kd_config *c = l->c;
    void *field = field_of(c, s);
    char *text = strdup(v->text);
    char *copy = NULL;

    if (!text)
        return oom(l);
    switch (s->type) {
    case KD_SETTING_STRING:
    case KD_SETTING_ADDRESS:
        copy = strdup(v->text);
        break;
    case KD_SETTING_PATH:
        copy = resolve(base_dir, v->text);
        break;
    case KD_SETTING_BOOL:
        *(bool *)field = v->b;
        break;
    case KD_SETTING_INT:
    case KD_SETTING_DURATION:
    case KD_SETTING_SIZE:
        *(int64_t *)field = v->i;
        break;
    case KD_SETTING_ENUM:
        *(int *)field = (int)v->i;
        break;
    }
    if (s->type == KD_SETTING_STRING || s->type == KD_SETTING_ADDRESS ||
        s->type == KD_SETTING_PATH) {
        if (!copy) {
            free(text);
            return oom(l);
        }
        free(*(char **)field);
        *(char **)field = copy;
    }
    size_t index = kd_setting_index(s);
    free(c->text[index]);
    c->text[index] = text;
    return 0;
}

static int apply_defaults(struct loader *l)
{
    for (size_t i = 0; i < kd_settings_count; i++) {
        const struct kd_setting *s = &kd_settings[i];
        struct kd_setting_value v;
        char why[256];
        if (!s->def)
            continue;
        if (kd_setting_parse(s, s->def, false, &v, why, sizeof(why)) < 0)
            return errf(l, "built-in default of %s: %s", s->key, why); /* a test checks all */
        int r = store(l, s, &v, "/");
        if (r < 0)
            return r;
    }
    return 0;
}

/* What a file value of this type looks like, for "expected ..." messages. */
static void expected(const struct kd_setting *s, char *buf, size_t len)
{
    switch (s->type) {
    case KD_SETTING_ADDRESS:
        snprintf(buf, len, "a string like \"%s\"", s->def ? s->def : "host:port");
        return;
    case KD_SETTING_PATH:
        snprintf(buf, len, "a path as a string");
        return;
    case KD_SETTING_ENUM: {
        size_t used = (size_t)snprintf(buf, len, "a string: ");
        for (const char *p = s->choices; *p && used + 4 < len; p++)
            used += (size_t)snprintf(buf + used, len - used, *p == '|' ? " | " : "%c", *p);
        return;
    }
    case KD_SETTING_BOOL:
        snprintf(buf, len, "true or false");
        return;
    case KD_SETTING_INT:
        snprintf(buf, len, "an integer");
        return;
    case KD_SETTING_SIZE:
        snprintf(buf, len, "a size like \"4MiB\" or a number of bytes");
        return;
    case KD_SETTING_DURATION:
        snprintf(buf, len, "a duration in quotes; %s", duration_hint);
        return;
    case KD_SETTING_STRING:
        break;
    }
    snprintf(buf, len, "a string");
}

/* A file value, checked by type and range with the same parser as flags. */
static int parse_setting(struct loader *l, const struct kd_setting *s, const config_setting_t *cs)
{
    int type = config_setting_type(cs);
    bool integer = type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;
    struct kd_setting_value v = {0};
    char why[512], number[32];

    if (s->type == KD_SETTING_BOOL && type == CONFIG_TYPE_BOOL) {
        v.b = config_setting_get_bool(cs) != 0;
        v.text = v.b ? "true" : "false";
    } else if ((s->type == KD_SETTING_INT || s->type == KD_SETTING_SIZE) && integer) {
        v.i = config_setting_get_int64(cs);
        snprintf(number, sizeof(number), "%lld", (long long)v.i);
        v.text = number;
        if (kd_setting_check_range(s, v.i, number, why, sizeof(why)) < 0)
            return fail_at(l, cs, "%s: %s", s->key, why);
    } else if (s->type == KD_SETTING_DURATION && integer) {
        return fail_at(l, cs, "%s: a bare number is not a duration; %s (in quotes)", s->key,
                       duration_hint);
    } else if (type == CONFIG_TYPE_STRING && s->type != KD_SETTING_BOOL &&
               s->type != KD_SETTING_INT) {
        if (kd_setting_parse(s, config_setting_get_string(cs), false, &v, why, sizeof(why)) < 0)
            return fail_at(l, cs, "%s: %s", s->key, why);
    } else {
        expected(s, why, sizeof(why));
        return fail_at(l, cs, "%s: expected %s", s->key, why);
    }
    return store(l, s, &v, l->c->base_dir);
}

/* The settings a group ("limits") holds, or NULL if no setting key starts with "name.". */
static bool is_group(const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < kd_settings_count; i++) {
        const char *key = kd_settings[i].key;
        if (strncmp(key, name, len) == 0 && key[len] == '.')
            return true;
    }
    return false;
}

/* The part of a file key below `group` ("" for the top level), *ret_len its first segment's
 * length; NULL if the key is not in the file or not under the group. */
static const char *below(const struct kd_setting *s, const char *group, size_t *ret_len)
{
    size_t glen = strlen(group);
    if (s->flags & KD_SETTING_NOT_IN_FILE)
        return NULL;
    if (glen && (strncmp(s->key, group, glen) != 0 || s->key[glen] != '.'))
        return NULL;
    const char *rest = s->key + (glen ? glen + 1 : 0);
    *ret_len = strcspn(rest, ".");
    return rest;
}

/* "a, b, c": the file keys directly under `group` ("" for the top level), then `extra`. */
static void allowed_keys(const char *group, const char *const *extra, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < kd_settings_count && used < len; i++) {
        size_t n, m;
        const char *rest = below(&kd_settings[i], group, &n);
        bool seen = !rest; /* a group is listed once, at its first key */
        for (size_t j = 0; j < i && !seen; j++) {
            const char *other = below(&kd_settings[j], group, &m);
            seen = other && m == n && strncmp(other, rest, n) == 0;
        }
        if (!seen)
            used +=
                (size_t)snprintf(buf + used, len - used, "%s%.*s", used ? ", " : "", (int)n, rest);
    }
    for (; extra && *extra && used < len; extra++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", *extra);
}

static int parse_setting_group(struct loader *l, const config_setting_t *g, const char *name)
{
    char key[128], allowed[512];
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail_at(l, g, "%s: expected a group, e.g. %s = { ... };", name, name);
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        snprintf(key, sizeof(key), "%s.%s", name, config_setting_name(m));
        const struct kd_setting *s = kd_setting_find(key);
        if (!s) {
            allowed_keys(name, NULL, allowed, sizeof(allowed));
            return fail_at(l, m, "%s: unknown setting \"%s\"; allowed: %s", name,
                           config_setting_name(m), allowed);
        }
        int r = parse_setting(l, s, m);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- sources and policies ----------------------------------------------------------------- */

static int check_list(struct loader *l, const config_setting_t *s, const char *what,
                      const char *example)
{
    if (config_setting_type(s) != CONFIG_TYPE_LIST)
        return fail_at(l, s, "%s: expected a list of groups, e.g. %s = ( %s );", what, what,
                       example);
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_GROUP)
            return fail_at(l, e, "%s[%d]: expected a group, e.g. %s", what, i, example);
    }
    return 0;
}

static bool valid_plugin_name(const char *name)
{
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    }
    return *name != '\0';
}

/* name and plugin of one source/policy group; what = "source" or "policy". */
static int parse_name_plugin(struct loader *l, const config_setting_t *g, const char *what,
                             int index, char **ret_name, char **ret_plugin)
{
    const config_setting_t *s = config_setting_get_member(g, "name");
    if (!s)
        return fail_at(l, g, "%s #%d: missing name = \"...\"; every %s needs a unique name", what,
                       index + 1, what);
    char label[64];
    snprintf(label, sizeof(label), "%s name", what);
    int r = dup_string(l, s, label, "a non-empty string", ret_name);
    if (r < 0)
        return r;

    s = config_setting_get_member(g, "plugin");
    if (!s)
        return fail_at(l, g, "%s \"%s\": missing plugin = \"...\" (e.g. \"%s\")", what, *ret_name,
                       strcmp(what, "source") == 0 ? "file" : "max");
    snprintf(label, sizeof(label), "%s \"%s\": plugin", what, *ret_name);
    r = dup_string(l, s, label, "a plugin name as a string", ret_plugin);
    if (r < 0)
        return r;
    if (!valid_plugin_name(*ret_plugin))
        return fail_at(l, s,
                       "%s \"%s\": plugin \"%s\" is not a plugin name; allowed: letters, digits, "
                       "'-' and '_' (\"file\" loads %s-file.so)",
                       what, *ret_name, *ret_plugin, what);
    return 0;
}

static int parse_source(struct loader *l, config_setting_t *g, int index,
                        struct kd_config_source *src)
{
    src->group = g;
    src->file = file_of(g);
    src->line = config_setting_source_line(g);
    src->refresh_ms = DEFAULT_REFRESH_MS;
    src->timeout_ms = DEFAULT_TIMEOUT_MS;
    src->idle_evict_ms = DEFAULT_IDLE_EVICT_MS;

    int r = parse_name_plugin(l, g, "source", index, &src->name, &src->plugin);
    if (r < 0)
        return r;

    static const struct {
        const char *key;
        size_t offset;
    } durations[] = {
        {"refresh", offsetof(struct kd_config_source, refresh_ms)},
        {"timeout", offsetof(struct kd_config_source, timeout_ms)},
        {"idle_evict", offsetof(struct kd_config_source, idle_evict_ms)},
    };
    for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
        const config_setting_t *s = config_setting_get_member(g, durations[i].key);
        if (!s)
            continue;
        char what[160];
        snprintf(what, sizeof(what), "source \"%s\": %s", src->name, durations[i].key);
        r = get_duration(l, s, what, (int64_t *)((char *)src + durations[i].offset));
        if (r < 0)
            return r;
    }

    /* Relative paths in the file are relative to the file, not to the daemon's cwd. */
    config_setting_t *path = config_setting_get_member(g, "path");
    if (path && config_setting_type(path) == CONFIG_TYPE_STRING) {
        const char *text = config_setting_get_string(path);
        if (text[0] != '\0' && text[0] != '/') {
            char *abs = resolve(l->c->base_dir, text);
            if (!abs)
                return oom(l);
            int ok = config_setting_set_string(path, abs);
            free(abs);
            if (!ok)
                return oom(l);
        }
    }
    return 0;
}

static int parse_policy(struct loader *l, config_setting_t *g, int index,
                        struct kd_config_policy *pol)
{
    pol->group = g;
    pol->file = file_of(g);
    pol->line = config_setting_source_line(g);
    return parse_name_plugin(l, g, "policy", index, &pol->name, &pol->plugin);
}

static int parse_sources(struct loader *l, config_setting_t *list)
{
    struct kd_config *c = l->c;
    int r = check_list(l, list, "sources", "{ name = \"demo\"; plugin = \"file\"; }");
    if (r < 0)
        return r;
    int n = config_setting_length(list);
    c->sources = calloc((size_t)n + 1, sizeof(*c->sources));
    if (!c->sources)
        return oom(l);
    for (int i = 0; i < n; i++) {
        struct kd_config_source *src = &c->sources[i];
        c->n_sources = (size_t)i + 1;
        r = parse_source(l, config_setting_get_elem(list, (unsigned)i), i, src);
        if (r < 0)
            return r;
        for (int j = 0; j < i; j++) {
            if (strcmp(c->sources[j].name, src->name) == 0)
                return fail_at(l, src->group,
                               "source \"%s\" is defined twice (first at %s:%d); names must be "
                               "unique",
                               src->name, c->sources[j].file, c->sources[j].line);
        }
    }
    return 0;
}

static int parse_policies(struct loader *l, config_setting_t *list)
{
    struct kd_config *c = l->c;
    int r = check_list(l, list, "policies", "{ name = \"lookahead\"; plugin = \"max\"; }");
    if (r < 0)
        return r;
    int n = config_setting_length(list);
    c->policies = calloc((size_t)n + 1, sizeof(*c->policies));
    if (!c->policies)
        return oom(l);
    for (int i = 0; i < n; i++) {
        struct kd_config_policy *pol = &c->policies[i];
        c->n_policies = (size_t)i + 1;
        r = parse_policy(l, config_setting_get_elem(list, (unsigned)i), i, pol);
        if (r < 0)
            return r;
        for (int j = 0; j < i; j++) {
            if (strcmp(c->policies[j].name, pol->name) == 0)
                return fail_at(l, pol->group,
                               "policy \"%s\" is defined twice (first at %s:%d); names must be "
                               "unique",
                               pol->name, c->policies[j].file, c->policies[j].line);
        }
    }
    return 0;
}

/* ---- workloads ---------------------------------------------------------------------------- */

static void defined_sources(const struct kd_config *c, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->n_sources && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", c->sources[i].name);
    if (!c->n_sources)
        snprintf(buf, len, "none (add a sources list)");
}

static void defined_policies(const struct kd_config *c, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->n_policies && used < len; i++)
        used +=
            (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", c->policies[i].name);
    if (!c->n_policies)
        snprintf(buf, len, "none (add a policies list)");
}

/* A duration >= 0 ("0s" allowed: activation_lead 0 looks at the current step only). */
static int get_duration_zero_ok(struct loader *l, const config_setting_t *s, const char *what,
                                int64_t *ret_ms)
{
    int64_t ms;

    if (config_setting_type(s) == CONFIG_TYPE_STRING &&
        kd_duration_parse(config_setting_get_string(s), &ms) == 0 && ms == 0) {
        *ret_ms = 0;
        return 0;
    }
    return get_duration(l, s, what, ret_ms);
}

/* One of `names` (a NULL-terminated list) as its index. */
static int get_choice(struct loader *l, const config_setting_t *s, const char *what,
                      const char *const *names, int *ret_index)
{
    char allowed[128];

    join(names, allowed, sizeof(allowed));
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        const char *text = config_setting_get_string(s);
        for (int i = 0; names[i]; i++) {
            if (strcmp(names[i], text) == 0) {
                *ret_index = i;
                return 0;
            }
        }
        return fail_at(l, s, "%s: unknown value \"%s\"; allowed: %s", what, text, allowed);
    }
    return fail_at(l, s, "%s: expected one of %s, as a string", what, allowed);
}

/* overrides = ["leadTime", "mode"]: the metadata keys ScaledObject owners may set. */
static int get_overrides(struct loader *l, const config_setting_t *s, const char *what,
                         uint32_t *ret_bits)
{
    char allowed[160];
    uint32_t bits = 0;
    size_t used = 0;

    allowed[0] = '\0';
    for (int k = 0; k < KD_OVERRIDE_COUNT && used < sizeof(allowed); k++)
        used += (size_t)snprintf(allowed + used, sizeof(allowed) - used, "%s%s", k ? ", " : "",
                                 kd_override_names[k]);
    if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
        return fail_at(l, s,
                       "%s: expected an array of key names, e.g. [\"leadTime\", \"mode\"]; "
                       "allowed: %s",
                       what, allowed);
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *name =
            config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : NULL;
        int k = 0;
        while (name && k < KD_OVERRIDE_COUNT && strcmp(kd_override_names[k], name) != 0)
            k++;
        if (!name || k == KD_OVERRIDE_COUNT)
            return fail_at(l, e, "%s[%d]: %s%s%s is not an overridable key; allowed: %s", what, i,
                           name ? "\"" : "", name ? name : "a non-string", name ? "\"" : "",
                           allowed);
        bits |= 1u << k;
    }
    *ret_bits = bits;
    return 0;
}

/* The predictive keys of a route: staleness, activation, mode, overrides and their bounds. */
static int parse_route_predictive(struct loader *l, const config_setting_t *g, const char *label,
                                  struct kd_config_workload *w)
{
    static const char *const on_stale_names[] = {"error", "inactive", NULL};
    static const char *const activation_names[] = {"fresh", "demand", NULL};
    static const char *const mode_names[] = {"active", "shadow", NULL};
    const config_setting_t *s;
    char what[200];
    int choice, r;

    if ((s = config_setting_get_member(g, "on_stale"))) {
        snprintf(what, sizeof(what), "%s: on_stale", label);
        if ((r = get_choice(l, s, what, on_stale_names, &choice)) < 0)
            return r;
        w->on_stale = (enum kd_on_stale)choice;
        w->written |= 1u << KD_ROUTE_ON_STALE;
    }
    if ((s = config_setting_get_member(g, "activation"))) {
        snprintf(what, sizeof(what), "%s: activation", label);
        if ((r = get_choice(l, s, what, activation_names, &choice)) < 0)
            return r;
        w->activation = (enum kd_activation)choice;
        w->written |= 1u << KD_ROUTE_ACTIVATION;
    }
    if ((s = config_setting_get_member(g, "mode"))) {
        snprintf(what, sizeof(what), "%s: mode", label);
        if ((r = get_choice(l, s, what, mode_names, &choice)) < 0)
            return r;
        w->mode = (enum kd_route_mode)choice;
        w->written |= 1u << KD_ROUTE_MODE;
    }
    if ((s = config_setting_get_member(g, "activation_lead"))) {
        snprintf(what, sizeof(what), "%s: activation_lead", label);
        if ((r = get_duration_zero_ok(l, s, what, &w->activation_lead_ms)) < 0)
            return r;
        w->written |= 1u << KD_ROUTE_ACTIVATION_LEAD;
    }
    if ((s = config_setting_get_member(g, "activation_threshold"))) {
        int type = config_setting_type(s);
        double v = type == CONFIG_TYPE_FLOAT ? config_setting_get_float(s)
                   : (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)
                       ? (double)config_setting_get_int64(s)
                       : -1.0;
        if (!(v >= 0.0 && v <= (double)KD_REPLICAS_MAX))
            return fail_at(l, s,
                           "%s: activation_threshold: expected a number of replicas >= 0 (active "
                           "when the policy's value exceeds it)",
                           label);
        w->activation_threshold = v;
        w->written |= 1u << KD_ROUTE_ACTIVATION_THRESHOLD;
    }
    if ((s = config_setting_get_member(g, "overrides"))) {
        snprintf(what, sizeof(what), "%s: overrides", label);
        if ((r = get_overrides(l, s, what, &w->overrides)) < 0)
            return r;
    }
    if ((s = config_setting_get_member(g, "lead_time_max"))) {
        snprintf(what, sizeof(what), "%s: lead_time_max", label);
        if ((r = get_duration_zero_ok(l, s, what, &w->lead_time_max_ms)) < 0)
            return r;
    }
    if ((s = config_setting_get_member(g, "stale_after_max"))) {
        snprintf(what, sizeof(what), "%s: stale_after_max", label);
        if ((r = get_duration(l, s, what, &w->stale_after_max_ms)) < 0)
            return r;
    }
    return 0;
}

static int parse_workload(struct loader *l, const config_setting_t *g, int index,
                          struct kd_config_workload *w)
{
    struct kd_config *c = l->c;
    char label[160], what[200], defined[512];
    int r;

    w->file = file_of(g);
    w->line = config_setting_source_line(g);
    w->stale_after_ms = -1;
    w->fallback_replicas = -1;
    w->activation_lead_ms = -1;
    w->lead_time_max_ms = KD_LEAD_TIME_MAX_DEFAULT_MS;
    w->stale_after_max_ms = KD_STALE_AFTER_MAX_DEFAULT_MS;

    const config_setting_t *s = config_setting_get_member(g, "match");
    if (!s)
        return fail_at(l, g, "workload #%d: missing match = \"...\" (a glob such as \"*\")",
                       index + 1);
    snprintf(label, sizeof(label), "workload #%d: match", index + 1);
    r = dup_string(l, s, label, "a glob as a string, e.g. \"*\" or \"web-*\"", &w->match);
    if (r < 0)
        return r;
    snprintf(label, sizeof(label), "workload \"%s\"", w->match);

    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
        if (!in_list(workload_keys, config_setting_name(e))) {
            char allowed[256];
            join(workload_keys, allowed, sizeof(allowed));
            return fail_at(l, e, "%s: unknown setting \"%s\"; allowed: %s", label,
                           config_setting_name(e), allowed);
        }
    }

    s = config_setting_get_member(g, "source");
    if (!s) {
        defined_sources(c, defined, sizeof(defined));
        return fail_at(l, g, "%s: missing source = \"...\"; defined: %s", label, defined);
    }
    snprintf(what, sizeof(what), "%s: source", label);
    r = dup_string(l, s, what, "a source name as a string", &w->source);
    if (r < 0)
        return r;
    bool found = false;
    for (size_t i = 0; i < c->n_sources && !found; i++)
        found = strcmp(c->sources[i].name, w->source) == 0;
    if (!found) {
        defined_sources(c, defined, sizeof(defined));
        return fail_at(l, s, "%s: unknown source \"%s\"; defined: %s", label, w->source, defined);
    }

    s = config_setting_get_member(g, "policy");
    if (!s) {
        defined_policies(c, defined, sizeof(defined));
        return fail_at(l, g, "%s: missing policy = \"...\"; defined: %s", label, defined);
    }
    snprintf(what, sizeof(what), "%s: policy", label);
    r = dup_string(l, s, what, "a policy name as a string", &w->policy);
    if (r < 0)
        return r;
    found = false;
    for (size_t i = 0; i < c->n_policies && !found; i++)
        found = strcmp(c->policies[i].name, w->policy) == 0;
    if (!found) {
        defined_policies(c, defined, sizeof(defined));
        return fail_at(l, s, "%s: unknown policy \"%s\"; defined: %s", label, w->policy, defined);
    }

    s = config_setting_get_member(g, "stale_after");
    if (s) {
        snprintf(what, sizeof(what), "%s: stale_after", label);
        r = get_duration(l, s, what, &w->stale_after_ms);
        if (r < 0)
            return r;
        w->written |= 1u << KD_ROUTE_STALE_AFTER;
    }

    s = config_setting_get_member(g, "fallback_replicas");
    if (s) {
        int type = config_setting_type(s);
        if ((type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) ||
            config_setting_get_int64(s) < 0 || config_setting_get_int64(s) > KD_REPLICAS_MAX)
            return fail_at(l, s, "%s: fallback_replicas: expected an integer from 0 to %lld", label,
                           KD_REPLICAS_MAX);
        w->fallback_replicas = config_setting_get_int64(s);
        w->written |= 1u << KD_ROUTE_FALLBACK_REPLICAS;
    }
    return parse_route_predictive(l, g, label, w);
}

static int parse_workloads(struct loader *l, const config_setting_t *list)
{
    struct kd_config *c = l->c;
    static const char example[] = "{ match = \"*\"; source = \"demo\"; policy = \"lookahead\"; }";

    if (!list)
        return errf(l, "%s: no workloads; add at least one, e.g. workloads = ( %s );",
                    c->path ? c->path : BUILTIN_FILE, example);
    int r = check_list(l, list, "workloads", example);
    if (r < 0)
        return r;
    int n = config_setting_length(list);
    if (n == 0)
        return fail_at(l, list, "workloads: empty; add at least one, e.g. %s", example);
    c->workloads = calloc((size_t)n, sizeof(*c->workloads));
    if (!c->workloads)
        return oom(l);
    for (int i = 0; i < n; i++) {
        struct kd_config_workload *w = &c->workloads[i];
        c->n_workloads = (size_t)i + 1;
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        r = parse_workload(l, g, i, w);
        if (r < 0)
            return r;
        for (int j = 0; j < i; j++) {
            if (strcmp(c->workloads[j].match, w->match) == 0)
                return fail_at(l, g,
                               "workload \"%s\" is already matched at %s:%d; the first match "
                               "wins, so this one would never be used",
                               w->match, c->workloads[j].file, c->workloads[j].line);
        }
    }
    return 0;
}

/* ---- Load --------------------------------------------------------------------------------- */

static int parse_root(struct loader *l)
{
    config_setting_t *root = config_root_setting(&l->c->cfg);
    int r;

    for (int i = 0; i < config_setting_length(root); i++) {
        config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(s);
        const struct kd_setting *setting = kd_setting_find(name);
        if (setting && !(setting->flags & KD_SETTING_NOT_IN_FILE))
            r = parse_setting(l, setting, s);
        else if (is_group(name))
            r = parse_setting_group(l, s, name);
        else if (in_list(list_keys, name))
            r = 0;
        else {
            char allowed[1024];
            allowed_keys("", list_keys, allowed, sizeof(allowed));
            r = fail_at(l, s, "unknown setting \"%s\"; allowed: %s", name, allowed);
        }
        if (r < 0)
            return r;
    }

    config_setting_t *s = config_setting_get_member(root, "sources");
    if (s && (r = parse_sources(l, s)) < 0)
        return r;
    s = config_setting_get_member(root, "policies");
    if (s && (r = parse_policies(l, s)) < 0)
        return r;
    return parse_workloads(l, config_setting_get_member(root, "workloads"));
}

int kd_config_override(struct kd_config_overrides *ov, const struct kd_setting *s, bool from_env,
                       const char *text, char *err, size_t err_len)
{
    struct kd_setting_value v;
    int r = kd_setting_parse(s, text, from_env, &v, err, err_len);
    if (r < 0)
        return r;
    size_t i = kd_setting_index(s);
    ov->set[i] = true;
    ov->from_env[i] = from_env;
    ov->value[i] = v;
    return 0;
}

/* Flags and variables win over the file; their relative paths are relative to where the
 * daemon was started (the file's own were resolved against the file). */
static int apply_overrides(struct loader *l, const struct kd_config_overrides *ov,
                           const char *plugin_dir_default)
{
    struct kd_config *c = l->c;
    char cwd[PATH_MAX];
    int r;

    if (!getcwd(cwd, sizeof(cwd)))
        return errf(l, "cannot determine the working directory: %s", strerror(errno));
    for (size_t i = 0; i < kd_settings_count; i++) {
        if (ov->set[i] && (r = store(l, &kd_settings[i], &ov->value[i], cwd)) < 0)
            return r;
    }
    if (!c->plugin_dir && plugin_dir_default) {
        const struct kd_setting_value v = {.text = plugin_dir_default};
        if ((r = store(l, kd_setting_find("plugin_dir"), &v, cwd)) < 0)
            return r;
    }
    if (!c->plugin_dir)
        return errf(l, "no plugin_dir; set it in the file or with --plugin-dir");
    return 0;
}

/*
 * Relative paths resolve against the folder the file is named in, without following a
 * symlink to the file itself: in a ConfigMap volume the file is a symlink into a timestamped
 * "..2026_..." folder that each update replaces, while its sibling keys stay where the volume
 * is mounted. A stable base_dir also keeps the sources' identities across such updates.
 */
static int read_file(struct loader *l, const char *path)
{
    struct kd_config *c = l->c;
    char *copy = strdup(path);
    char *real = copy ? realpath(dirname(copy), NULL) : NULL;
    int e = errno;

    free(copy);
    if (!copy)
        return oom(l);
    if (!real || access(path, R_OK) != 0) {
        e = real ? errno : e;
        free(real);
        errf(l, "%s: cannot open: %s", path, strerror(e));
        return e == ENOENT ? -ENOENT : -EINVAL;
    }
    c->path = strdup(path);
    c->base_dir = real;
    if (!c->path)
        return oom(l);

    config_set_include_dir(&c->cfg, c->base_dir);
    if (!config_read_file(&c->cfg, path)) {
        if (config_error_type(&c->cfg) == CONFIG_ERR_FILE_IO)
            return errf(l, "%s: cannot read: %s", path, strerror(errno));
        return fail_file_line(l, config_error_file(&c->cfg) ? config_error_file(&c->cfg) : path,
                              config_error_line(&c->cfg), "%s", config_error_text(&c->cfg));
    }
    return 0;
}

static int read_builtin(struct loader *l)
{
    struct kd_config *c = l->c;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return errf(l, "cannot determine the working directory: %s", strerror(errno));
    if (!(c->base_dir = strdup(cwd)))
        return oom(l);
    if (!config_read_string(&c->cfg, builtin_text))
        return fail_file_line(l, BUILTIN_FILE, config_error_line(&c->cfg), "%s",
                              config_error_text(&c->cfg));
    return 0;
}

/* The built-in http source takes the forecaster's url and upstream's client mTLS files. */
static int builtin_source(struct loader *l)
{
    struct kd_config *c = l->c;
    config_setting_t *sources = config_lookup(&c->cfg, "sources");
    config_setting_t *group = sources ? config_setting_get_elem(sources, 0) : NULL;
    config_setting_t *url = group ? config_setting_add(group, "url", CONFIG_TYPE_STRING) : NULL;
    if (!url || !config_setting_set_string(url, c->forecaster_url ? c->forecaster_url
                                                                  : DEFAULT_FORECASTER_URL))
        return oom(l);
    if (!c->tls_enabled)
        return 0;
    /* As upstream's TLS.Validate(): all three files, or refuse to start. */
    const struct {
        const char *key, *value, *flag;
    } tls[] = {
        {"tls_cert", c->tls_cert_file, "--tls-cert-file / TLS_CERT_FILE"},
        {"tls_key", c->tls_key_file, "--tls-key-file / TLS_KEY_FILE"},
        {"tls_ca", c->tls_ca_file, "--tls-ca-file / TLS_CA_FILE"},
    };
    for (size_t i = 0; i < sizeof(tls) / sizeof(tls[0]); i++) {
        if (!tls[i].value || !*tls[i].value)
            return errf(l, "%s: --tls-enabled needs %s", BUILTIN_FILE, tls[i].flag);
        config_setting_t *s = config_setting_add(group, tls[i].key, CONFIG_TYPE_STRING);
        if (!s || !config_setting_set_string(s, tls[i].value))
            return oom(l);
    }
    return 0;
}

int kd_config_load(const char *path, const struct kd_config_overrides *ov,
                   const char *plugin_dir_default, struct kd_config **ret_config, char *err,
                   size_t err_len)
{
    static const struct kd_config_overrides none;
    struct kd_config *c = calloc(1, sizeof(*c));
    struct kd_error error;
    struct loader l = {c, &error};
    int r = -ENOMEM;

    kd_error_clear(&error);
    if (!ov)
        ov = &none;
    if (!c) {
        oom(&l);
        goto fail_alloc;
    }
    config_init(&c->cfg);
    r = apply_defaults(&l);
    if (r < 0)
        goto fail_config;
    r = path ? read_file(&l, path) : read_builtin(&l);
    if (r < 0)
        goto fail_config;
    r = parse_root(&l);
    if (r < 0)
        goto fail_config;
    r = apply_overrides(&l, ov, plugin_dir_default);
    if (r < 0)
        goto fail_config;
    if (!path && (r = builtin_source(&l)) < 0)
        goto fail_config;

    *ret_config = c;
    return 0;

fail_config:
    kd_config_free(c);
fail_alloc:
    kd_error_format(&error, err, err_len);
    return r;
}

const char *kd_config_setting_text(const struct kd_config *config, const char *key)
{
    const struct kd_setting *s = kd_setting_find(key);
    return s ? config->text[kd_setting_index(s)] : NULL;
}

void kd_config_free(struct kd_config *config)
{
    if (!config)
        return;
    for (size_t i = 0; i < config->n_sources; i++) {
        free(config->sources[i].name);
        free(config->sources[i].plugin);
    }
    free(config->sources);
    for (size_t i = 0; i < config->n_policies; i++) {
        free(config->policies[i].name);
        free(config->policies[i].plugin);
    }
    free(config->policies);
    for (size_t i = 0; i < config->n_workloads; i++) {
        free(config->workloads[i].match);
        free(config->workloads[i].source);
        free(config->workloads[i].policy);
    }
    free(config->workloads);
    config_destroy(&config->cfg);
    free(config->path);
    free(config->base_dir);
    for (size_t i = 0; i < kd_settings_count; i++) {
        const struct kd_setting *s = &kd_settings[i];
        if (s->type == KD_SETTING_STRING || s->type == KD_SETTING_ADDRESS ||
            s->type == KD_SETTING_PATH)
            free(*(char **)field_of(config, s));
        free(config->text[i]);
    }
    free(config);
}
