/* SPDX-License-Identifier: Apache-2.0 */
/* The workloads list of the configuration: each route's match, source and policy (by name),
 * staleness, fallback, activation and the per-ScaledObject overrides it allows. */
#include "config/config_private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/duration.h"

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
static int get_duration_zero_ok(struct kd_loader *l, const config_setting_t *s, const char *what,
                                int64_t *ret_ms)
{
    int64_t ms;

    if (config_setting_type(s) == CONFIG_TYPE_STRING &&
        kd_duration_parse(config_setting_get_string(s), &ms) == 0 && ms == 0) {
        *ret_ms = 0;
        return 0;
    }
    return kd_loader_get_duration(l, s, what, ret_ms);
}

/* One of `names` (a NULL-terminated list) as its index. */
static int get_choice(struct kd_loader *l, const config_setting_t *s, const char *what,
                      const char *const *names, int *ret_index)
{
    char allowed[128];

    kd_loader_join(names, allowed, sizeof(allowed));
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        const char *text = config_setting_get_string(s);
        for (int i = 0; names[i]; i++) {
            if (strcmp(names[i], text) == 0) {
                *ret_index = i;
                return 0;
            }
        }
        return kd_loader_fail_at(l, s, "%s: unknown value \"%s\"; allowed: %s", what, text,
                                 allowed);
    }
    return kd_loader_fail_at(l, s, "%s: expected one of %s, as a string", what, allowed);
}

/* overrides = ["leadTime", "mode"]: the metadata keys ScaledObject owners may set. */
static int get_overrides(struct kd_loader *l, const config_setting_t *s, const char *what,
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
        return kd_loader_fail_at(
            l, s,
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
            return kd_loader_fail_at(l, e, "%s[%d]: %s%s%s is not an overridable key; allowed: %s",
                                     what, i, name ? "\"" : "", name ? name : "a non-string",
                                     name ? "\"" : "", allowed);
        bits |= 1u << k;
    }
    *ret_bits = bits;
    return 0;
}

/* The predictive keys of a route: staleness, activation, mode, overrides and their bounds. */
static int parse_route_predictive(struct kd_loader *l, const config_setting_t *g, const char *label,
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
            return kd_loader_fail_at(
                l, s,
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
        if ((r = kd_loader_get_duration(l, s, what, &w->stale_after_max_ms)) < 0)
            return r;
    }
    return 0;
}

/* The source or policy (`is_source`) a workload names, which must be defined above it. */
static int parse_reference(struct kd_loader *l, const config_setting_t *g, const char *label,
                           bool is_source, char **ret_name)
{
    const struct kd_config *c = l->c;
    const char *key = is_source ? "source" : "policy";
    char what[200], expected[32], defined[512];
    const config_setting_t *s = config_setting_get_member(g, key);

    if (!s) {
        (is_source ? defined_sources : defined_policies)(c, defined, sizeof(defined));
        return kd_loader_fail_at(l, g, "%s: missing %s = \"...\"; defined: %s", label, key,
                                 defined);
    }
    snprintf(what, sizeof(what), "%s: %s", label, key);
    snprintf(expected, sizeof(expected), "a %s name as a string", key);
    int r = kd_loader_dup_string(l, s, what, expected, ret_name);
    if (r < 0)
        return r;
    size_t n = is_source ? c->n_sources : c->n_policies;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(is_source ? c->sources[i].name : c->policies[i].name, *ret_name) == 0)
            return 0;
    }
    (is_source ? defined_sources : defined_policies)(c, defined, sizeof(defined));
    return kd_loader_fail_at(l, s, "%s: unknown %s \"%s\"; defined: %s", label, key, *ret_name,
                             defined);
}

static int parse_workload(struct kd_loader *l, const config_setting_t *g, int index,
                          struct kd_config_workload *w)
{
    char label[160], what[200];
    int r;

