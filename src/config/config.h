/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's configuration: a libconfig file (or the built-in upstream-mode text) merged
 * with command-line and environment overrides. This layer checks structure, types and
 * references; plugin option groups are checked by the plugin host against each plugin's
 * option table (config keeps the libconfig tree alive for that).
 */
#ifndef KD_CONFIG_H
#define KD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libconfig.h>

#include "config/settings.h"
#include "util/log.h"

/*
 * Values from flags or environment variables (main merges them: flag > env), each already
 * parsed by kd_config_override(). Zeroed: nothing given.
 */
struct kd_config_overrides {
    bool set[KD_SETTINGS_MAX]; /* indexed by kd_setting_index() */
    bool from_env[KD_SETTINGS_MAX];
    struct kd_setting_value value[KD_SETTINGS_MAX]; /* .text points to the caller's text */
};

struct kd_config_source {
    char *name;
    char *plugin;                  /* short name: "file" loads source-file.so */
    const config_setting_t *group; /* plugin options live here (besides the host keys) */
    const char *file;              /* where it was declared, for messages */
    int line;
    int64_t refresh_ms;    /* host key "refresh", default 10s: background refresh period */
    int64_t timeout_ms;    /* host key "timeout", default 2s: the host cancels fetches after */
    int64_t idle_evict_ms; /* host key "idle_evict", default 10m */
};

struct kd_config_policy {
    char *name;
    char *plugin; /* "max" loads policy-max.so */
    const config_setting_t *group;
    const char *file;
    int line;
};

/* ---- Routes (workloads = ( ... )): the predictive settings an operator writes per route ----- */

enum kd_on_stale {
    KD_ON_STALE_ERROR = 0,    /* IsActive answers UNAVAILABLE / NOT_FOUND (KEDA keeps replicas) */
    KD_ON_STALE_INACTIVE = 1, /* IsActive answers false, as upstream */
};

enum kd_activation {
    KD_ACTIVATION_FRESH = 0,  /* active while the forecast is fresh (upstream) */
    KD_ACTIVATION_DEMAND = 1, /* active iff the policy's value over the activation window
                                 exceeds activation_threshold */
};

enum kd_route_mode {
    KD_MODE_ACTIVE = 0,
    KD_MODE_SHADOW = 1, /* GetMetrics 0, IsActive false; the policy's answer only exported */
};

/* Trigger-metadata keys a ScaledObject may use to override its route, in KEDA's camelCase. */
enum kd_override_key {
    KD_OVERRIDE_LEAD_TIME,
    KD_OVERRIDE_POLICY,
    KD_OVERRIDE_STALE_AFTER,
    KD_OVERRIDE_FALLBACK_REPLICAS,
    KD_OVERRIDE_ACTIVATION,
    KD_OVERRIDE_ACTIVATION_LEAD_TIME,
    KD_OVERRIDE_MODE,
    KD_OVERRIDE_COUNT,
};

/* "leadTime", "policy", ... indexed by enum kd_override_key. */
extern const char *const kd_override_names[KD_OVERRIDE_COUNT];

#define KD_LEAD_TIME_MAX_DEFAULT_MS (60LL * 60 * 1000)        /* lead_time_max: 1h */
#define KD_STALE_AFTER_MAX_DEFAULT_MS (24LL * 60 * 60 * 1000) /* stale_after_max: 24h */
#define KD_REPLICAS_MAX 2147483647LL /* KEDA and Kubernetes count replicas in int32 */

struct kd_config_workload {
    char *match;  /* fnmatch(3) glob on the workload name */
    char *source; /* names into sources[] / policies[]; checked to exist */
    char *policy;
    int64_t stale_after_ms;        /* -1: 2 x max(lead time, the forecast's stepSeconds) */
    int64_t fallback_replicas;     /* -1: none (stale -> UNAVAILABLE) */
    enum kd_on_stale on_stale;     /* default error */
    enum kd_activation activation; /* default fresh */
    int64_t activation_lead_ms;    /* -1: the lead time */
    double activation_threshold;   /* default 0 */
    enum kd_route_mode mode;       /* default active */
    uint32_t overrides;            /* bit (1u << enum kd_override_key) per allowed key; default 0 */
    int64_t lead_time_max_ms;      /* bound of leadTime / activationLeadTime overrides */
    int64_t stale_after_max_ms;    /* bound of the staleAfter override */
    uint32_t written;              /* bit (1u << enum kd_route_setting) per key in the file */
    const char *file;
    int line;
};

