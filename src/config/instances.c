/* SPDX-License-Identifier: Apache-2.0 */
/* The sources and policies lists of the configuration: name, plugin, the host's keys of a
 * source; everything else in a group is the plugin's, left in the tree for the plugin host. */
#include "config/config_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_REFRESH_MS 10000
#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_IDLE_EVICT_MS 600000

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
static int parse_name_plugin(struct kd_loader *l, const config_setting_t *g, const char *what,
                             int index, char **ret_name, char **ret_plugin)
{
    const config_setting_t *s = config_setting_get_member(g, "name");
    if (!s)
        return kd_loader_fail_at(l, g,
                                 "%s #%d: missing name = \"...\"; every %s needs a unique name",
                                 what, index + 1, what);
    char label[64];
    snprintf(label, sizeof(label), "%s name", what);
    int r = kd_loader_dup_string(l, s, label, "a non-empty string", ret_name);
    if (r < 0)
        return r;

    s = config_setting_get_member(g, "plugin");
    if (!s)
        return kd_loader_fail_at(l, g, "%s \"%s\": missing plugin = \"...\" (e.g. \"%s\")", what,
                                 *ret_name, strcmp(what, "source") == 0 ? "file" : "max");
    snprintf(label, sizeof(label), "%s \"%s\": plugin", what, *ret_name);
    r = kd_loader_dup_string(l, s, label, "a plugin name as a string", ret_plugin);
    if (r < 0)
        return r;
    if (!valid_plugin_name(*ret_plugin))
        return kd_loader_fail_at(
            l, s,
            "%s \"%s\": plugin \"%s\" is not a plugin name; allowed: letters, digits, "
            "'-' and '_' (\"file\" loads %s-file.so)",
            what, *ret_name, *ret_plugin, what);
    return 0;
}

static int parse_source(struct kd_loader *l, config_setting_t *g, int index,
                        struct kd_config_source *src)
{
    src->group = g;
    src->file = kd_loader_file_of(g);
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
        r = kd_loader_get_duration(l, s, what, (int64_t *)((char *)src + durations[i].offset));
        if (r < 0)
            return r;
    }

    /* Relative paths in the file are relative to the file, not to the daemon's cwd. */
    config_setting_t *path = config_setting_get_member(g, "path");
    if (path && config_setting_type(path) == CONFIG_TYPE_STRING) {
        const char *text = config_setting_get_string(path);
        if (text[0] != '\0' && text[0] != '/') {
            char *abs = kd_loader_resolve(l->c->base_dir, text);
            if (!abs)
                return kd_loader_oom(l);
            int ok = config_setting_set_string(path, abs);
            free(abs);
            if (!ok)
                return kd_loader_oom(l);
        }
    }
    return 0;
}

static int parse_policy(struct kd_loader *l, config_setting_t *g, int index,
                        struct kd_config_policy *pol)
{
    pol->group = g;
    pol->file = kd_loader_file_of(g);
    pol->line = config_setting_source_line(g);
    return parse_name_plugin(l, g, "policy", index, &pol->name, &pol->plugin);
}

int kd_instances_parse_sources(struct kd_loader *l, config_setting_t *list)
{
    struct kd_config *c = l->c;
    int r = kd_loader_check_list(l, list, "sources", "{ name = \"demo\"; plugin = \"file\"; }");
    if (r < 0)
        return r;
    int n = config_setting_length(list);
    c->sources = calloc((size_t)n + 1, sizeof(*c->sources));
    if (!c->sources)
        return kd_loader_oom(l);
    for (int i = 0; i < n; i++) {
        struct kd_config_source *src = &c->sources[i];
        c->n_sources = (size_t)i + 1;
        r = parse_source(l, config_setting_get_elem(list, (unsigned)i), i, src);
        if (r < 0)
            return r;
        for (int j = 0; j < i; j++) {
            if (strcmp(c->sources[j].name, src->name) == 0)
                return kd_loader_fail_at(
                    l, src->group,
                    "source \"%s\" is defined twice (first at %s:%d); names must be "
                    "unique",
                    src->name, c->sources[j].file, c->sources[j].line);
        }
    }
    return 0;
}

int kd_instances_parse_policies(struct kd_loader *l, config_setting_t *list)
{
    struct kd_config *c = l->c;
    int r =
        kd_loader_check_list(l, list, "policies", "{ name = \"lookahead\"; plugin = \"max\"; }");
    if (r < 0)
        return r;
    int n = config_setting_length(list);
    c->policies = calloc((size_t)n + 1, sizeof(*c->policies));
    if (!c->policies)
        return kd_loader_oom(l);
    for (int i = 0; i < n; i++) {
        struct kd_config_policy *pol = &c->policies[i];
        c->n_policies = (size_t)i + 1;
        r = parse_policy(l, config_setting_get_elem(list, (unsigned)i), i, pol);
        if (r < 0)
            return r;
        for (int j = 0; j < i; j++) {
            if (strcmp(c->policies[j].name, pol->name) == 0)
                return kd_loader_fail_at(
                    l, pol->group,
                    "policy \"%s\" is defined twice (first at %s:%d); names must be "
                    "unique",
                    pol->name, c->policies[j].file, c->policies[j].line);
        }
    }
    return 0;
}