    w->file = kd_loader_file_of(g);
    w->line = config_setting_source_line(g);
    w->stale_after_ms = -1;
    w->fallback_replicas = -1;
    w->activation_lead_ms = -1;
    w->lead_time_max_ms = KD_LEAD_TIME_MAX_DEFAULT_MS;
    w->stale_after_max_ms = KD_STALE_AFTER_MAX_DEFAULT_MS;

    const config_setting_t *s = config_setting_get_member(g, "match");
    if (!s)
        return kd_loader_fail_at(
            l, g, "workload #%d: missing match = \"...\" (a glob such as \"*\")", index + 1);
    snprintf(label, sizeof(label), "workload #%d: match", index + 1);
    r = kd_loader_dup_string(l, s, label, "a glob as a string, e.g. \"*\" or \"web-*\"", &w->match);
    if (r < 0)
        return r;
    snprintf(label, sizeof(label), "workload \"%s\"", w->match);

    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
        if (!kd_loader_in_list(workload_keys, config_setting_name(e))) {
            char allowed[256];
            kd_loader_join(workload_keys, allowed, sizeof(allowed));
            return kd_loader_fail_at(l, e, "%s: unknown setting \"%s\"; allowed: %s", label,
                                     config_setting_name(e), allowed);
        }
    }

    r = parse_reference(l, g, label, true, &w->source);
    if (r < 0)
        return r;
    r = parse_reference(l, g, label, false, &w->policy);
    if (r < 0)
        return r;

    s = config_setting_get_member(g, "stale_after");
    if (s) {
        snprintf(what, sizeof(what), "%s: stale_after", label);
        r = kd_loader_get_duration(l, s, what, &w->stale_after_ms);
        if (r < 0)
            return r;
        w->written |= 1u << KD_ROUTE_STALE_AFTER;
    }

    s = config_setting_get_member(g, "fallback_replicas");
    if (s) {
        int type = config_setting_type(s);
        if ((type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) ||
            config_setting_get_int64(s) < 0 || config_setting_get_int64(s) > KD_REPLICAS_MAX)
            return kd_loader_fail_at(l, s,
                                     "%s: fallback_replicas: expected an integer from 0 to %lld",
                                     label, KD_REPLICAS_MAX);
        w->fallback_replicas = config_setting_get_int64(s);
        w->written |= 1u << KD_ROUTE_FALLBACK_REPLICAS;
    }
    return parse_route_predictive(l, g, label, w);
}

int kd_workloads_parse(struct kd_loader *l, const config_setting_t *list)
{
    struct kd_config *c = l->c;
    static const char example[] = "{ match = \"*\"; source = \"demo\"; policy = \"lookahead\"; }";

    if (!list)
        return kd_loader_errf(l, "%s: no workloads; add at least one, e.g. workloads = ( %s );",
                              c->path ? c->path : KD_CONFIG_BUILTIN_FILE, example);
    int r = kd_loader_check_list(l, list, "workloads", example);
    if (r < 0)
        return r;
    int n = config_setting_length(list);
    if (n == 0)
        return kd_loader_fail_at(l, list, "workloads: empty; add at least one, e.g. %s", example);
    c->workloads = calloc((size_t)n, sizeof(*c->workloads));
    if (!c->workloads)
        return kd_loader_oom(l);
    for (int i = 0; i < n; i++) {
        struct kd_config_workload *w = &c->workloads[i];
        c->n_workloads = (size_t)i + 1;
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        r = parse_workload(l, g, i, w);
        if (r < 0)
            return r;
        for (int j = 0; j < i; j++) {
            if (strcmp(c->workloads[j].match, w->match) == 0)
                return kd_loader_fail_at(
                    l, g,
                    "workload \"%s\" is already matched at %s:%d; the first match "
                    "wins, so this one would never be used",
                    w->match, c->workloads[j].file, c->workloads[j].line);
        }
    }
    return 0;
}
