/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kedastral-scaler: flags and environment, configuration, wiring of the layers onto one
 * libevent loop, signals. Everything interesting lives in the layers; this file only connects.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config/config.h"
#include "config/settings.h"
#include "grpc/grpc_server.h"
#include "grpc/tls.h"
#include "ops/admin_http.h"
#include "ops/metrics.h"
#include "ops/process_stats.h"
#include "ops/scaler_metrics.h"
#include "ops/status_http.h"
#include "plugin/plugin_host.h"
#include "scaler/plugin_settings.h"
#include "scaler/reload.h"
#include "scaler/scaler.h"
#include "scaler/scaler_status.h"
#include "services/health.h"
#include "services/reflection.h"
#include "util/addr.h"
#include "util/errbuf.h"
#include "util/exe_path.h"
#include "util/log.h"
#include "util/pool.h"
#include "util/time.h"
#include "version.h"

enum action { ACTION_RUN, ACTION_CHECK_CONFIG, ACTION_DESCRIBE };

struct options {
    enum action action;
    const char *config_path;
    const char *describe;
    const char *tls_module; /* --tls-module; NULL: $KEDASTRAL_TLS_MODULE, then the lookup */
    struct kd_config_overrides ov;
};

struct daemon {
    const struct options *opts;
    struct event_base *base;
    struct kd_config *config; /* loaded, until kd_reload_create() owns it */
    struct kd_reload *reload; /* the serving scaler and its configuration */
    struct kd_grpc_server *grpc;
    struct kd_tls *tls;      /* NULL: h2c */
    struct kd_tls *next_tls; /* a reload's new context, between prepare and applied */
    struct kd_health *health;
    struct kd_reflection *reflection;
    struct kd_metrics *metrics;
    struct kd_scaler_metrics *scaler_metrics;
    struct kd_scaler_observer observer;
    struct kd_admin_http *admin;
    char *admin_address;          /* where `admin` listens: a failed move on reload keeps the old */
    struct kd_status_http status; /* /status, /status.json, verbose health */
    int64_t started_ms;
    uint64_t reloads_ok, reloads_failed;
    int64_t last_reload_ms;
    bool last_reload_ok;
    char last_reload_error[1024];
    struct event *sig_term;
    struct event *sig_int;
    struct event *sig_hup;
    bool draining;
};

/* Flags that are not settings: what to do, which file, which TLS module. */
enum command {
    CMD_CONFIG,
    CMD_CHECK_CONFIG,
    CMD_DESCRIBE,
    CMD_TLS_MODULE,
    CMD_VERSION,
    CMD_HELP,
    CMD_COUNT
};

static const struct command_info {
    const char *flag;
    const char *metavar; /* NULL: takes no value */
    const char *help;
} commands[CMD_COUNT] = {
    [CMD_CONFIG] = {"config", "FILE",
                    "libconfig file; without it: upstream mode (one http source at "
                    "FORECASTER_URL, max policy at LEAD_TIME, route \"*\")"},
    [CMD_CHECK_CONFIG] = {"check-config", NULL,
                          "load the configuration and every plugin, then exit"},
    [CMD_DESCRIBE] = {"describe", "PLUGIN", "print a plugin's options, e.g. source-file"},
    [CMD_TLS_MODULE] = {"tls-module", "PATH",
                        "the TLS module (kedastral-tls.so) to load when TLS is configured; "
                        "wins over $KEDASTRAL_TLS_MODULE"},
    [CMD_VERSION] = {"version", NULL, "print the version and exit"},
    [CMD_HELP] = {"help", NULL, "this text"},
};

/* getopt values: commands, then one per row of kd_settings[]. */
enum { OPT_COMMAND = 256, OPT_SETTING = OPT_COMMAND + CMD_COUNT };

