/* SPDX-License-Identifier: Apache-2.0 */
/* The settings table, the one parser of a setting's text, and the two renderings of the
 * table (--help, the README). Pure. */
#include "config/settings.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "util/addr.h"
#include "util/duration.h"
#include "util/errbuf.h"

#define FIELD(name) offsetof(struct kd_config, name)
#define POSITIVE 1, INT64_MAX

/*
 * One row per setting; the order is the order of --help and of the README table. A row
 * needs: key, type, offset, help; flag/env when operators set it that way; def (parsed at
 * every load, so --help cannot disagree with the daemon); min/max for numbers.
 */
const struct kd_setting kd_settings[] = {
    {.key = "listen",
     .flag = "listen",
     .env = "SCALER_LISTEN",
     .type = KD_SETTING_ADDRESS,
     .def = "0.0.0.0:50051",
     .offset = FIELD(listen),
     .metavar = "ADDR",
     .help = "gRPC address for KEDA"},
    /* TLS on the gRPC listener (src/grpc/tls.h): on when a certificate is given. */
    {.key = "tls.cert",
     .flag = "grpc-tls-cert-file",
     .env = "GRPC_TLS_CERT_FILE",
     .type = KD_SETTING_PATH,
     .offset = FIELD(grpc_tls_cert),
     .metavar = "FILE",
     .help = "TLS on the gRPC port: certificate chain (PEM), re-read when it changes"},
    {.key = "tls.key",
     .flag = "grpc-tls-key-file",
     .env = "GRPC_TLS_KEY_FILE",
     .type = KD_SETTING_PATH,
     .offset = FIELD(grpc_tls_key),
     .metavar = "FILE",
     .help = "TLS on the gRPC port: private key (PEM), re-read when it changes"},
    {.key = "tls.client_ca",
     .flag = "grpc-tls-client-ca-file",
     .env = "GRPC_TLS_CLIENT_CA_FILE",
     .type = KD_SETTING_PATH,
     .offset = FIELD(grpc_tls_client_ca),
     .metavar = "FILE",
     .help = "mTLS: CA bundle (PEM) that client certificates must chain to"},
    {.key = "tls.client_auth",
     .type = KD_SETTING_ENUM,
     .choices = "none|optional|require", /* index = enum kd_tls_client_auth */
     .def_doc = "`require` with `client_ca`, else `none`",
     .offset = FIELD(grpc_tls_client_auth),
     .help = "client certificates: not asked for, verified if sent, or required"},
    {.key = "tls.min_version",
     .type = KD_SETTING_ENUM,
     .choices = "1.2|1.3",
     .def = "1.2",
     .offset = FIELD(grpc_tls_min_version),
     .help = "oldest TLS version accepted on the gRPC port"},
    {.key = "http_listen",
     .flag = "http-listen",
     .type = KD_SETTING_ADDRESS,
     .def = "0.0.0.0:8082",
     .offset = FIELD(http_listen),
     .metavar = "ADDR",
     .help = "/metrics, /healthz and /readyz address"},
    {.key = "plugin_dir",
     .flag = "plugin-dir",
     .type = KD_SETTING_PATH,
     .def_doc = "`<prefix>/lib/kedastral-scaler/plugins` next to the binary",
     .offset = FIELD(plugin_dir),
     .metavar = "DIR",
     .help = "where the `<kind>-<name>.so` plugins are"},
    {.key = "log_level",
     .flag = "log-level",
     .env = "LOG_LEVEL",
     .type = KD_SETTING_ENUM,
     .choices = "error|warn|info|debug", /* index = enum kd_log_level */
     .def = "info",
     .offset = FIELD(log_level),
     .metavar = "LEVEL",
     .help = "log level"},
    {.key = "log_format",
     .flag = "log-format",
     .env = "LOG_FORMAT",
     .type = KD_SETTING_ENUM,
     .choices = "text|json", /* index = enum kd_log_format */
     .def = "text",
     .offset = FIELD(log_format),
     .metavar = "FORMAT",
     .help = "log line format"},
    {.key = "reflection",
     .type = KD_SETTING_BOOL,
     .def = "true",
     .offset = FIELD(reflection),
     .help = "grpc.reflection v1 + v1alpha (not applied on reload)"},
    {.key = "max_message_size",
     .type = KD_SETTING_SIZE,
     .def = "4MiB",
     .min = 1,
     .max = INT32_MAX /* grpc-go's bound; lengths are 32-bit on the wire */,
     .offset = FIELD(max_message_size),
     .help = "larger requests get RESOURCE_EXHAUSTED"},
    {.key = "default_deadline",
     .type = KD_SETTING_DURATION,
     .def = "10s",
     .min = 1,
     .max = INT64_MAX,
     .offset = FIELD(default_deadline_ms),
     .help = "deadline of unary calls that carry no grpc-timeout"},
    {.key = "shutdown_timeout",
     .type = KD_SETTING_DURATION,
     .def = "10s",
     .min = 1,
     .max = INT64_MAX,
     .offset = FIELD(shutdown_timeout_ms),
     .help = "SIGTERM grace for running calls"},
    {.key = "status",
     .type = KD_SETTING_BOOL,
     .def = "true",
     .offset = FIELD(status),
     .help = "serve /status and /status.json on the admin port"},
    {.key = "readyz_requires_sources",
     .type = KD_SETTING_BOOL,
     .def = "false",
     .offset = FIELD(readyz_requires_sources),
     .help = "/readyz fails while every source is failing with nothing cached"},
    {.key = "limits.max_workloads",
     .type = KD_SETTING_INT,
     .def = "10000",
     .min = 1,
     .max = 100000000,
     .offset = FIELD(max_workloads),
     .help = "cached workloads; past it the least recently asked one is dropped"},
    {.key = "config_poll",
     .flag = "config-poll",
     .metavar = "DURATION",
     .type = KD_SETTING_DURATION,
     .def = "2s",
     .min = 0,
     .max = 86400000,
     .offset = FIELD(config_poll_ms),
     .help = "how often the config file is checked for changes (a ConfigMap edit reloads); 0: "
             "only on SIGHUP"},
    {.key = "limits.connection_buffer",
     .type = KD_SETTING_SIZE,
     .def = "8MiB",
     .min = 65536,
     .max = INT64_C(1) << 40,
     .offset = FIELD(connection_buffer),
     .help = "a gRPC connection's calls and buffered bytes; over it new calls and growing "
             "requests get RESOURCE_EXHAUSTED"},
    {.key = "limits.total_buffer",
     .type = KD_SETTING_SIZE,
     .def = "64MiB",
     .min = 65536,
     .max = INT64_C(1) << 40,
     .offset = FIELD(total_buffer),
     .help = "the same over every gRPC connection"},
    {.key = "limits.max_connections",
     .type = KD_SETTING_INT,
     .def = "1000",
     .min = 1,
     .max = 1000000,
     .offset = FIELD(max_connections),
     .help = "open gRPC connections (kept below the fd limit); past it the listener waits"},
    {.key = "limits.handshake_timeout",
     .type = KD_SETTING_DURATION,
     .def = "10s",
     .min = 1,
     .max = INT64_MAX,
     .offset = FIELD(handshake_timeout_ms),
     .help = "accept to the end of the TLS handshake, then to the client's HTTP/2 preface and "
             "SETTINGS; past either the connection is closed"},
    {.key = "limits.idle_timeout",
     .type = KD_SETTING_DURATION,
     .def = "5m",
     .min = 1,
     .max = INT64_MAX,
     .offset = FIELD(idle_timeout_ms),
     .help = "a gRPC connection with no call in progress gets GOAWAY (KEDA reconnects)"},
    {.key = "limits.write_timeout",
     .type = KD_SETTING_DURATION,
     .def = "30s",
     .min = 1,
     .max = INT64_MAX,
     .offset = FIELD(write_timeout_ms),
     .help = "a gRPC client that leaves answers unsent over the budget this long is dropped"},
    {.key = "limits.max_deadline",
     .type = KD_SETTING_DURATION,
     .def = "1h",
     .min = 1,
     .max = INT64_MAX,
     .offset = FIELD(max_deadline_ms),
     .help = "cap on a client's grpc-timeout"},
    {.key = "limits.max_streams_without_deadline",
     .type = KD_SETTING_INT,
     .def = "1000",
     .min = 1,
     .max = 100000000,
     .offset = FIELD(max_streams_without_deadline),
     .help = "streams without grpc-timeout per connection; past it RESOURCE_EXHAUSTED"},
    {.key = "limits.total_streams_without_deadline",
     .type = KD_SETTING_INT,
     .def = "10000",
     .min = 1,
     .max = 100000000,
     .offset = FIELD(total_streams_without_deadline),
     .help = "the same over every connection"},
    {.key = "limits.admin_max_connections",
     .type = KD_SETTING_INT,
     .def = "64",
     .min = 1,
     .max = 100000,
     .offset = FIELD(admin_max_connections),
     .help = "open admin HTTP connections; past it the admin listener waits"},
    {.key = "limits.admin_max_body",
     .type = KD_SETTING_SIZE,
     .def = "4KiB",
     .min = 0,
     .max = INT32_MAX,
     .offset = FIELD(admin_max_body),
     .help = "admin request bodies above this get 413"},
    {.key = "limits.admin_max_header",
     .type = KD_SETTING_SIZE,
     .def = "8KiB",
     .min = 256,
     .max = INT32_MAX,
     .offset = FIELD(admin_max_header),
     .help = "admin request line plus headers above this get 400 (evhttp)"},
    {.key = "limits.admin_timeout",
     .type = KD_SETTING_DURATION,
     .def = "10s",
     .min = 1,
     .max = INT64_MAX,
     .offset = FIELD(admin_timeout_ms),
     .help = "an admin connection must finish each request within this of the previous one"},
    {.key = "forecaster_url",
     .flag = "forecaster-url",
     .env = "FORECASTER_URL",
     .type = KD_SETTING_STRING,
     .def_doc = "`http://localhost:8081`",
     .offset = FIELD(forecaster_url),
     .metavar = "URL",
     .flags = KD_SETTING_NOT_IN_FILE,
     .help = "default url of http sources"},
    {.key = "lead_time",
     .flag = "lead-time",
     .env = "LEAD_TIME",
     .type = KD_SETTING_DURATION,
     .def_doc = "`5m`",
     .min = 0,
     .max = INT64_MAX,
     .offset = FIELD(lead_time_ms),
     .metavar = "DURATION",
     .flags = KD_SETTING_NOT_IN_FILE | KD_SETTING_ENV_LENIENT,
     .help = "default lead_time of max policies"},
    {.key = "tls_enabled",
     .flag = "tls-enabled",
     .env = "TLS_ENABLED",
     .type = KD_SETTING_BOOL,
     .def = "false",
     .offset = FIELD(tls_enabled),
     .flags = KD_SETTING_NOT_IN_FILE,
     .help = "upstream mode: mTLS to the forecaster (all three files below)"},
    {.key = "tls_cert_file",
     .flag = "tls-cert-file",
     .env = "TLS_CERT_FILE",
     .type = KD_SETTING_STRING,
     .offset = FIELD(tls_cert_file),
     .metavar = "FILE",
     .flags = KD_SETTING_NOT_IN_FILE,
     .help = "upstream mode: client certificate (PEM)"},
    {.key = "tls_key_file",
     .flag = "tls-key-file",
     .env = "TLS_KEY_FILE",
     .type = KD_SETTING_STRING,
     .offset = FIELD(tls_key_file),
     .metavar = "FILE",
     .flags = KD_SETTING_NOT_IN_FILE,
     .help = "upstream mode: client key (PEM)"},
    {.key = "tls_ca_file",
     .flag = "tls-ca-file",
     .env = "TLS_CA_FILE",
     .type = KD_SETTING_STRING,
     .offset = FIELD(tls_ca_file),
     .metavar = "FILE",
     .flags = KD_SETTING_NOT_IN_FILE,
     .help = "upstream mode: CA of the forecaster's certificate"},
};

