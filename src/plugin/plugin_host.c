/* SPDX-License-Identifier: Apache-2.0 */
/* The plugin host, loading half: dlopen() and the descriptor checks (one clear line per
 * failure), and the copy of every plugin-written table into the host's layout (plugin.h's
 * growth rule). Instances and the services lent to plugins are in instance.c and host_io.c. */
#include "plugin/plugin_host.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plugin/plugin_options.h"
#include "plugin/plugin_private.h"
#include "util/errbuf.h"

/* No plugin needs more; anything bigger is a corrupt descriptor. */
#define MAX_CONFIG_SIZE (1u << 20)
#define MAX_OPTIONS 256u
#define MAX_STRUCT_SIZE 4096u /* sizes beyond this are garbage, not growth */

const char *kd_plugin_kind_name(enum kd_plugin_kind kind)
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

/* The ABI fields and sizes, before anything else of the descriptor is read. */
static int check_abi(const struct kd_plugin *p, char *err, size_t err_len)
{
    if (p->abi_major != KD_PLUGIN_ABI_MAJOR) {
        kd_errbuf_printf(err, err_len,
                         "built for plugin ABI %u.%u, this scaler speaks %u.%u; rebuild the plugin",
                         (unsigned)p->abi_major, (unsigned)p->abi_minor, KD_PLUGIN_ABI_MAJOR,
                         KD_PLUGIN_ABI_MINOR);
        return -EINVAL;
    }
    if (p->size < KD_PLUGIN_SIZE_2_0 || p->size > MAX_STRUCT_SIZE) {
        kd_errbuf_printf(err, err_len,
                         "descriptor size %u is not plausible for ABI %u.x (at least %zu); "
                         "initialise it with KD_PLUGIN_ABI",
                         (unsigned)p->size, KD_PLUGIN_ABI_MAJOR, KD_PLUGIN_SIZE_2_0);
        return -EINVAL;
    }
    if (p->options && (p->option_size < KD_OPTION_SIZE_2_0 || p->option_size > MAX_STRUCT_SIZE)) {
        kd_errbuf_printf(err, err_len,
                         "option_size %u is not plausible (at least %zu); initialise the "
                         "descriptor with KD_PLUGIN_ABI",
                         (unsigned)p->option_size, KD_OPTION_SIZE_2_0);
        return -EINVAL;
    }
    return 0;
}

/* Copies `n` bytes of the writer's struct into the reader's zeroed one: the prefix both know. */
static void copy_prefix(void *dst, size_t dst_size, const void *src, size_t src_size)
{
    memset(dst, 0, dst_size);
    memcpy(dst, src, src_size < dst_size ? src_size : dst_size);
}