static void usage(FILE *out)
{
    fprintf(out, "Usage: kedastral-scaler [options]\n"
                 "\n"
                 "A KEDA external scaler that answers ahead of demand from forecasts.\n"
                 "\n");
    for (size_t i = 0; i < CMD_COUNT; i++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", commands[i].flag, commands[i].metavar ? " " : "",
                 commands[i].metavar ? commands[i].metavar : "");
        kd_settings_usage_line(out, left, commands[i].help);
    }
    fprintf(out, "\nSettings (flag > environment > config file > built-in default):\n");
    kd_settings_usage(out);
    fprintf(out, "\nSingle-dash spellings (-listen=:50051) work too, as with the Go scaler.\n");
}

static void build_longopts(struct option *longopts)
{
    size_t n = 0;
    for (size_t i = 0; i < CMD_COUNT; i++)
        longopts[n++] =
            (struct option){commands[i].flag, commands[i].metavar ? required_argument : no_argument,
                            NULL, OPT_COMMAND + (int)i};
    for (size_t i = 0; i < kd_settings_count; i++) {
        const struct kd_setting *s = &kd_settings[i];
        /* Go's bool flags: -tls-enabled alone means true. */
        if (s->flag)
            longopts[n++] = (struct option){
                s->flag, s->type == KD_SETTING_BOOL ? optional_argument : required_argument, NULL,
                OPT_SETTING + (int)i};
    }
    longopts[n] = (struct option){NULL, 0, NULL, 0};
}

/* Environment first, flags then overwrite: flag > env. Upstream treats an empty variable as
 * unset, and silently ignores an invalid LEAD_TIME; we say so, then do the same. */
static int read_environment(struct options *opts)
{
    char err[512];
    for (size_t i = 0; i < kd_settings_count; i++) {
        const struct kd_setting *s = &kd_settings[i];
        const char *v = s->env ? getenv(s->env) : NULL;
        if (!v || !*v || kd_config_override(&opts->ov, s, true, v, err, sizeof(err)) == 0)
            continue;
        if (!(s->flags & KD_SETTING_ENV_LENIENT)) {
            fprintf(stderr, "kedastral-scaler: %s: %s\n", s->env, err);
            return -EINVAL;
        }
        fprintf(stderr, "kedastral-scaler: ignoring %s=\"%s\": %s\n", s->env, v, err);
    }
    return 0;
}

/* Returns 0, 1 (exit 0: --help/--version printed) or -EINVAL (exit 2). */
static int run_command(enum command cmd, const char *arg, struct options *opts)
{
    switch (cmd) {
    case CMD_CONFIG:
        opts->config_path = arg;
        return 0;
    case CMD_CHECK_CONFIG:
        opts->action = ACTION_CHECK_CONFIG;
        return 0;
    case CMD_DESCRIBE:
        opts->action = ACTION_DESCRIBE;
        opts->describe = arg;
        return 0;
    case CMD_TLS_MODULE:
        if (!*arg) {
            fprintf(stderr, "kedastral-scaler: --tls-module needs a path\n");
            return -EINVAL;
        }
        opts->tls_module = arg;
        return 0;
    case CMD_VERSION:
        printf("kedastral-scaler %s (plugin ABI %u.%u)\n", KD_VERSION, KD_PLUGIN_ABI_MAJOR,
               KD_PLUGIN_ABI_MINOR);
        return 1;
    case CMD_HELP:
    case CMD_COUNT:
        break;
    }
    usage(stdout);
    return 1;
}

