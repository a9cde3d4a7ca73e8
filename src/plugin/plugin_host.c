/* SPDX-License-Identifier: Apache-2.0 */
/* The plugin host: dlopen() and the descriptor checks (one clear line per failure), instances,
 * and the struct kd_host table through which plugins call back into the daemon. */
#include "plugin/plugin_host.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plugin/plugin_options.h"
#include "util/errbuf.h"
#include "util/log.h"
#include "util/time.h"

/* No plugin needs more; anything bigger is a corrupt descriptor. */
#define MAX_CONFIG_SIZE (1u << 20)

struct kd_plugin_handle {
    void *dl;
    const struct kd_plugin *plugin;
    char *path;
};

static const char *kind_name(enum kd_plugin_kind kind)
{
    switch (kind) {
    case KD_PLUGIN_SOURCE:
        return "source";
    case KD_PLUGIN_POLICY:
        return "policy";
    }
    return NULL;
}

/* dlerror() usually repeats the path ("x.so: invalid ELF header"); the line has it already. */
static const char *strip_path(const char *msg, const char *path)
{
    size_t n = strlen(path);
    if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        return msg + n + 2;
    return msg;
}

/* The first NULL callback of the ops table for the plugin's kind, or NULL if complete. */
static const char *missing_op(const struct kd_plugin *p)
{
    if (p->kind == KD_PLUGIN_SOURCE) {
        if (!p->source)
            return "source";
        if (!p->source->create)
            return "create";
        if (!p->source->fetch)
            return "fetch";
        if (!p->source->cancel)
            return "cancel";
        if (!p->source->destroy)
            return "destroy";
    } else {
        if (!p->policy)
            return "policy";
        if (!p->policy->create)
            return "create";
        if (!p->policy->decide)
            return "decide";
        if (!p->policy->lookahead_ms)
            return "lookahead_ms";
        if (!p->policy->destroy)
            return "destroy";
    }
    return NULL;
}

/* Everything after dlsym(): -EINVAL with the reason (without the path) in err. */
static int check_descriptor(const struct kd_plugin *p, enum kd_plugin_kind kind, const char *name,
                            char *err, size_t err_len)
{
    if (p->abi_major != KD_PLUGIN_ABI_MAJOR || p->abi_minor > KD_PLUGIN_ABI_MINOR) {
        kd_errbuf_printf(err, err_len,
                         "built for plugin ABI %u.%u, this scaler speaks %u.%u; rebuild the plugin",
                         (unsigned)p->abi_major, (unsigned)p->abi_minor, KD_PLUGIN_ABI_MAJOR,
                         KD_PLUGIN_ABI_MINOR);
        return -EINVAL;
    }
    if (!kind_name(p->kind)) {
        kd_errbuf_printf(err, err_len, "unknown plugin kind %d; expected source (1) or policy (2)",
                         (int)p->kind);
        return -EINVAL;
    }
    if (kind && p->kind != kind) {
        kd_errbuf_printf(err, err_len, "is a %s plugin, but was configured as a %s",
                         kind_name(p->kind), kind_name(kind) ? kind_name(kind) : "?");
        return -EINVAL;
    }
    if (!p->name || !p->version || !p->description) {
        kd_errbuf_printf(err, err_len, "descriptor incomplete (%s is NULL)",
                         !p->name      ? "name"
                         : !p->version ? "version"
                                       : "description");
        return -EINVAL;
    }
    if (name && strcmp(p->name, name) != 0) {
        kd_errbuf_printf(err, err_len, "descriptor says name \"%s\", file is named for \"%s\"",
                         p->name, name);
        return -EINVAL;
    }
    const char *op = missing_op(p);
    if (op) {
        kd_errbuf_printf(err, err_len, "%s ops incomplete (%s is NULL)", kind_name(p->kind), op);
        return -EINVAL;
    }
    if (p->config_size > MAX_CONFIG_SIZE) {
        kd_errbuf_printf(err, err_len, "config_size %zu is implausible (limit %u)", p->config_size,
                         MAX_CONFIG_SIZE);
        return -EINVAL;
    }
    char why[384];
    if (kd_plugin_options_validate(p->options, p->config_size, why, sizeof(why)) < 0) {
        kd_errbuf_printf(err, err_len, "bad option table: %s", why);
        return -EINVAL;
    }
    return 0;
}

