/* SPDX-License-Identifier: Apache-2.0 */
/* libconfig file (or the built-in upstream-mode text) + overrides -> struct kd_config. Checks
 * structure, types and references; plugin keys are left in the tree for the plugin host. */
#include "config/config.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/duration.h"

#define BUILTIN_FILE "<built-in>"
#define DEFAULT_LISTEN "0.0.0.0:50051"
#define DEFAULT_HTTP_LISTEN "0.0.0.0:8082"
#define DEFAULT_FORECASTER_URL "http://localhost:8081"
#define DEFAULT_MAX_MESSAGE_SIZE (4 * 1024 * 1024)
#define MAX_MESSAGE_SIZE_LIMIT INT32_MAX /* grpc-go's bound; lengths are 32-bit on the wire */
#define DEFAULT_DEADLINE_MS 10000
#define DEFAULT_SHUTDOWN_TIMEOUT_MS 10000
#define DEFAULT_REFRESH_MS 10000
#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_IDLE_EVICT_MS 600000

const char *const kd_config_source_keys[] = {"name",    "plugin",     "refresh",
                                             "timeout", "idle_evict", NULL};
const char *const kd_config_policy_keys[] = {"name", "plugin", NULL};

static const char *const top_keys[] = {
    "listen",     "http_listen", "plugin_dir",       "log_level",
    "log_format", "reflection",  "max_message_size", "default_deadline",
    "sources",    "policies",    "workloads",        "shutdown_timeout",
    NULL,
};

static const char *const workload_keys[] = {
    "match", "source", "policy", "stale_after", "fallback_replicas", NULL};

/* Upstream mode: one http source at FORECASTER_URL, the max policy at LEAD_TIME, route "*".
 * The url is added through the API so no quoting of operator text is needed. */
static const char builtin_text[] =
    "sources = ( { name = \"forecaster\"; plugin = \"http\"; } );\n"
    "policies = ( { name = \"lead-time\"; plugin = \"max\"; } );\n"
    "workloads = ( { match = \"*\"; source = \"forecaster\"; policy = \"lead-time\"; } );\n";

static const char duration_hint[] = "write e.g. \"250ms\", \"30s\", \"5m\", \"1h30m\", \"2d\"";

struct loader {
    struct kd_config *c;
    char *err;
    size_t err_len;
};

static const char *file_of(const config_setting_t *s)
{
    const char *file = config_setting_source_file(s);
    return file ? file : BUILTIN_FILE;
}

