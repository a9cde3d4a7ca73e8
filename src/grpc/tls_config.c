/* SPDX-License-Identifier: Apache-2.0 */
/* The part of grpc/tls.h that needs no TLS library: compiled into kd_grpc and into the module
 * (kedastral-tls.so), which links no kd_grpc. */
#include "grpc/tls.h"

#include <errno.h>
#include <string.h>

#include "util/errbuf.h"

/* ---- Configuration ------------------------------------------------------------------------ */

void kd_tls_config_init(struct kd_tls_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->client_auth = KD_TLS_CLIENT_AUTH_NONE;
    cfg->min_version = KD_TLS_1_2;
    cfg->poll_ms = KD_TLS_POLL_MS;
}

static const char *const auth_names[] = {"none", "optional", "require"};

const char *kd_tls_client_auth_name(enum kd_tls_client_auth auth)
{
    return (unsigned)auth < sizeof(auth_names) / sizeof(auth_names[0]) ? auth_names[auth] : "?";
}

int kd_tls_config_check(const struct kd_tls_config *cfg, char *err, size_t err_len)
{
    if (!cfg->cert_file || !*cfg->cert_file || !cfg->key_file || !*cfg->key_file) {
        kd_errbuf_printf(err, err_len, "TLS needs both a certificate and a key file");
        return -EINVAL;
    }
    bool has_ca = cfg->client_ca_file && *cfg->client_ca_file;
    if (cfg->client_auth != KD_TLS_CLIENT_AUTH_NONE && !has_ca) {
        kd_errbuf_printf(err, err_len, "client_auth \"%s\" needs a client_ca file",
                         kd_tls_client_auth_name(cfg->client_auth));
        return -EINVAL;
    }
    if ((unsigned)cfg->client_auth > KD_TLS_CLIENT_AUTH_REQUIRE) {
        kd_errbuf_printf(err, err_len, "unknown client_auth %d", (int)cfg->client_auth);
        return -EINVAL;
    }
    if (cfg->min_version != KD_TLS_1_2 && cfg->min_version != KD_TLS_1_3) {
        kd_errbuf_printf(err, err_len, "min_version must be TLS 1.2 or 1.3");
        return -EINVAL;
    }
    if (cfg->poll_ms < 0) {
        kd_errbuf_printf(err, err_len, "poll interval must be >= 0");
        return -EINVAL;
    }
    return 0;
}

const char *kd_tls_failure_name(enum kd_tls_failure why)
{
    static const char *const names[KD_TLS_FAILURE_COUNT] = {
        [KD_TLS_FAILURE_NO_H2] = "no_h2",
        [KD_TLS_FAILURE_PLAINTEXT] = "plaintext",
        [KD_TLS_FAILURE_CLIENT_CERT] = "client_certificate",
        [KD_TLS_FAILURE_PROTOCOL] = "protocol",
        [KD_TLS_FAILURE_CLOSED] = "closed",
        [KD_TLS_FAILURE_TIMEOUT] = "timeout",
    };
    return (unsigned)why < KD_TLS_FAILURE_COUNT ? names[why] : "unknown";
}