/* The route keys whose provenance (config file or default) is tracked in `written`. */
enum kd_route_setting {
    KD_ROUTE_STALE_AFTER,
    KD_ROUTE_FALLBACK_REPLICAS,
    KD_ROUTE_ON_STALE,
    KD_ROUTE_ACTIVATION,
    KD_ROUTE_ACTIVATION_LEAD,
    KD_ROUTE_ACTIVATION_THRESHOLD,
    KD_ROUTE_MODE,
};

struct kd_config {
    char *path;     /* NULL for the built-in configuration */
    char *base_dir; /* relative paths (plugin_dir, plugin files) resolve against this */
    char *listen;
    /* TLS on the gRPC listener (group "tls", flags --grpc-tls-*): off without a cert. */
    char *grpc_tls_cert;
    char *grpc_tls_key;
    char *grpc_tls_client_ca;
    int grpc_tls_client_auth; /* none|optional|require; "tls.client_auth" text NULL: not given */
    int grpc_tls_min_version; /* 0: TLS 1.2, 1: TLS 1.3 */
    char *http_listen;
    char *plugin_dir; /* absolute after load */
    enum kd_log_level log_level;
    enum kd_log_format log_format;
    bool reflection;
    int64_t max_message_size;    /* bytes, default 4 MiB */
    int64_t default_deadline_ms; /* unary calls without grpc-timeout, default 10s */
    int64_t shutdown_timeout_ms; /* SIGTERM grace for running calls, default 10s */

    /* The status endpoints (ops/status_http.h). */
    bool status;                  /* /status and /status.json on the admin port */
    bool readyz_requires_sources; /* /readyz fails while every source is down, none cached */

    int64_t max_workloads; /* limits.max_workloads: cache entries, default 10000 */

    int64_t config_poll_ms; /* the file's watch; 0: reload on SIGHUP only */
    /* limits.*: the gRPC transport's and the admin server's (README "Limits and hardening"). */
    int64_t connection_buffer, total_buffer; /* bytes */
    int64_t max_connections;
    int64_t handshake_timeout_ms, idle_timeout_ms, write_timeout_ms, max_deadline_ms;
    int64_t max_streams_without_deadline, total_streams_without_deadline;
    int64_t admin_max_connections, admin_max_body, admin_max_header, admin_timeout_ms;

    /* Upstream mode and plugin defaults: flags and environment only. */
    char *forecaster_url; /* NULL: not given */
    int64_t lead_time_ms; /* 0 when not given */
    bool tls_enabled;     /* upstream's client mTLS to the forecaster: built-in config only */
    char *tls_cert_file;
    char *tls_key_file;
    char *tls_ca_file;
    /* Each setting's text as given (file string, flag, variable, default); NULL: not given. */
    char *text[KD_SETTINGS_MAX];

    struct kd_config_source *sources;
    size_t n_sources;
    struct kd_config_policy *policies;
    size_t n_policies;
    struct kd_config_workload *workloads;
    size_t n_workloads;

    config_t cfg; /* kept alive: the groups above point into it */
};

/* Keys of a source / policy group that belong to the host, not to the plugin; NULL-terminated,
 * for kd_instance_create(). */
extern const char *const kd_config_source_keys[];
extern const char *const kd_config_policy_keys[];

/*
 * Load `path` (NULL: the built-in upstream-mode configuration), apply `ov`, validate.
 * On error returns -EINVAL (or -ENOENT, -ENOMEM) and writes one line
 * "file:line: what is wrong; what is allowed" into err; *ret_config untouched.
 * `plugin_dir_default` is used when neither the file nor `ov` sets plugin_dir.
 */
int kd_config_load(const char *path, const struct kd_config_overrides *ov,
                   const char *plugin_dir_default, struct kd_config **ret_config, char *err,
                   size_t err_len);

void kd_config_free(struct kd_config *config);

/*
 * Parse `text` for setting `s` as from its flag (from_env: from its variable) into `ov`;
 * `text` must outlive `ov`. On error returns -EINVAL or -ERANGE with "what is wrong; what is
 * allowed" in err (the caller names the flag or variable); `ov` untouched.
 */
int kd_config_override(struct kd_config_overrides *ov, const struct kd_setting *s, bool from_env,
                       const char *text, char *err, size_t err_len);

/* The text a daemon-wide setting was given ("lead_time" -> "5m"); NULL: not given. For plugin
 * option defaults taken from a daemon setting. */
const char *kd_config_setting_text(const struct kd_config *config, const char *key);

#endif /* KD_CONFIG_H */