static int errf(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int errf(struct loader *l, const char *fmt, ...)
{
    if (l->err && l->err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(l->err, l->err_len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* "file:line: " + message, -EINVAL. */
static int fail_at(struct loader *l, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct loader *l, const config_setting_t *s, const char *fmt, ...)
{
    if (l->err && l->err_len) {
        int n =
            snprintf(l->err, l->err_len, "%s:%d: ", file_of(s), (int)config_setting_source_line(s));
        if (n > 0 && (size_t)n < l->err_len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(l->err + n, l->err_len - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
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

static int get_size(struct loader *l, const config_setting_t *s, const char *what,
                    int64_t *ret_bytes)
{
    int type = config_setting_type(s);
    int64_t v;
    if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
        v = config_setting_get_int64(s);
    } else if (type == CONFIG_TYPE_STRING) {
        const char *text = config_setting_get_string(s);
        if (kd_size_parse(text, &v) < 0)
            return fail_at(l, s,
                           "%s: invalid size \"%s\"; write bytes or e.g. \"64KiB\", \"4MiB\", "
                           "\"1GiB\"",
                           what, text);
    } else {
        return fail_at(l, s, "%s: expected a size like \"4MiB\" or a number of bytes", what);
    }
    if (v < 1 || v > MAX_MESSAGE_SIZE_LIMIT)
        return fail_at(l, s, "%s: must be between 1 and %d bytes (2GiB - 1)", what,
                       MAX_MESSAGE_SIZE_LIMIT);
    *ret_bytes = v;
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

/* ---- Top-level scalars -------------------------------------------------------------------- */

static int parse_level(struct loader *l, const config_setting_t *s)
{
    const char *text = NULL;
    int r = get_string(l, s, "log_level", "a string: debug | info | warn | error", &text);
    if (r < 0)
        return r;
    if (kd_log_parse_level(text, &l->c->log_level) < 0)
        return fail_at(l, s,
                       "log_level: \"%s\" is not a level; allowed: debug | info | warn | "
                       "error",
                       text);
    return 0;
}

static int parse_format(struct loader *l, const config_setting_t *s)
{
    const char *text = NULL;
    int r = get_string(l, s, "log_format", "a string: text | json", &text);
    if (r < 0)
        return r;
    if (kd_log_parse_format(text, &l->c->log_format) < 0)
        return fail_at(l, s, "log_format: \"%s\" is not a format; allowed: text | json", text);
    return 0;
}

static int parse_scalar(struct loader *l, config_setting_t *s, const char *name)
{
    struct kd_config *c = l->c;

    if (strcmp(name, "listen") == 0)
        return dup_string(l, s, name, "a string like \"" DEFAULT_LISTEN "\"", &c->listen);
    if (strcmp(name, "http_listen") == 0)
        return dup_string(l, s, name, "a string like \"" DEFAULT_HTTP_LISTEN "\"", &c->http_listen);
    if (strcmp(name, "plugin_dir") == 0) {
        const char *text = NULL;
        int r = get_string(l, s, name, "a directory as a string", &text);
        if (r < 0)
            return r;
        char *abs = resolve(c->base_dir, text);
        if (!abs)
            return oom(l);
        free(c->plugin_dir);
        c->plugin_dir = abs;
        return 0;
    }
    if (strcmp(name, "log_level") == 0)
        return parse_level(l, s);
    if (strcmp(name, "log_format") == 0)
        return parse_format(l, s);
    if (strcmp(name, "reflection") == 0) {
        if (config_setting_type(s) != CONFIG_TYPE_BOOL)
            return fail_at(l, s, "reflection: expected true or false");
        c->reflection = config_setting_get_bool(s) != 0;
        return 0;
    }
    if (strcmp(name, "max_message_size") == 0)
        return get_size(l, s, name, &c->max_message_size);
    if (strcmp(name, "default_deadline") == 0)
        return get_duration(l, s, name, &c->default_deadline_ms);
    if (strcmp(name, "shutdown_timeout") == 0)
        return get_duration(l, s, name, &c->shutdown_timeout_ms);
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
    }

    s = config_setting_get_member(g, "fallback_replicas");
    if (s) {
        int type = config_setting_type(s);
        if ((type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) ||
            config_setting_get_int64(s) < 0)
            return fail_at(l, s, "%s: fallback_replicas: expected an integer >= 0", label);
        w->fallback_replicas = config_setting_get_int64(s);
    }
    return 0;
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
        if (!in_list(top_keys, name)) {
            char allowed[512];
            join(top_keys, allowed, sizeof(allowed));
            return fail_at(l, s, "unknown setting \"%s\"; allowed: %s", name, allowed);
        }
        r = parse_scalar(l, s, name);
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

static int apply_overrides(struct loader *l, const struct kd_config_overrides *ov,
                           const char *plugin_dir_default)
{
    struct kd_config *c = l->c;
    char *copy;

    if (ov->listen) {
        if (!(copy = strdup(ov->listen)))
            return oom(l);
        free(c->listen);
        c->listen = copy;
    }
    if (ov->http_listen) {
        if (!(copy = strdup(ov->http_listen)))
            return oom(l);
        free(c->http_listen);
        c->http_listen = copy;
    }
    if (ov->log_level && kd_log_parse_level(ov->log_level, &c->log_level) < 0)
        return errf(l,
                    "log level \"%s\" (from --log-level or LOG_LEVEL) is not a level; "
                    "allowed: debug | info | warn | error",
                    ov->log_level);
    if (ov->log_format && kd_log_parse_format(ov->log_format, &c->log_format) < 0)
        return errf(l,
                    "log format \"%s\" (from --log-format or LOG_FORMAT) is not a format; "
                    "allowed: text | json",
                    ov->log_format);

    int64_t ms;
    if (ov->lead_time && (kd_duration_parse(ov->lead_time, &ms) < 0 || ms < 0))
        return errf(l, "lead time \"%s\" (from --lead-time or LEAD_TIME) is not a duration; %s",
                    ov->lead_time, duration_hint);
    c->host_defaults.lead_time = ov->lead_time;
    c->host_defaults.forecaster_url = ov->forecaster_url;

    /* Flags and env are relative to where the daemon was started; the file's own plugin_dir
     * was resolved against the file. */
    const char *dir = ov->plugin_dir ? ov->plugin_dir : c->plugin_dir ? NULL : plugin_dir_default;
    if (dir) {
        char cwd[PATH_MAX];
        if (dir[0] != '/' && !getcwd(cwd, sizeof(cwd)))
            return errf(l, "plugin_dir \"%s\": cannot resolve: %s", dir, strerror(errno));
        if (!(copy = resolve(dir[0] == '/' ? "" : cwd, dir)))
            return oom(l);
        free(c->plugin_dir);
        c->plugin_dir = copy;
    }
    if (!c->plugin_dir)
        return errf(l, "no plugin_dir; set it in the file or with --plugin-dir");
    return 0;
}

static int read_file(struct loader *l, const char *path)
{
    struct kd_config *c = l->c;
    char *real = realpath(path, NULL);
    if (!real) {
        int e = errno;
        errf(l, "%s: cannot open: %s", path, strerror(e));
        return e == ENOENT ? -ENOENT : -EINVAL;
    }
    c->path = strdup(path);
    c->base_dir = strdup(dirname(real));
    free(real);
    if (!c->path || !c->base_dir)
        return oom(l);

    config_set_include_dir(&c->cfg, c->base_dir);
    if (!config_read_file(&c->cfg, path)) {
        if (config_error_type(&c->cfg) == CONFIG_ERR_FILE_IO)
            return errf(l, "%s: cannot read: %s", path, strerror(errno));
        return errf(l, "%s:%d: %s", config_error_file(&c->cfg) ? config_error_file(&c->cfg) : path,
                    config_error_line(&c->cfg), config_error_text(&c->cfg));
    }
    return 0;
}

static int read_builtin(struct loader *l, const struct kd_config_overrides *ov)
{
    struct kd_config *c = l->c;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return errf(l, "cannot determine the working directory: %s", strerror(errno));
    if (!(c->base_dir = strdup(cwd)))
        return oom(l);
    if (!config_read_string(&c->cfg, builtin_text))
        return errf(l, "%s:%d: %s", BUILTIN_FILE, config_error_line(&c->cfg),
                    config_error_text(&c->cfg));

    config_setting_t *sources = config_lookup(&c->cfg, "sources");
    config_setting_t *group = sources ? config_setting_get_elem(sources, 0) : NULL;
    config_setting_t *url = group ? config_setting_add(group, "url", CONFIG_TYPE_STRING) : NULL;
    if (!url || !config_setting_set_string(url, ov->forecaster_url ? ov->forecaster_url
                                                                   : DEFAULT_FORECASTER_URL))
        return oom(l);
    if (!ov->tls_enabled)
        return 0;
    /* As upstream's TLS.Validate(): all three files, or refuse to start. */
    const struct {
        const char *key, *value, *flag;
    } tls[] = {
        {"tls_cert", ov->tls_cert_file, "--tls-cert-file / TLS_CERT_FILE"},
        {"tls_key", ov->tls_key_file, "--tls-key-file / TLS_KEY_FILE"},
        {"tls_ca", ov->tls_ca_file, "--tls-ca-file / TLS_CA_FILE"},
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
    struct loader l = {c, err, err_len};
    int r;

    if (!ov)
        ov = &none;
    if (!c)
        return oom(&l);
    config_init(&c->cfg);
    c->log_level = KD_LOG_INFO;
    c->log_format = KD_LOG_TEXT;
    c->reflection = true;
    c->max_message_size = DEFAULT_MAX_MESSAGE_SIZE;
    c->default_deadline_ms = DEFAULT_DEADLINE_MS;
    c->shutdown_timeout_ms = DEFAULT_SHUTDOWN_TIMEOUT_MS;
    c->listen = strdup(DEFAULT_LISTEN);
    c->http_listen = strdup(DEFAULT_HTTP_LISTEN);
    if (!c->listen || !c->http_listen) {
        r = oom(&l);
        goto fail_config;
    }

    r = path ? read_file(&l, path) : read_builtin(&l, ov);
    if (r < 0)
        goto fail_config;
    r = parse_root(&l);
    if (r < 0)
        goto fail_config;
    r = apply_overrides(&l, ov, plugin_dir_default);
    if (r < 0)
        goto fail_config;

    *ret_config = c;
    return 0;

fail_config:
    kd_config_free(c);
    return r;
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
    free(config->listen);
    free(config->http_listen);
    free(config->plugin_dir);
    free(config);
}
