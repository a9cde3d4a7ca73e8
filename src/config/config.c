/* SPDX-License-Identifier: Apache-2.0 */
/* libconfig file (or the built-in upstream-mode text) + overrides -> struct kd_config: the
 * settings table's keys, the root, reading and the load itself. Sources and policies are
 * parsed in instances.c, workloads in workloads.c, with loader.c's errors and typed getters;
 * plugin keys are left in the tree for the plugin host. */
#include "config/config.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_private.h"

#define DEFAULT_FORECASTER_URL "http://localhost:8081"

const char *const kd_config_source_keys[] = {"name",    "plugin",     "refresh",
                                             "timeout", "idle_evict", NULL};
const char *const kd_config_policy_keys[] = {"name", "plugin", NULL};

/* Top-level keys that are lists of groups, not settings (kd_settings[] has those). */
static const char *const list_keys[] = {"sources", "policies", "workloads", NULL};

_Static_assert(sizeof(enum kd_log_level) == sizeof(int) &&
                   sizeof(enum kd_log_format) == sizeof(int),
               "KD_SETTING_ENUM fields are stored as int");

/* Upstream mode: one http source at FORECASTER_URL, the max policy at LEAD_TIME, route "*".
 * The url is added through the API so no quoting of operator text is needed. */
static const char builtin_text[] =
    "sources = ( { name = \"forecaster\"; plugin = \"http\"; } );\n"
    "policies = ( { name = \"lead-time\"; plugin = \"max\"; } );\n"
    "workloads = ( { match = \"*\"; source = \"forecaster\"; policy = \"lead-time\"; } );\n";

/* ---- Settings (kd_settings[]): defaults, file values, overrides ---------------------------- */

static void *field_of(struct kd_config *c, const struct kd_setting *s)
{
    return (char *)c + s->offset;
}

/* The value into its field; strings are copied, paths made absolute against base_dir. */
static int store(struct kd_loader *l, const struct kd_setting *s, const struct kd_setting_value *v,
                 const char *base_dir)
{
    struct kd_config *c = l->c;
    void *field = field_of(c, s);
    char *text = strdup(v->text);
    char *copy = NULL;

    if (!text)
        return kd_loader_oom(l);
    switch (s->type) {
    case KD_SETTING_STRING:
    case KD_SETTING_ADDRESS:
        copy = strdup(v->text);
        break;
    case KD_SETTING_PATH:
        copy = kd_loader_resolve(base_dir, v->text);
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
            return kd_loader_oom(l);
        }
        free(*(char **)field);
        *(char **)field = copy;
    }
    size_t index = kd_setting_index(s);
    free(c->text[index]);
    c->text[index] = text;
    return 0;
}

static int apply_defaults(struct kd_loader *l)
{
    for (size_t i = 0; i < kd_settings_count; i++) {
        const struct kd_setting *s = &kd_settings[i];
        struct kd_setting_value v;
        char why[256];
        if (!s->def)
            continue;
        if (kd_setting_parse(s, s->def, false, &v, why, sizeof(why)) < 0)
            return kd_loader_errf(l, "built-in default of %s: %s", s->key,
                                  why); /* a test checks all */
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
        snprintf(buf, len, "a duration in quotes; %s", kd_loader_duration_hint);
        return;
    case KD_SETTING_STRING:
        break;
    }
    snprintf(buf, len, "a string");
}