static int open_path(const char *path, const char *dir, enum kd_plugin_kind kind, const char *name,
                     struct kd_plugin_handle **ret_handle, char *err, size_t err_len)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        if (dir)
            kd_errbuf_printf(err, err_len,
                             "%s: cannot open: %s (plugin_dir is \"%s\"; --plugin-dir changes it)",
                             path, strerror(e), dir);
        else
            kd_errbuf_printf(err, err_len, "%s: cannot open: %s", path, strerror(e));
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        kd_errbuf_printf(err, err_len, "%s: cannot open: not a regular file", path);
        return -EINVAL;
    }

    struct kd_plugin_handle *h = calloc(1, sizeof(*h));
    if (!h) {
        kd_errbuf_printf(err, err_len, "%s: out of memory", path);
        return -ENOMEM;
    }
    int r = -ENOMEM;
    h->path = strdup(path);
    if (!h->path) {
        kd_errbuf_printf(err, err_len, "%s: out of memory", path);
        goto fail_handle;
    }

    r = -EINVAL;
    dlerror();
    h->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h->dl) {
        const char *why = dlerror();
        kd_errbuf_printf(err, err_len, "%s: not a loadable plugin: %s", path,
                         why ? strip_path(why, path) : "unknown dlopen error");
        goto fail_path;
    }

    dlerror();
    h->plugin = dlsym(h->dl, KD_PLUGIN_SYMBOL);
    if (!h->plugin || dlerror()) {
        kd_errbuf_printf(err, err_len, "%s: no %s symbol: not a kedastral-scaler plugin", path,
                         KD_PLUGIN_SYMBOL);
        goto fail_close;
    }

    char why[512];
    if (check_descriptor(h->plugin, kind, name, why, sizeof(why)) < 0) {
        kd_errbuf_printf(err, err_len, "%s: %s", path, why);
        goto fail_close;
    }

    *ret_handle = h;
    return 0;

fail_close:
    dlclose(h->dl);
fail_path:
    free(h->path);
fail_handle:
    free(h);
    return r;
}

int kd_plugin_host_open_path(const char *path, enum kd_plugin_kind kind, const char *name,
                             struct kd_plugin_handle **ret_handle, char *err, size_t err_len)
{
    return open_path(path, NULL, kind, name, ret_handle, err, err_len);
}

int kd_plugin_host_open(const char *dir, enum kd_plugin_kind kind, const char *name,
                        struct kd_plugin_handle **ret_handle, char *err, size_t err_len)
{
    if (!kind_name(kind) || !name || !*name || strchr(name, '/')) {
        kd_errbuf_printf(err, err_len, "invalid plugin %s \"%s\"",
                         kind_name(kind) ? kind_name(kind) : "kind", name ? name : "");
        return -EINVAL;
    }
    char *path;
    if (asprintf(&path, "%s/%s-%s.so", dir, kind_name(kind), name) < 0) {
        kd_errbuf_printf(err, err_len, "%s-%s: out of memory", kind_name(kind), name);
        return -ENOMEM;
    }
    int r = open_path(path, dir, kind, name, ret_handle, err, err_len);
    free(path);
    return r;
}

const struct kd_plugin *kd_plugin_host_descriptor(const struct kd_plugin_handle *handle)
{
    return handle->plugin;
}

void kd_plugin_host_close(struct kd_plugin_handle *handle)
{
    if (!handle)
        return;
    dlclose(handle->dl);
    free(handle->path);
    free(handle);
}

void kd_plugin_host_describe(const struct kd_plugin_handle *handle, FILE *out)
{
    const struct kd_plugin *p = handle->plugin;
    fprintf(out, "%s-%s %s: %s\n", kind_name(p->kind), p->name, p->version, p->description);
    kd_plugin_options_describe(p->options, out);
}

/* ---- Instances ---------------------------------------------------------------------------- */

static int plugin_create(const struct kd_plugin *p, struct kd_instance *inst)
{
    if (p->kind == KD_PLUGIN_SOURCE)
        return p->source->create(kd_plugin_host_services(), inst, inst->config, &inst->state);
    return p->policy->create(kd_plugin_host_services(), inst, inst->config, &inst->state);
}