/* Returns 0, 1 (exit 0: --help/--version printed) or -EINVAL (exit 2, usage printed). */
static int parse_options(int argc, char **argv, struct options *opts)
{
    struct option longopts[CMD_COUNT + KD_SETTINGS_MAX + 1];
    char err[512];
    int c, rc;

    build_longopts(longopts);
    if (read_environment(opts) < 0)
        return -EINVAL;
    opterr = 0;
    while ((c = getopt_long_only(argc, argv, ":", longopts, NULL)) != -1) {
        if (c >= OPT_SETTING) {
            const struct kd_setting *s = &kd_settings[c - OPT_SETTING];
            rc =
                kd_config_override(&opts->ov, s, false, optarg ? optarg : "true", err, sizeof(err));
            if (rc < 0) {
                fprintf(stderr, "kedastral-scaler: --%s: %s\n", s->flag, err);
                return -EINVAL;
            }
        } else if (c >= OPT_COMMAND) {
            rc = run_command((enum command)(c - OPT_COMMAND), optarg, opts);
            if (rc != 0)
                return rc;
        } else {
            if (c == ':')
                fprintf(stderr, "kedastral-scaler: %s needs a value\n", argv[optind - 1]);
            else
                fprintf(stderr, "kedastral-scaler: unknown flag %s\n", argv[optind - 1]);
            usage(stderr);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kedastral-scaler: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return -EINVAL;
    }
    return 0;
}

/*
 * Plugins next to the binary (<prefix>/bin/../lib/kedastral-scaler/plugins) win over the
 * compiled-in install path, so a relocated install or a build tree finds its own plugins.
 */
static const char *default_plugin_dir(void)
{
    static char dir[PATH_MAX];
    const char *suffixes[] = {"/../lib/kedastral-scaler/plugins", "/../plugins"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
        if (kd_exe_path_beside(suffixes[i], R_OK | X_OK, dir, sizeof(dir)) == 0)
            return dir;
    return KD_DEFAULT_PLUGIN_DIR;
}

static int describe_plugin(const struct options *opts)
{
    const char *name = opts->describe;
    enum kd_plugin_kind kind;
    if (strncmp(name, "source-", 7) == 0)
        kind = KD_PLUGIN_SOURCE;
    else if (strncmp(name, "policy-", 7) == 0)
        kind = KD_PLUGIN_POLICY;
    else {
        fprintf(stderr,
                "kedastral-scaler: --describe %s: name a plugin as <kind>-<name>, e.g. "
                "source-file, source-http, policy-max\n",
                name);
        return 2;
    }
    size_t i = kd_setting_index(kd_setting_find("plugin_dir"));
    const char *dir = opts->ov.set[i] ? opts->ov.value[i].text : default_plugin_dir();
    char err[512];
    struct kd_plugin_handle *handle;
    if (kd_plugin_host_open(dir, kind, name + 7, &handle, err, sizeof(err)) != 0) {
        fprintf(stderr, "kedastral-scaler: %s\n", err);
        return 1;
    }
    struct kd_plugin_settings settings;
    kd_plugin_host_describe(handle, kd_plugin_settings_fill(NULL, &settings), stdout);
    kd_plugin_host_close(handle);
    return 0;
}

static void on_drained(void *arg)
{
    struct daemon *d = arg;
    event_base_loopexit(d->base, NULL);
}

/* Pulled values, read only when Prometheus asks. */
static void before_scrape(void *arg)
{
    struct daemon *d = arg;
    struct kd_scaler_metrics_pull pull = {0};
    struct kd_scaler_stats stats;

    kd_reload_stats(d->reload, &stats);
    pull.cache_entries = stats.cache_entries;
    pull.open_streams = stats.open_streams;
    pull.has_connections = true;
    pull.open_connections = kd_grpc_server_connections(d->grpc);
    pull.has_process = kd_process_stats_read(&pull.process) == 0;
    if (d->tls) {
        _Static_assert(KD_TLS_FAILURE_COUNT <=
                           sizeof(pull.tls_failures) / sizeof(pull.tls_failures[0]),
                       "kd_scaler_metrics_pull has room for every TLS failure reason");
        uint64_t counts[KD_TLS_FAILURE_COUNT];
        kd_tls_failures(counts);
        for (int i = 0; i < KD_TLS_FAILURE_COUNT; i++) {
            pull.tls_failures[i].reason = kd_tls_failure_name((enum kd_tls_failure)i);
            pull.tls_failures[i].count = counts[i];
        }
        pull.n_tls_failures = KD_TLS_FAILURE_COUNT;
    }
    kd_scaler_metrics_pull(d->scaler_metrics, &pull);
}

static int status_snapshot(void *arg, const struct kd_status_query *query,
                           struct kd_status_snapshot *ret_snapshot)
{
    struct daemon *d = arg;
    const struct kd_config *c = kd_reload_config(d->reload);
    struct kd_status_daemon info = {
        .version = KD_VERSION,
        .config_file = c->path,
        .listen = c->listen,
        .http_listen = d->admin_address ? d->admin_address : c->http_listen,
        .started_ms = d->started_ms,
        .reloads_ok = d->reloads_ok,
        .reloads_failed = d->reloads_failed,
        .last_reload_ms = d->last_reload_ms,
        .last_reload_ok = d->last_reload_ok,
        .last_reload_error = d->last_reload_error,
    };
    kd_status_daemon_limits(c, &info);
    return kd_scaler_status_snapshot(kd_reload_scaler(d->reload), &info, query, kd_time_now_ms(),
                                     ret_snapshot);
}

static void note_reload(struct daemon *d, bool ok, const char *err)
{
    d->last_reload_ms = kd_time_now_ms();
    d->last_reload_ok = ok;
    if (ok)
        d->reloads_ok++;
    else
        d->reloads_failed++;
    snprintf(d->last_reload_error, sizeof(d->last_reload_error), "%s", ok ? "" : err);
}

static void start_drain(struct daemon *d, const char *why)
{
    int64_t grace_ms = kd_reload_config(d->reload)->shutdown_timeout_ms;

    d->draining = true;
    KD_INFO("%s: draining (grace %" PRId64 " ms)", why, grace_ms);
    if (d->admin) {
        kd_admin_http_set_live(d->admin, false);
        kd_admin_http_set_ready(d->admin, false);
    }
    if (d->health)
        kd_health_set_serving(d->health, false);
    kd_reload_drain(d->reload);
    if (d->health)
        kd_health_drain(d->health);
    kd_grpc_server_drain(d->grpc, grace_ms, on_drained, d);
}

static void admin_set_limits(struct daemon *d, const struct kd_config *c)
{
    struct kd_admin_http_limits limits = {
        .max_connections = (unsigned)c->admin_max_connections,
        .max_body = (size_t)c->admin_max_body,
        .max_header = (size_t)c->admin_max_header,
        .timeout_ms = c->admin_timeout_ms,
    };
    kd_admin_http_set_limits(d->admin, &limits);
}

static int admin_create(struct daemon *d, const char *address, struct kd_admin_http **ret_admin)
{
    struct kd_admin_http_hooks hooks = {
        .before_scrape = before_scrape,
        .arg = d,
        .route = kd_status_http_route,
        .route_arg = &d->status,
    };
    return kd_admin_http_create(d->base, address, d->metrics, &hooks, ret_admin);
}

/* The running admin server listens on the port `address` names (not "any port"). */
static bool admin_has_port_of(const struct daemon *d, const char *address)
{
    char host[256];
    uint16_t port = 0;
    return d->admin && kd_addr_split(address, host, sizeof(host), &port) == 0 && port != 0 &&
           port == kd_admin_http_port(d->admin);
}

/*
 * Another address on the admin server's own port ("0.0.0.0:8082" -> "127.0.0.1:8082") cannot
 * be bound while the old one listens: give the old one up, bind, and take the old one back if
 * the new address still fails. Returns what the new bind returned; d->admin is the old server
 * again, or NULL if even that could not be had back.
 */
static int admin_rebind_same_port(struct daemon *d, const struct kd_config *c, const char *address,
                                  struct kd_admin_http **ret_admin)
{
    kd_admin_http_destroy(d->admin);
    d->admin = NULL;
    int rc = admin_create(d, address, ret_admin);
    if (rc == 0)
        return 0;
    if (admin_create(d, d->admin_address, &d->admin) == 0) {
        admin_set_limits(d, c);
        kd_admin_http_set_ready(d->admin, true);
    } else {
        free(d->admin_address);
        d->admin_address = NULL;
    }
    return rc;
}

static void admin_start(struct daemon *d, const struct kd_config *c)
{
    const char *address = c->http_listen;
    char *copy = strdup(address);
    struct kd_admin_http *admin;
    int rc = copy ? admin_create(d, address, &admin) : -ENOMEM;

    if (rc == -EADDRINUSE && admin_has_port_of(d, address))
        rc = admin_rebind_same_port(d, c, address, &admin);

    /* Like upstream: the admin port is an aid, not a reason to stop scaling. */
    if (rc < 0) {
        free(copy);
        if (d->admin)
            KD_ERROR("reload: cannot serve /metrics, /healthz and /readyz on %s: %s; they stay "
                     "on %s (the next reload tries again)",
                     address, strerror(-rc), d->admin_address);
        else
            KD_ERROR("cannot serve /metrics, /healthz and /readyz on %s: %s; continuing "
                     "without them",
                     address, strerror(-rc));
        return;
    }
    if (d->admin)
        kd_admin_http_destroy(d->admin);
    d->admin = admin;
    free(d->admin_address);
    d->admin_address = copy;
    admin_set_limits(d, c);
    kd_admin_http_set_ready(admin, true);
    KD_INFO("admin http listening address=%s port=%d", address, kd_admin_http_port(admin));
}

/* ---- TLS on the gRPC port ------------------------------------------------------------------ */

static void tls_config_of(const struct kd_config *config, struct kd_tls_config *tc)
{
    kd_tls_config_init(tc);
    tc->cert_file = config->grpc_tls_cert;
    tc->key_file = config->grpc_tls_key;
    tc->client_ca_file = config->grpc_tls_client_ca;
    if (kd_config_setting_text(config, "tls.client_auth"))
        tc->client_auth = (enum kd_tls_client_auth)config->grpc_tls_client_auth;
    else if (config->grpc_tls_client_ca)
        tc->client_auth = KD_TLS_CLIENT_AUTH_REQUIRE;
    tc->min_version = config->grpc_tls_min_version == 1 ? KD_TLS_1_3 : KD_TLS_1_2;
}

static bool tls_wanted(const struct kd_config *config)
{
    return config->grpc_tls_cert || config->grpc_tls_key || config->grpc_tls_client_ca ||
           kd_config_setting_text(config, "tls.client_auth");
}

/* *ret_tls NULL when the config asks for no TLS. Errors name the tls group's file:line. */
static int tls_create(const struct kd_config *config, struct event_base *base,
                      struct kd_tls **ret_tls, char *err, size_t err_len)
{
    struct kd_tls_config tc;
    char why[768];

    *ret_tls = NULL;
    if (!tls_wanted(config))
        return 0;
    tls_config_of(config, &tc);
    int rc = kd_tls_create(base, &tc, ret_tls, why, sizeof(why));
    if (rc < 0) {
        config_setting_t *g = config_lookup((config_t *)&config->cfg, "tls");
        if (g && config_setting_source_file(g))
            kd_errbuf_at(err, err_len, config_setting_source_file(g), config_setting_source_line(g),
                         "tls: %s", why);
        else
            kd_errbuf_printf(err, err_len, "--grpc-tls-*: %s", why);
    }
    return rc;
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool tls_same(const struct kd_config *a, const struct kd_config *b)
{
    struct kd_tls_config x, y;
    tls_config_of(a, &x);
    tls_config_of(b, &y);
    return tls_wanted(a) == tls_wanted(b) && same_text(x.cert_file, y.cert_file) &&
           same_text(x.key_file, y.key_file) && same_text(x.client_ca_file, y.client_ca_file) &&
           x.client_auth == y.client_auth && x.min_version == y.min_version;
}

static const char *tls_summary(const struct kd_config *config)
{
    static char buf[64];
    struct kd_tls_config tc;
    if (!tls_wanted(config))
        return "off";
    tls_config_of(config, &tc);
    snprintf(buf, sizeof(buf), "on client_auth=%s min_version=1.%d",
             kd_tls_client_auth_name(tc.client_auth), tc.min_version == KD_TLS_1_3 ? 3 : 2);
    return buf;
}

/* ---- Reload hooks: what the daemon owns beside the scaler ---------------------------------- */

/* Other TLS settings: a new context, checked before the take-over. The same: the files are
 * re-read after it, and a broken pair there keeps the running one without failing. */
static int on_reload_prepare(void *arg, const struct kd_config *config, const struct kd_config *old,
                             char *err, size_t err_len)
{
    struct daemon *d = arg;

    d->next_tls = d->tls;
    if (tls_same(config, old))
        return 0;
    return tls_create(config, d->base, &d->next_tls, err, err_len);
}

static void on_reload_abandon(void *arg)
{
    struct daemon *d = arg;

    if (d->next_tls != d->tls)
        kd_tls_destroy(d->next_tls);
    d->next_tls = NULL;
}

static void on_reload_applied(void *arg, const struct kd_config *config,
                              const struct kd_config *old)
{
    struct daemon *d = arg;
    struct kd_tls *tls = d->next_tls;

    d->next_tls = NULL;
    d->status.enabled = config->status;
    d->status.readyz_requires_sources = config->readyz_requires_sources;
    if (tls == d->tls && d->tls) {
        kd_tls_reload(d->tls); /* logs the new material, or why the running one stays */
    } else if (tls != d->tls && kd_grpc_server_set_tls(d->grpc, tls) == 0) {
        KD_INFO("reload: TLS on the gRPC port %s (connections already open keep theirs)",
                tls_summary(config));
        kd_tls_destroy(d->tls);
        d->tls = tls;
    } else if (tls != d->tls) {
        KD_ERROR("reload: out of memory switching TLS; the gRPC port keeps TLS %s",
                 tls_summary(old));
        kd_tls_destroy(tls);
    }
    /* Against where the admin server is, not the old file: a move that failed is retried. */
    if (!d->admin_address || strcmp(config->http_listen, d->admin_address) != 0)
        admin_start(d, config);
    else
        admin_set_limits(d, config); /* new limits apply to new connections */
    kd_scaler_metrics_reload(d->scaler_metrics, true);
    note_reload(d, true, NULL);
}

static void on_reload_failed(void *arg, const char *err)
{
    struct daemon *d = arg;

    kd_scaler_metrics_reload(d->scaler_metrics, false);
    note_reload(d, false, err);
}

static void on_signal(evutil_socket_t sig, short events, void *arg)
{
    (void)events;
    struct daemon *d = arg;
    if (sig == SIGHUP) {
        kd_reload_run(d->reload, "SIGHUP");
        return;
    }
    if (d->draining) {
        KD_WARN("second %s: exiting now", sig == SIGINT ? "SIGINT" : "SIGTERM");
        event_base_loopbreak(d->base);
        return;
    }
    start_drain(d, sig == SIGINT ? "SIGINT" : "SIGTERM");
}

static void daemon_teardown(struct daemon *d)
{
    kd_plugin_host_keep_mapped();
    if (d->sig_term)
        event_free(d->sig_term);
    if (d->sig_int)
        event_free(d->sig_int);
    if (d->sig_hup)
        event_free(d->sig_hup);
    kd_admin_http_destroy(d->admin);
    free(d->admin_address);
    kd_reflection_destroy(d->reflection);
    kd_health_destroy(d->health);
    /* Closes every call, so retired scalers have none left. */
    kd_grpc_server_destroy(d->grpc);
    kd_tls_destroy(d->tls);
    kd_reload_destroy(d->reload);
    kd_scaler_metrics_destroy(d->scaler_metrics);
    kd_metrics_destroy(d->metrics);
    kd_config_free(d->config);
    if (d->base)
        event_base_free(d->base);
}

/* SIGTERM and SIGINT drain, SIGHUP reloads. */
static int signals_start(struct daemon *d)
{
    d->sig_term = evsignal_new(d->base, SIGTERM, on_signal, d);
    d->sig_int = evsignal_new(d->base, SIGINT, on_signal, d);
    d->sig_hup = evsignal_new(d->base, SIGHUP, on_signal, d);
    if (!d->sig_term || !d->sig_int || !d->sig_hup || evsignal_add(d->sig_term, NULL) != 0 ||
        evsignal_add(d->sig_int, NULL) != 0 || evsignal_add(d->sig_hup, NULL) != 0) {
        KD_ERROR("cannot install signal handlers");
        return -ENOMEM;
    }
    return 0;
}

/* The registry and the scaler's metrics, with the observer the scaler and reload report to. */
static int metrics_start(struct daemon *d)
{
    int rc = kd_metrics_create(&d->metrics);
    if (rc == 0)
        rc = kd_scaler_metrics_create(d->metrics, KD_VERSION, (double)kd_time_now_ms() / 1000.0,
                                      &d->scaler_metrics);
    if (rc != 0) {
        KD_ERROR("cannot create the metrics: %s", strerror(-rc));
        return rc;
    }
    kd_scaler_metrics_observer(d->scaler_metrics, &d->observer);
    return 0;
}

static int daemon_start(struct daemon *d, const struct options *opts)
{
    static const char *const served[] = {KD_EXTERNAL_SCALER_SERVICE, NULL};
    char err[1024];
    int rc;

    d->base = event_base_new();
    if (!d->base) {
        KD_ERROR("cannot create the event loop");
        return -ENOMEM;
    }
    const struct kd_reload_params params = {
        .config_path = opts->config_path,
        .ov = &opts->ov,
        .plugin_dir_default = default_plugin_dir(),
        .prepare = on_reload_prepare,
        .abandon = on_reload_abandon,
        .applied = on_reload_applied,
        .failed = on_reload_failed,
        .arg = d,
    };
    const struct kd_config *config = d->config;
    rc = tls_create(config, d->base, &d->tls, err, sizeof(err));
    if (rc == 0)
        rc = kd_reload_create(d->base, d->config, &params, &d->reload, err, sizeof(err));
    if (rc != 0) {
        KD_ERROR("%s", err);
        return rc;
    }
    d->config = NULL; /* the reload owns it now */
    if (opts->action == ACTION_CHECK_CONFIG)
        return 0;

    struct kd_grpc_server_config gcfg;
    kd_reload_grpc_config(config, &gcfg);
    rc = kd_grpc_server_create(d->base, &gcfg, &d->grpc);
    if (rc == 0 && d->tls)
        rc = kd_grpc_server_set_tls(d->grpc, d->tls);
    if (rc != 0) {
        KD_ERROR("cannot create the gRPC server: %s", strerror(-rc));
        return rc;
    }
    rc = metrics_start(d);
    if (rc != 0)
        return rc;
    kd_reload_set_observer(d->reload, &d->observer);
    rc = kd_reload_attach(d->reload, d->grpc);
    if (rc == 0)
        rc = kd_health_create(d->grpc, served, &d->health);
    if (rc == 0 && config->reflection)
        rc = kd_reflection_create(d->grpc, &d->reflection);
    if (rc != 0) {
        KD_ERROR("cannot register gRPC services: %s", strerror(-rc));
        return rc;
    }
    /* Before the "listening" lines: whoever reads them may signal at once, and SIGHUP's
     * default action would end the process. */
    rc = signals_start(d);
    if (rc != 0)
        return rc;
    rc = kd_grpc_server_listen(d->grpc, config->listen);
    if (rc != 0) {
        KD_ERROR("cannot listen on %s: %s", config->listen, strerror(-rc));
        return rc;
    }
    KD_INFO("grpc server listening address=%s port=%d tls=%s", config->listen,
            kd_grpc_server_port(d->grpc), tls_summary(config));
    /* Ready from here: the config is loaded and every source instance was created. */
    admin_start(d, config);
    return 0;
}

/* libevent's allocations, for the process's life (never destroyed: libevent may free into it
 * until exit). */
static struct kd_pool *event_pool;
#define EVENT_POOL_CACHE_LIMIT (256 << 10) /* idle bytes kept for reuse */

static void *event_pool_malloc(size_t size)
{
    return kd_pool_alloc(event_pool, size);
}

static void *event_pool_realloc(void *ptr, size_t size)
{
    return kd_pool_realloc(event_pool, ptr, size);
}

static void event_pool_free(void *ptr)
{
    kd_pool_free(event_pool, ptr);
}

/*
 * libevent from a size-class pool: its evbuffers free a chain once drained and allocate one
 * for the next read and the next write, so even a single cached call cost a malloc and a free
 * each way. Must run before libevent allocates anything. Not where the pool passes through
 * (sanitizers, memcheck): their view of libevent stays libevent's own.
 */
static void event_pool_install(void)
{
    if (kd_pool_create(EVENT_POOL_CACHE_LIMIT, &event_pool) != 0)
        return; /* libevent keeps malloc */
    if (kd_pool_passthrough(event_pool)) {
        kd_pool_destroy(event_pool);
        event_pool = NULL;
        return;
    }
    event_set_mem_functions(event_pool_malloc, event_pool_realloc, event_pool_free);
}

int main(int argc, char **argv)
{
    struct options opts = {.action = ACTION_RUN};
    int rc = parse_options(argc, argv, &opts);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (opts.action == ACTION_DESCRIBE)
        return describe_plugin(&opts);

    signal(SIGPIPE, SIG_IGN);
    kd_tls_module_set_path(opts.tls_module);
    event_pool_install();

    struct daemon d = {.opts = &opts, .started_ms = kd_time_now_ms()};
    d.status = (struct kd_status_http){.snapshot = status_snapshot, .arg = &d};
    char err[1024];
    rc = kd_config_load(opts.config_path, &opts.ov, default_plugin_dir(), &d.config, err,
                        sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "kedastral-scaler: %s\n", err);
        return 1;
    }
    kd_log_setup(d.config->log_level, d.config->log_format);
    d.status.enabled = d.config->status;
    d.status.readyz_requires_sources = d.config->readyz_requires_sources;
    if (opts.action == ACTION_RUN) {
        const char *lead = kd_config_setting_text(d.config, "lead_time");
        KD_INFO("starting kedastral scaler version=%s config=%s listen=%s plugin_dir=%s%s%s",
                KD_VERSION, d.config->path ? d.config->path : "<built-in>", d.config->listen,
                d.config->plugin_dir, lead ? " lead_time=" : "", lead ? lead : "");
    }

    rc = daemon_start(&d, &opts);
    if (rc == 0 && opts.action == ACTION_CHECK_CONFIG) {
        const struct kd_config *c = kd_reload_config(d.reload);
        printf("%s: configuration OK (%zu sources, %zu policies, %zu workload routes)\n",
               c->path ? c->path : "<built-in>", c->n_sources, c->n_policies, c->n_workloads);
    } else if (rc == 0) {
        event_base_dispatch(d.base);
        KD_INFO("shutdown complete");
    }
    daemon_teardown(&d);
    return rc == 0 ? 0 : 1;
}