/* A file value, checked by type and range with the same parser as flags. */
static int parse_setting(struct kd_loader *l, const struct kd_setting *s,
                         const config_setting_t *cs)
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
            return kd_loader_fail_at(l, cs, "%s: %s", s->key, why);
    } else if (s->type == KD_SETTING_DURATION && integer) {
        return kd_loader_fail_at(l, cs, "%s: a bare number is not a duration; %s (in quotes)",
                                 s->key, kd_loader_duration_hint);
    } else if (type == CONFIG_TYPE_STRING && s->type != KD_SETTING_BOOL &&
               s->type != KD_SETTING_INT) {
        if (kd_setting_parse(s, config_setting_get_string(cs), false, &v, why, sizeof(why)) < 0)
            return kd_loader_fail_at(l, cs, "%s: %s", s->key, why);
    } else {
        expected(s, why, sizeof(why));
        return kd_loader_fail_at(l, cs, "%s: expected %s", s->key, why);
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

static int parse_setting_group(struct kd_loader *l, const config_setting_t *g, const char *name)
{
    char key[128], allowed[512];
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return kd_loader_fail_at(l, g, "%s: expected a group, e.g. %s = { ... };", name, name);
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        snprintf(key, sizeof(key), "%s.%s", name, config_setting_name(m));
        const struct kd_setting *s = kd_setting_find(key);
        if (!s) {
            allowed_keys(name, NULL, allowed, sizeof(allowed));
            return kd_loader_fail_at(l, m, "%s: unknown setting \"%s\"; allowed: %s", name,
                                     config_setting_name(m), allowed);
        }
        int r = parse_setting(l, s, m);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- Load --------------------------------------------------------------------------------- */

/* A message at file:line (libconfig's parse errors), -EINVAL. */
static int fail_file_line(struct kd_loader *l, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_file_line(struct kd_loader *l, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kd_error_vat(l->err, file, line, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int parse_root(struct kd_loader *l)
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
        else if (kd_loader_in_list(list_keys, name))
            r = 0;
        else {
            char allowed[1024];
            allowed_keys("", list_keys, allowed, sizeof(allowed));
            r = kd_loader_fail_at(l, s, "unknown setting \"%s\"; allowed: %s", name, allowed);
        }
        if (r < 0)
            return r;
    }

    config_setting_t *s = config_setting_get_member(root, "sources");
    if (s && (r = kd_instances_parse_sources(l, s)) < 0)
        return r;
    s = config_setting_get_member(root, "policies");
    if (s && (r = kd_instances_parse_policies(l, s)) < 0)
        return r;
    return kd_workloads_parse(l, config_setting_get_member(root, "workloads"));
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
static int apply_overrides(struct kd_loader *l, const struct kd_config_overrides *ov,
                           const char *plugin_dir_default)
{
    struct kd_config *c = l->c;
    char cwd[PATH_MAX];
    int r;

    if (!getcwd(cwd, sizeof(cwd)))
        return kd_loader_errf(l, "cannot determine the working directory: %s", strerror(errno));
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
        return kd_loader_errf(l, "no plugin_dir; set it in the file or with --plugin-dir");
    return 0;
}

/*
 * Relative paths resolve against the folder the file is named in, without following a
 * symlink to the file itself: in a ConfigMap volume the file is a symlink into a timestamped
 * "..2026_..." folder that each update replaces, while its sibling keys stay where the volume
 * is mounted. A stable base_dir also keeps the sources' identities across such updates.
 */
static int read_file(struct kd_loader *l, const char *path)
{
    struct kd_config *c = l->c;
    char *copy = strdup(path);
    char *real = copy ? realpath(dirname(copy), NULL) : NULL;
    int e = errno;

    free(copy);
    if (!copy)
        return kd_loader_oom(l);
    if (!real || access(path, R_OK) != 0) {
        e = real ? errno : e;
        free(real);
        kd_loader_errf(l, "%s: cannot open: %s", path, strerror(e));
        return e == ENOENT ? -ENOENT : -EINVAL;
    }
    c->path = strdup(path);
    c->base_dir = real;
    if (!c->path)
        return kd_loader_oom(l);

    config_set_include_dir(&c->cfg, c->base_dir);
    if (!config_read_file(&c->cfg, path)) {
        if (config_error_type(&c->cfg) == CONFIG_ERR_FILE_IO)
            return kd_loader_errf(l, "%s: cannot read: %s", path, strerror(errno));
        return fail_file_line(l, config_error_file(&c->cfg) ? config_error_file(&c->cfg) : path,
                              config_error_line(&c->cfg), "%s", config_error_text(&c->cfg));
    }
    return 0;
}

static int read_builtin(struct kd_loader *l)
{
    struct kd_config *c = l->c;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return kd_loader_errf(l, "cannot determine the working directory: %s", strerror(errno));
    if (!(c->base_dir = strdup(cwd)))
        return kd_loader_oom(l);
    if (!config_read_string(&c->cfg, builtin_text))
        return fail_file_line(l, KD_CONFIG_BUILTIN_FILE, config_error_line(&c->cfg), "%s",
                              config_error_text(&c->cfg));
    return 0;
}

/* The built-in http source takes the forecaster's url and upstream's client mTLS files. */
static int builtin_source(struct kd_loader *l)
{
    struct kd_config *c = l->c;
    config_setting_t *sources = config_lookup(&c->cfg, "sources");
    config_setting_t *group = sources ? config_setting_get_elem(sources, 0) : NULL;
    config_setting_t *url = group ? config_setting_add(group, "url", CONFIG_TYPE_STRING) : NULL;
    if (!url || !config_setting_set_string(url, c->forecaster_url ? c->forecaster_url
                                                                  : DEFAULT_FORECASTER_URL))
        return kd_loader_oom(l);
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
            return kd_loader_errf(l, "%s: --tls-enabled needs %s", KD_CONFIG_BUILTIN_FILE,
                                  tls[i].flag);
        config_setting_t *s = config_setting_add(group, tls[i].key, CONFIG_TYPE_STRING);
        if (!s || !config_setting_set_string(s, tls[i].value))
            return kd_loader_oom(l);
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
    struct kd_loader l = {c, &error};
    int r = -ENOMEM;

    kd_error_clear(&error);
    if (!ov)
        ov = &none;
    if (!c) {
        kd_loader_oom(&l);
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
