/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prom_fetch PLUGIN NOW_MS key=value... -- WORKLOAD...
 *
 * Loads the built source-prometheus.so through tests/fakes (a fake clock at NOW_MS, a real
 * libevent loop), applies the option table's defaults and then the given options as the host's
 * parser would, fetches every workload at once and prints one JSON line per workload: the whole
 * forecast ({"workload", "generatedAt", "stepSeconds", "values", "desiredReplicas"}) or
 * {"workload", "error"}. test_prometheus.py compares that with its own reference. Exit 2: usage
 * or create() failed (the plugin's log lines go to stderr).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <event2/event.h>

#include "fakes/fake_host.h"
#include "util/duration.h"

#define MAX_WORKLOADS 64

static int set_option(const struct kd_plugin *plugin, void *config, const struct kd_option *o,
                      const char *value)
{
    int64_t i64;
    char *end;

    switch (o->type) {
    case KD_OPTION_STRING:
        return kd_fake_host_set_string(plugin, config, o->name, value);
    case KD_OPTION_INT:
        i64 = strtoll(value, &end, 10);
        return *end ? -EINVAL : kd_fake_host_set_i64(plugin, config, o->name, i64);
    case KD_OPTION_DOUBLE:
        return kd_fake_host_set_double(plugin, config, o->name, strtod(value, &end));
    case KD_OPTION_BOOL:
        return kd_fake_host_set_bool(plugin, config, o->name, strcmp(value, "true") == 0);
    case KD_OPTION_DURATION:
        return kd_duration_parse(value, &i64) < 0
                   ? -EINVAL
                   : kd_fake_host_set_i64(plugin, config, o->name, i64);
    case KD_OPTION_SIZE:
        return kd_size_parse(value, &i64) < 0 ? -EINVAL
                                              : kd_fake_host_set_i64(plugin, config, o->name, i64);
    case KD_OPTION_LIST: { /* a list of one; given twice, the second replaces the first */
        static const char *lists[16][2];
        static size_t n_lists;
        if (n_lists == sizeof(lists) / sizeof(lists[0]))
            return -ENOMEM;
        lists[n_lists][0] = value;
        return kd_fake_host_set_list(plugin, config, o->name, lists[n_lists++]);
    }
    default:
        return -EINVAL;
    }
}

/* The option table is walked with the stride the plugin declares (ABI 2.0). */
static const struct kd_option *next_option(const struct kd_plugin *plugin,
                                           const struct kd_option *o)
{
    return (const struct kd_option *)(const void *)((const char *)o + plugin->option_size);
}

static const struct kd_option *find(const struct kd_plugin *plugin, const char *name, size_t len)
{
    for (const struct kd_option *o = plugin->options; o->name; o = next_option(plugin, o))
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

static void print_result(const char *workload, const struct kd_fake_fetch *f)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "workload", workload);
    if (f->n_done + f->n_fail != 1) {
        cJSON_AddStringToObject(o, "error", "completed more than once or never");
    } else if (f->has_forecast) {
        const struct kd_forecast *fc = &f->forecast;
        cJSON_AddNumberToObject(o, "generatedAt", (double)fc->generated_at_ms);
        cJSON_AddNumberToObject(o, "stepSeconds", (double)fc->step_seconds);
        cJSON_AddNumberToObject(o, "horizonSeconds", (double)fc->horizon_seconds);
        cJSON *v = cJSON_AddArrayToObject(o, "values");
        for (size_t i = 0; i < fc->n_values; i++) { /* exact: cJSON rounds to 15 digits */
            char num[32];
            snprintf(num, sizeof(num), "%.17g", fc->values[i]);
            cJSON_AddItemToArray(v, cJSON_CreateRaw(num));
        }
        cJSON *r = cJSON_AddArrayToObject(o, "desiredReplicas");
        for (size_t i = 0; i < fc->n_desired_replicas; i++)
            cJSON_AddItemToArray(r, cJSON_CreateNumber((double)fc->desired_replicas[i]));
    } else {
        cJSON_AddStringToObject(o, "error", f->message);
    }
    char *text = cJSON_PrintUnformatted(o);
    printf("%s\n", text);
    free(text);
    cJSON_Delete(o);
}

int main(int argc, char **argv)
{
    static struct kd_fake_host fake;
    static struct kd_fake_fetch fetches[MAX_WORKLOADS];
    const char *workloads[MAX_WORKLOADS];
    size_t n = 0;
    int i = 3;

    if (argc < 4) {
        fprintf(stderr, "usage: %s PLUGIN NOW_MS key=value... -- WORKLOAD...\n", argv[0]);
        return 2;
    }
    void *dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    const struct kd_plugin *plugin = dl ? dlsym(dl, KD_PLUGIN_SYMBOL) : NULL;
    if (!plugin) {
        fprintf(stderr, "prom_fetch: %s\n", dlerror());
        return 2;
    }
    void *config = calloc(1, plugin->config_size);
    for (const struct kd_option *o = plugin->options; o->name; o = next_option(plugin, o))
        if (o->default_value && set_option(plugin, config, o, o->default_value) < 0)
            return 2;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *eq = strchr(argv[i], '=');
        const struct kd_option *o = eq ? find(plugin, argv[i], (size_t)(eq - argv[i])) : NULL;
        if (!o || set_option(plugin, config, o, eq + 1) < 0) {
            fprintf(stderr, "prom_fetch: bad option %s\n", argv[i]);
            return 2;
        }
    }
    for (i++; i < argc && n < MAX_WORKLOADS; i++)
        workloads[n++] = argv[i];

    struct event_base *base = event_base_new();
    kd_fake_host_init(&fake, base, strtoll(argv[2], NULL, 10));
    fake.is_echo = true;
    void *state = NULL;
    if (plugin->source->create(&fake.host, kd_fake_host_instance(&fake), config, &state) < 0)
        return 2;
    for (size_t k = 0; k < n; k++) {
        int rc = plugin->source->fetch(state, kd_fake_host_fetch(&fetches[k]), workloads[k]);
        if (rc < 0)
            snprintf(fetches[k].message, sizeof(fetches[k].message), "fetch: %s", strerror(-rc));
        if (rc < 0)
            fetches[k].n_fail = 1;
    }
    for (;;) {
        size_t left = 0;
        for (size_t k = 0; k < n; k++)
            left += fetches[k].n_done + fetches[k].n_fail == 0;
        if (!left)
            break;
        event_base_loop(base, EVLOOP_ONCE);
    }
    for (size_t k = 0; k < n; k++) {
        print_result(workloads[k], &fetches[k]);
        kd_fake_host_fetch_fini(&fetches[k]);
    }
    plugin->source->destroy(state);
    event_base_free(base);
    free(config);
    /* No dlclose(): the process ends here, and unloading libcurl's TLS-bearing libraries first
     * makes LeakSanitizer crash at exit (see kd_plugin_host_keep_mapped()). */
    (void)dl;
    return 0;
}