const size_t kd_settings_count = sizeof(kd_settings) / sizeof(kd_settings[0]);

_Static_assert(sizeof(kd_settings) / sizeof(kd_settings[0]) <= KD_SETTINGS_MAX,
               "raise KD_SETTINGS_MAX");

static const char duration_hint[] = "write e.g. \"250ms\", \"30s\", \"5m\", \"1h30m\", \"2d\"";

const struct kd_setting *kd_setting_find(const char *key)
{
    for (size_t i = 0; i < kd_settings_count; i++) {
        if (strcmp(kd_settings[i].key, key) == 0)
            return &kd_settings[i];
    }
    return NULL;
}

const char *kd_setting_type_name(const struct kd_setting *s)
{
    static const char *const names[] = {
        [KD_SETTING_STRING] = "string", [KD_SETTING_ADDRESS] = "address",
        [KD_SETTING_PATH] = "path",     [KD_SETTING_BOOL] = "bool",
        [KD_SETTING_INT] = "integer",   [KD_SETTING_DURATION] = "duration",
        [KD_SETTING_SIZE] = "size",     [KD_SETTING_ENUM] = "enum",
    };
    return names[s->type];
}

/* "a|b|c" -> index of text, or -1. */
static int choice_index(const char *choices, const char *text)
{
    size_t len = strlen(text);
    int index = 0;
    for (const char *p = choices;; index++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && strncmp(p, text, n) == 0)
            return index;
        if (!bar)
            return -1;
        p = bar + 1;
    }
}

