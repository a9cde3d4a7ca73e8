/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A struct kd_host for unit tests that drive plugins directly: a settable clock, an optional
 * real event loop (the timer and watch services run on it; without one they return -ENOSYS),
 * every log line kept for assertions, fetch results captured as deep copies (quantiles too).
 * Links libc and libevent; include <kedastral/plugin.h> only.
 */
#ifndef KD_FAKE_HOST_H
#define KD_FAKE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kedastral/plugin.h>

#define KD_FAKE_HOST_MAX_LOGS 256

struct kd_fake_log {
    enum kd_log_level level;
    char text[512];
};

struct event_base;

struct kd_fake_host {
    struct kd_host host;     /* hand &fake.host to plugins */
    int64_t now_ms;          /* what host->now_ms returns; tests move it */
    struct event_base *base; /* where timers and watches run; may be NULL */
    int n_timers;            /* created and not yet freed: a plugin leak shows here */
    int n_watches;
    bool is_echo;  /* also print log lines to stderr */
    size_t n_logs; /* lines seen; only the first KD_FAKE_HOST_MAX_LOGS are kept */
    struct kd_fake_log logs[KD_FAKE_HOST_MAX_LOGS];
};

/* The outcome of one fetch: pass kd_fake_host_fetch(&f) to source->fetch(). */
struct kd_fake_fetch {
    int done_rc; /* what host->fetch_done returns for it, e.g. -EINVAL; set after the reset */
    int n_done;  /* completions seen: more than one is a plugin bug */
    int n_fail;
    enum kd_fetch_error error;
    char message[512];
    struct kd_forecast forecast; /* deep copy of what fetch_done delivered */
    bool has_forecast;
};

void kd_fake_host_init(struct kd_fake_host *fake, struct event_base *base, int64_t now_ms);

/* The instance handle to pass to create(); the host callbacks map it back to `fake`. */
const struct kd_instance *kd_fake_host_instance(struct kd_fake_host *fake);

/* The first kept log line at `level` containing `needle`, or NULL. */
const struct kd_fake_log *kd_fake_host_find_log(const struct kd_fake_host *fake,
                                                enum kd_log_level level, const char *needle);

/* How many kept lines at `level` contain `needle`. */
size_t kd_fake_host_count_logs(const struct kd_fake_host *fake, enum kd_log_level level,
                               const char *needle);

void kd_fake_host_clear_logs(struct kd_fake_host *fake);

/* Zero `f` (done_rc too) and return its handle. Release with kd_fake_host_fetch_fini(). */
struct kd_fetch *kd_fake_host_fetch(struct kd_fake_fetch *f);
void kd_fake_host_fetch_fini(struct kd_fake_fetch *f);

/*
 * Fill a plugin's config struct by option name through its own option table, as the real
 * option parser would, with the value already converted. -ENOENT for an unknown name,
 * -EINVAL when the option's type is not the function's: int64 for INT, DURATION and
 * SIZE; bool; double; const char * (borrowed, must outlive the plugin) for STRING.
 */
int kd_fake_host_set_i64(const struct kd_plugin *plugin, void *config, const char *name,
                         int64_t value);
int kd_fake_host_set_bool(const struct kd_plugin *plugin, void *config, const char *name,
                          bool value);
int kd_fake_host_set_double(const struct kd_plugin *plugin, void *config, const char *name,
                            double value);
int kd_fake_host_set_string(const struct kd_plugin *plugin, void *config, const char *name,
                            const char *value);
/* A LIST option: `value` is a NULL-terminated array, borrowed like a string. */
int kd_fake_host_set_list(const struct kd_plugin *plugin, void *config, const char *name,
                          const char *const *value);

#endif /* KD_FAKE_HOST_H */
