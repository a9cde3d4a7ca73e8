/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes kd_plugin_options_apply: the input is libconfig text; its root group is applied to a
 * fixed table covering every option type. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/plugin_options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_config {
    const char *path;
    int64_t n;
    double ratio;
    bool loop;
    int64_t lead_time_ms;
    int64_t size_bytes;
    const char *url;
};

static const struct kd_option fuzz_options[] = {
    {"path", KD_OPTION_STRING, "demo.json", offsetof(struct fuzz_config, path), "", NULL, 0},
    {"n", KD_OPTION_INT, "3", offsetof(struct fuzz_config, n), "", NULL, 0},
    {"ratio", KD_OPTION_DOUBLE, "0.5", offsetof(struct fuzz_config, ratio), "", NULL, 0},
    {"loop", KD_OPTION_BOOL, "true", offsetof(struct fuzz_config, loop), "", NULL, 0},
    {"lead_time", KD_OPTION_DURATION, "5m", offsetof(struct fuzz_config, lead_time_ms), "",
     "lead_time", 0},
    {"size", KD_OPTION_SIZE, "4MiB", offsetof(struct fuzz_config, size_bytes), "", NULL, 0},
    {"url", KD_OPTION_STRING, NULL, offsetof(struct fuzz_config, url), "", NULL,
     KD_OPTION_REQUIRED},
    KD_OPTIONS_END,
};

/* libconfig 1.5's scanner leaks its buffers on some syntax errors ("\"3\";", "n \"\"3\";");
 * that is not ours to find. Read by LeakSanitizer only. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libconfig.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const host_keys[] = {"name", "plugin", NULL};
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    /* @include would make the fuzzer read arbitrary files */
    if (strstr(text, "@include")) {
        free(text);
        return 0;
    }

    config_t cfg;
    config_init(&cfg);
    if (config_read_string(&cfg, text)) {
        struct fuzz_config conf;
        struct kd_error why;
        char err[256];
        memset(&conf, 0, sizeof(conf));
        const struct kd_plugin_setting defaults[] = {
            {"lead_time", "--lead-time", "10m"}, {"forecaster_url", "--forecaster-url", NULL}, {0}};
        if (kd_plugin_options_apply(fuzz_options, config_root_setting(&cfg), host_keys, defaults,
                                    "source \"fuzz\" (fuzz)", &conf, &why) == 0) {
            if (!conf.path || !conf.url)
                abort();
            kd_plugin_options_release(fuzz_options, &conf);
        } else {
            kd_error_format(&why, err, sizeof(err));
            if (conf.path || conf.url || !memchr(err, '\0', sizeof(err)))
                abort(); /* failure must release and leave one NUL-terminated line */
        }
    }
    config_destroy(&cfg);
    free(text);
    return 0;
}