/* "a|b|c" -> "a | b | c" (sep " | ") */
static void choices_text(const char *choices, const char *sep, char *buf, size_t len)
{
    size_t used = 0, n = strlen(sep);
    for (const char *p = choices; *p && used + n + 1 < len; p++) {
        if (*p == '|') {
            memcpy(buf + used, sep, n);
            used += n;
        } else {
            buf[used++] = *p;
        }
    }
    buf[used] = '\0';
}

static int parse_bool(const struct kd_setting *s, const char *text, bool from_env,
                      struct kd_setting_value *v, char *err, size_t err_len)
{
    (void)s;
    if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0) {
        v->b = true;
    } else if (from_env || strcmp(text, "false") == 0 || strcmp(text, "0") == 0) {
        v->b = false;
    } else {
        kd_errbuf_printf(err, err_len, "\"%s\": write true or false", text);
        return -EINVAL;
    }
    return 0;
}

static int parse_number(const struct kd_setting *s, const char *text, struct kd_setting_value *v,
                        char *err, size_t err_len)
{
    int64_t n;
    int r;
    if (s->type == KD_SETTING_DURATION) {
        r = kd_duration_parse(text, &n);
        if (r < 0) {
            kd_errbuf_printf(err, err_len, "\"%s\" is not a duration; %s", text, duration_hint);
            return -EINVAL;
        }
    } else if (s->type == KD_SETTING_SIZE) {
        r = kd_size_parse(text, &n);
        if (r < 0) {
            kd_errbuf_printf(err, err_len,
                             "invalid size \"%s\"; write bytes or e.g. \"64KiB\", \"4MiB\", "
                             "\"1GiB\"",
                             text);
            return -EINVAL;
        }
    } else {
        char *end;
        errno = 0;
        long long ll = strtoll(text, &end, 10);
        if (end == text || *end) {
            kd_errbuf_printf(err, err_len, "\"%s\" is not an integer", text);
            return -EINVAL;
        }
        if (errno == ERANGE)
            ll = ll < 0 ? INT64_MIN : INT64_MAX;
        n = ll;
    }
    v->i = n;
    return kd_setting_check_range(s, n, text, err, err_len);
}