int kd_plugin_host_instance_create(struct kd_plugin_handle *handle, const char *instance_name,
                                   const config_setting_t *group, const char *const *host_keys,
                                   const struct kd_host_defaults *defaults, struct event_base *base,
                                   struct kd_instance **ret_instance, char *err, size_t err_len)
{
    const struct kd_plugin *p = handle->plugin;
    const char *kind = kind_name(p->kind);
    char label[160];
    int r = -ENOMEM;

    snprintf(label, sizeof(label), "%s \"%s\" (%s)", kind, instance_name, p->name);

    struct kd_instance *inst = calloc(1, sizeof(*inst));
    if (!inst) {
        kd_errbuf_printf(err, err_len, "%s: out of memory", label);
        return -ENOMEM;
    }
    inst->name = strdup(instance_name);
    if (!inst->name)
        goto fail_inst;
    inst->config = calloc(1, p->config_size ? p->config_size : 1);
    if (!inst->config)
        goto fail_name;
    snprintf(inst->log_prefix, sizeof(inst->log_prefix), "%s:%s", kind, instance_name);
    inst->plugin = p;
    inst->handle = handle;
    inst->base = base;

    r = kd_plugin_options_apply(p->options, group, host_keys, defaults, label, inst->config, err,
                                err_len);
    if (r < 0)
        goto fail_config;

    r = plugin_create(p, inst);
    if (r < 0) {
        kd_errbuf_printf(err, err_len, "%s: create failed: %s (see the plugin's log line above)",
                         label, strerror(-r));
        goto fail_options;
    }

    *ret_instance = inst;
    return 0;

fail_options:
    kd_plugin_options_release(p->options, inst->config);
fail_config:
    free(inst->config);
fail_name:
    free(inst->name);
fail_inst:
    free(inst);
    if (r == -ENOMEM)
        kd_errbuf_printf(err, err_len, "%s: out of memory", label);
    return r;
}

void kd_plugin_host_instance_destroy(struct kd_instance *instance)
{
    if (!instance)
        return;
    const struct kd_plugin *p = instance->plugin;
    if (p->kind == KD_PLUGIN_SOURCE)
        p->source->destroy(instance->state);
    else
        p->policy->destroy(instance->state);
    kd_plugin_options_release(p->options, instance->config);
    free(instance->config);
    free(instance->name);
    free(instance);
}

/* ---- Services lent to plugins ------------------------------------------------------------- */

static void host_log(const struct kd_instance *inst, enum kd_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void host_log(const struct kd_instance *inst, enum kd_log_level level, const char *fmt, ...)
{
    /* the level indexes the logger's name table: never trust a plugin with that */
    if ((int)level < KD_LOG_ERROR)
        level = KD_LOG_ERROR;
    if (level > KD_LOG_DEBUG)
        level = KD_LOG_DEBUG;
    va_list ap;
    va_start(ap, fmt);
    kd_log_prefixedv(level, inst ? inst->log_prefix : NULL, fmt, ap);
    va_end(ap);
}

static struct event_base *host_event_base(const struct kd_instance *inst)
{
    return inst ? inst->base : NULL;
}

static int64_t host_now_ms(const struct kd_instance *inst)
{
    (void)inst;
    return kd_time_now_ms();
}

static int host_fetch_done(struct kd_fetch *fetch, const struct kd_forecast *forecast)
{
    if (!fetch)
        return -EINVAL;
    if (!forecast) {
        /* the handle must die either way, or the waiters would hang until the timeout */
        fetch->on_fail(fetch, KD_FETCH_FAILED, "the plugin completed the fetch without a forecast");
        return -EINVAL;
    }
    fetch->on_done(fetch, forecast);
    return 0;
}

static void host_fetch_fail(struct kd_fetch *fetch, enum kd_fetch_error error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void host_fetch_fail(struct kd_fetch *fetch, enum kd_fetch_error error, const char *fmt, ...)
{
    if (!fetch)
        return;
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    fetch->on_fail(fetch, error, message);
}

static const struct kd_host host_services = {
    .abi_minor = KD_PLUGIN_ABI_MINOR,
    .log = host_log,
    .event_base = host_event_base,
    .now_ms = host_now_ms,
    .fetch_done = host_fetch_done,
    .fetch_fail = host_fetch_fail,
};

const struct kd_host *kd_plugin_host_services(void)
{
    return &host_services;
}