/* The plugin's tables copied into h, in the host's layout. -EINVAL / -ENOMEM with err. */
static int normalise(struct kd_plugin_handle *h, const struct kd_plugin *p, char *err,
                     size_t err_len)
{
    copy_prefix(&h->plugin, sizeof(h->plugin), p, p->size);
    h->plugin.size = sizeof(h->plugin);
    h->plugin.option_size = sizeof(struct kd_option);

    if (h->plugin.kind == KD_PLUGIN_SOURCE && p->source) {
        uint32_t size = p->source->size;
        if (size < KD_SOURCE_OPS_SIZE_2_0 || size > MAX_STRUCT_SIZE) {
            kd_errbuf_printf(err, err_len,
                             "source ops size %u is not plausible (at least %zu); set "
                             ".size = sizeof(struct kd_source_ops)",
                             (unsigned)size, KD_SOURCE_OPS_SIZE_2_0);
            return -EINVAL;
        }
        copy_prefix(&h->source, sizeof(h->source), p->source, size);
        h->source.size = sizeof(h->source);
        h->plugin.source = &h->source;
    } else {
        h->plugin.source = NULL;
    }
    if (h->plugin.kind == KD_PLUGIN_POLICY && p->policy) {
        uint32_t size = p->policy->size;
        if (size < KD_POLICY_OPS_SIZE_2_0 || size > MAX_STRUCT_SIZE) {
            kd_errbuf_printf(err, err_len,
                             "policy ops size %u is not plausible (at least %zu); set "
                             ".size = sizeof(struct kd_policy_ops)",
                             (unsigned)size, KD_POLICY_OPS_SIZE_2_0);
            return -EINVAL;
        }
        copy_prefix(&h->policy, sizeof(h->policy), p->policy, size);
        h->policy.size = sizeof(h->policy);
        h->plugin.policy = &h->policy;
    } else {
        h->plugin.policy = NULL;
    }

    /* The option array, walked with the plugin's stride. */
    size_t n = 0;
    const char *base = (const char *)p->options;
    while (base) {
        const struct kd_option *entry = (const void *)(base + n * p->option_size);
        if (!entry->name)
            break;
        if (++n > MAX_OPTIONS) {
            kd_errbuf_printf(err, err_len, "more than %u options, or no KD_OPTIONS_END",
                             MAX_OPTIONS);
            return -EINVAL;
        }
    }
    h->options = calloc(n + 1, sizeof(*h->options));
    if (!h->options) {
        kd_errbuf_printf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        copy_prefix(&h->options[i], sizeof(h->options[i]), base + i * p->option_size,
                    p->option_size);
    h->plugin.options = h->options;
    return 0;
}

/* Everything after the ABI check, on the host-layout copy: -EINVAL with the reason. */
static int check_descriptor(const struct kd_plugin *p, enum kd_plugin_kind kind, const char *name,
                            char *err, size_t err_len)
{
    if (!kd_plugin_kind_name(p->kind)) {
        kd_errbuf_printf(err, err_len, "unknown plugin kind %d; expected source (1) or policy (2)",
                         (int)p->kind);
        return -EINVAL;
    }
    if (kind && p->kind != kind) {
        kd_errbuf_printf(err, err_len, "is a %s plugin, but was configured as a %s",
                         kd_plugin_kind_name(p->kind),
                         kd_plugin_kind_name(kind) ? kd_plugin_kind_name(kind) : "?");
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
        kd_errbuf_printf(err, err_len, "%s ops incomplete (%s is NULL)",
                         kd_plugin_kind_name(p->kind), op);
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

/* Every dlopen()ed handle still open: glibc's dlopen() hands back the copy it already has for
 * a path, even when the file was replaced since, so a replaced file must be noticed here. */
static struct kd_list open_handles = KD_LIST_INIT(open_handles);
static bool keep_mapped; /* kd_plugin_host_keep_mapped() */

static struct kd_plugin_handle *open_handle_of(const char *path)
{
    struct kd_list *node, *tmp;

    KD_LIST_FOR_EACH_SAFE(node, tmp, &open_handles) {
        struct kd_plugin_handle *h = KD_CONTAINER_OF(node, struct kd_plugin_handle, open_link);
        if (strcmp(h->path, path) == 0)
            return h;
    }
    return NULL;
}

static bool same_file(const struct kd_plugin_handle *h, const struct stat *st)
{
    return h->dev == st->st_dev && h->ino == st->st_ino && h->file_size == st->st_size &&
           h->mtime.tv_sec == st->st_mtim.tv_sec && h->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void handle_free(struct kd_plugin_handle *h)
{
    kd_list_remove(&h->open_link);
    if (h->dl && !keep_mapped)
        dlclose(h->dl);
    free(h->options);
    free(h->path);
    free(h);
}

/* Checks `p` (from dlsym or linked in) and fills h from it; messages start with `origin`. */
static int adopt(struct kd_plugin_handle *h, const struct kd_plugin *p, const char *origin,
                 enum kd_plugin_kind kind, const char *name, char *err, size_t err_len)
{
    char why[512];
    int r = check_abi(p, why, sizeof(why));
    if (r == 0)
        r = normalise(h, p, why, sizeof(why));
    if (r == 0)
        r = check_descriptor(&h->plugin, kind, name, why, sizeof(why));
    if (r < 0)
        kd_errbuf_printf(err, err_len, "%s: %s", origin, why);
    return r;
}

static int open_path(const char *path, const char *dir, enum kd_plugin_kind kind, const char *name,
                     struct kd_plugin_handle **ret_handle, char *err, size_t err_len)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        kd_errbuf_printf(err, err_len,
                         "%s: cannot open: %s (plugin_dir is \"%s\"; --plugin-dir changes it)",
                         path, strerror(e), dir);
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        kd_errbuf_printf(err, err_len, "%s: cannot open: not a regular file", path);
        return -EINVAL;
    }

    const struct kd_plugin_handle *loaded = open_handle_of(path);
    if (loaded && !same_file(loaded, &st)) {
        kd_errbuf_printf(err, err_len,
                         "%s: replaced on disk since it was loaded; the running scaler keeps "
                         "the copy it has (dlopen caches it by name): restart it to load the "
                         "new file",
                         path);
        return -ESTALE;
    }

    struct kd_plugin_handle *h = calloc(1, sizeof(*h));
    if (!h) {
        kd_errbuf_printf(err, err_len, "%s: out of memory", path);
        return -ENOMEM;
    }
    h->dev = st.st_dev;
    h->ino = st.st_ino;
    h->mtime = st.st_mtim;
    h->file_size = st.st_size;
    int r = -ENOMEM;
    h->path = strdup(path);
    if (!h->path) {
        kd_errbuf_printf(err, err_len, "%s: out of memory", path);
        free(h);
        return r;
    }

    h->refs = 1;
    r = -EINVAL;
    dlerror();
    h->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h->dl) {
        const char *why = dlerror();
        kd_errbuf_printf(err, err_len, "%s: not a loadable plugin: %s", path,
                         why ? strip_path(why, path) : "unknown dlopen error");
        goto fail_handle;
    }

    dlerror();
    const struct kd_plugin *p = dlsym(h->dl, KD_PLUGIN_SYMBOL);
    if (!p || dlerror()) {
        kd_errbuf_printf(err, err_len, "%s: no %s symbol: not a kedastral-scaler plugin", path,
                         KD_PLUGIN_SYMBOL);
        goto fail_handle;
    }
    r = adopt(h, p, path, kind, name, err, err_len);
    if (r < 0)
        goto fail_handle;
    kd_list_push_back(&open_handles, &h->open_link);
    *ret_handle = h;
    return 0;

fail_handle:
    handle_free(h);
    return r;
}

int kd_plugin_host_open(const char *dir, enum kd_plugin_kind kind, const char *name,
                        struct kd_plugin_handle **ret_handle, char *err, size_t err_len)
{
    if (!kd_plugin_kind_name(kind) || !name || !*name || strchr(name, '/')) {
        kd_errbuf_printf(err, err_len, "invalid plugin %s \"%s\"",
                         kd_plugin_kind_name(kind) ? kd_plugin_kind_name(kind) : "kind",
                         name ? name : "");
        return -EINVAL;
    }
    char *path;
    if (asprintf(&path, "%s/%s-%s.so", dir, kd_plugin_kind_name(kind), name) < 0) {
        kd_errbuf_printf(err, err_len, "%s-%s: out of memory", kd_plugin_kind_name(kind), name);
        return -ENOMEM;
    }
    int r = open_path(path, dir, kind, name, ret_handle, err, err_len);
    free(path);
    return r;
}

int kd_plugin_host_open_builtin(const struct kd_plugin *plugin, const char *origin,
                                struct kd_plugin_handle **ret_handle, char *err, size_t err_len)
{
    struct kd_plugin_handle *h = calloc(1, sizeof(*h));
    if (!h || !(h->path = strdup(origin))) {
        free(h);
        kd_errbuf_printf(err, err_len, "%s: out of memory", origin);
        return -ENOMEM;
    }
    h->refs = 1;
    int r = adopt(h, plugin, origin, 0, NULL, err, err_len);
    if (r < 0) {
        handle_free(h);
        return r;
    }
    *ret_handle = h;
    return 0;
}

const struct kd_plugin *kd_plugin_host_descriptor(const struct kd_plugin_handle *handle)
{
    return &handle->plugin;
}

void kd_plugin_handle_ref(struct kd_plugin_handle *handle)
{
    handle->refs++;
}

void kd_plugin_host_keep_mapped(void)
{
    keep_mapped = true;
}

void kd_plugin_host_close(struct kd_plugin_handle *handle)
{
    if (!handle || --handle->refs > 0)
        return;
    handle_free(handle);
}

void kd_plugin_host_describe(const struct kd_plugin_handle *handle,
                             const struct kd_plugin_setting *settings, FILE *out)
{
    const struct kd_plugin *p = &handle->plugin;
    fprintf(out, "%s-%s %s: %s\n", kd_plugin_kind_name(p->kind), p->name, p->version,
            p->description);
    kd_plugin_options_describe(p->options, settings, out);
}