int kd_setting_check_range(const struct kd_setting *s, int64_t n, const char *text, char *err,
                           size_t err_len)
{
    if (n >= s->min && n <= s->max)
        return 0;
    if (s->type == KD_SETTING_DURATION && s->min == 1 && s->max == INT64_MAX) {
        kd_errbuf_printf(err, err_len, "\"%s\" must be greater than zero", text);
    } else if (s->type == KD_SETTING_DURATION) {
        char lo[32], hi[32];
        kd_duration_format(s->min, lo, sizeof(lo));
        kd_duration_format(s->max, hi, sizeof(hi));
        kd_errbuf_printf(err, err_len, "\"%s\" is out of range; allowed: %s to %s", text, lo, hi);
    } else {
        kd_errbuf_printf(err, err_len, "%s is out of range; allowed: %" PRId64 " to %" PRId64 "%s",
                         text, s->min, s->max, s->type == KD_SETTING_SIZE ? " bytes" : "");
    }
    return -ERANGE;
}

/* The same split the listeners do, so --check-config refuses what bind would. */
static int parse_address(const char *text, char *err, size_t err_len)
{
    char host[KD_ADDR_HOST_MAX + 1];
    uint16_t port;

    if (kd_addr_split(text, host, sizeof(host), &port) == 0)
        return 0;
    kd_errbuf_printf(err, err_len,
                     "\"%s\" is not a listen address; expected \"host:port\", \"[v6]:port\" or "
                     "\":port\" with a port in 0..65535",
                     text);
    return -EINVAL;
}

int kd_setting_parse(const struct kd_setting *s, const char *text, bool from_env,
                     struct kd_setting_value *ret_value, char *err, size_t err_len)
{
    struct kd_setting_value v = {.text = text};
    int r = 0;

    switch (s->type) {
    case KD_SETTING_STRING:
    case KD_SETTING_ADDRESS:
    case KD_SETTING_PATH:
        if (!*text) {
            kd_errbuf_printf(err, err_len, "empty; expected %s",
                             s->type == KD_SETTING_PATH ? "a path" : "a value");
            r = -EINVAL;
        } else if (s->type == KD_SETTING_ADDRESS) {
            r = parse_address(text, err, err_len);
        }
        break;
    case KD_SETTING_BOOL:
        r = parse_bool(s, text, from_env, &v, err, err_len);
        break;
    case KD_SETTING_INT:
    case KD_SETTING_DURATION:
    case KD_SETTING_SIZE:
        r = parse_number(s, text, &v, err, err_len);
        break;
    case KD_SETTING_ENUM: {
        int index = choice_index(s->choices, text);
        if (index < 0) {
            char allowed[256];
            choices_text(s->choices, " | ", allowed, sizeof(allowed));
            kd_errbuf_printf(err, err_len, "\"%s\" is not allowed; write %s", text, allowed);
            r = -EINVAL;
        }
        v.i = index;
        break;
    }
    }
    if (r == 0)
        *ret_value = v;
    return r;
}

/* ---- Renderings --------------------------------------------------------------------------- */

static void describe_default(const struct kd_setting *s, char *buf, size_t len)
{
    if (s->def_doc)
        snprintf(buf, len, "%s", s->def_doc);
    else if (s->def)
        snprintf(buf, len, "`%s`", s->def);
    else
        snprintf(buf, len, "none");
}

static void strip_backticks(char *text)
{
    char *out = text;
    for (char *p = text; *p; p++) {
        if (*p != '`')
            *out++ = *p;
    }
    *out = '\0';
}

void kd_settings_usage_line(FILE *out, const char *left, const char *text)
{
    enum { INDENT = 27, WIDTH = 100 };
    int col = fprintf(out, "  %-24s ", left);
    if (col > INDENT)
        col = fprintf(out, "\n%*s", INDENT, "") - 1;
    while (*text) {
        size_t word = strcspn(text, " ");
        if (col > INDENT && col + (int)word + 1 > WIDTH)
            col = fprintf(out, "\n%*s", INDENT, "") - 1;
        else if (col > INDENT)
            col += fprintf(out, " ");
        col += fprintf(out, "%.*s", (int)word, text);
        text += word;
        text += strspn(text, " ");
    }
    fputc('\n', out);
}

void kd_settings_usage(FILE *out)
{
    for (size_t i = 0; i < kd_settings_count; i++) {
        const struct kd_setting *s = &kd_settings[i];
        char left[64], def[160], allowed[160] = "", text[512];
        if (!s->flag)
            continue;
        if (s->type == KD_SETTING_BOOL)
            snprintf(left, sizeof(left), "--%s[=BOOL]", s->flag);
        else
            snprintf(left, sizeof(left), "--%s %s", s->flag, s->metavar ? s->metavar : "VALUE");
        if (s->type == KD_SETTING_ENUM)
            choices_text(s->choices, " | ", allowed, sizeof(allowed));
        describe_default(s, def, sizeof(def));
        snprintf(text, sizeof(text), "%s%s%s%s%s%s (%s)", s->help, *allowed ? ": " : "", allowed,
                 s->env ? " [" : "", s->env ? s->env : "", s->env ? "]" : "", def);
        strip_backticks(text);
        kd_settings_usage_line(out, left, text);
    }
}

void kd_settings_markdown(FILE *out)
{
    fputs("| file key | flag | env | type | default | meaning |\n", out);
    fputs("|---|---|---|---|---|---|\n", out);
    for (size_t i = 0; i < kd_settings_count; i++) {
        const struct kd_setting *s = &kd_settings[i];
        char def[160], type[160];
        describe_default(s, def, sizeof(def));
        if (s->type == KD_SETTING_ENUM)
            choices_text(s->choices, ", ", type, sizeof(type));
        else if (s->type == KD_SETTING_INT)
            snprintf(type, sizeof(type), "integer %" PRId64 "..%" PRId64, s->min, s->max);
        else
            snprintf(type, sizeof(type), "%s", kd_setting_type_name(s));
        fprintf(out, "| %s%s%s | %s%s%s | %s%s%s | %s | %s | %s |\n",
                s->flags & KD_SETTING_NOT_IN_FILE ? "" : "`",
                s->flags & KD_SETTING_NOT_IN_FILE ? "" : s->key,
                s->flags & KD_SETTING_NOT_IN_FILE ? "" : "`", s->flag ? "`--" : "",
                s->flag ? s->flag : "", s->flag ? "`" : "", s->env ? "`" : "", s->env ? s->env : "",
                s->env ? "`" : "", type, def, s->help);
    }
}
