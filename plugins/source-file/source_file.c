/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source-file: forecasts from a JSON recording, replayed as if live (replay.c), re-read when
 * the file changes. Fetches complete synchronously; the only I/O is the load and a stat()
 * every `poll` on a host timer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kedastral/plugin.h>

#include "file_identity.h"
#include "forecast_json.h"
#include "replay.h"

struct file_config { /* filled by the host from file_options */
    const char *path;
    bool rebase;
    bool loop;
    int64_t poll_ms;
};

struct file_state {
    const struct kd_host *host;
    const struct kd_instance *inst;
    const struct file_config *config; /* host-owned, outlives us */
    struct kd_forecast_doc *doc;
    struct kd_replay *replay;          /* borrows doc */
    struct kd_file_identity loaded;    /* where doc came from */
    struct kd_file_identity attempted; /* the last version tried, so a broken one logs once */
    struct kd_timer *poll_timer;
};

/* Read, parse and index the file; nothing in `st` changes, the caller swaps on success. */
static int load(const struct file_state *st, struct kd_forecast_doc **ret_doc,
                struct kd_replay **ret_replay, struct kd_file_identity *ret_id, char *err,
                size_t err_len)
{
    struct kd_forecast_doc *doc;
    struct kd_replay *replay;
    struct kd_file_identity id;
    char *text = NULL;
    size_t len = 0;

    int rc =
        kd_file_read(st->config->path, KD_FORECAST_JSON_MAX_BYTES, &text, &len, &id, err, err_len);
    if (rc < 0)
        return rc;
    rc = kd_forecast_json_parse(text, len, &doc, err, err_len);
    free(text);
    if (rc < 0)
        return rc;
    rc = kd_replay_create(doc, st->config->rebase, st->config->loop, st->host->now_ms(st->inst),
                          &replay, err, err_len);
    if (rc < 0) {
        kd_forecast_json_free(doc);
        return rc;
    }
    *ret_doc = doc;
    *ret_replay = replay;
    *ret_id = id;
    return 0;
}

static void log_loaded(const struct file_state *st, enum kd_log_level level, const char *verb)
{
    char names[256];

    kd_replay_list(st->replay, names, sizeof(names));
    st->host->log(st->inst, level, "%s %s: %zu workload(s) (%s), %zu snapshot(s)", verb,
                  st->config->path, kd_replay_count(st->replay), names, st->doc->n_forecasts);
}

static void on_poll_timer(void *arg)
{
    struct file_state *st = arg;
    struct kd_file_identity id;
    char err[256];

    kd_file_identity_stat(st->config->path, &id);
    if (kd_file_identity_equal(&id, &st->loaded) || kd_file_identity_equal(&id, &st->attempted))
        return;
    st->attempted = id;
    if (id.error) {
        st->host->log(st->inst, KD_LOG_WARN, "%s: %s; keeping the forecasts loaded before",
                      st->config->path, strerror(id.error));
        return;
    }

    struct kd_forecast_doc *doc;
    struct kd_replay *replay;
    int rc = load(st, &doc, &replay, &id, err, sizeof(err));
    if (rc < 0) {
        st->host->log(st->inst, KD_LOG_WARN, "%s: %s; keeping the forecasts loaded before",
                      st->config->path, err);
        if (rc == -ENOMEM) /* not the file's fault: the next poll tries the same file again */
            memset(&st->attempted, 0, sizeof(st->attempted));
        return;
    }
    kd_replay_destroy(st->replay);
    kd_forecast_json_free(st->doc);
    st->doc = doc;
    st->replay = replay;
    st->loaded = id;
    st->attempted = id;
    log_loaded(st, KD_LOG_INFO, "reloaded");
}

static int file_create(const struct kd_host *host, const struct kd_instance *inst,
                       const void *config, void **ret_state)
{
    const struct file_config *cfg = config;
    char err[256];
    int rc;

    if (!cfg->path || !cfg->path[0]) {
        host->log(inst, KD_LOG_ERROR, "path is empty; name the forecast file to replay");
        return -EINVAL;
    }
    struct file_state *st = calloc(1, sizeof(*st));
    if (!st) {
        host->log(inst, KD_LOG_ERROR, "out of memory");
        return -ENOMEM;
    }
    st->host = host;
    st->inst = inst;
    st->config = cfg;

    rc = load(st, &st->doc, &st->replay, &st->loaded, err, sizeof(err));
    if (rc < 0) {
        host->log(inst, KD_LOG_ERROR, "%s: %s", cfg->path, err);
        goto fail_state;
    }
    st->attempted = st->loaded;

    if (cfg->poll_ms > 0) {
        rc = host->timer_create(inst, on_poll_timer, st, &st->poll_timer);
        if (rc == -ENOSYS) {
            /* a host without a loop (a one-shot tool): serve what was loaded, never re-read */
            rc = 0;
        } else if (rc < 0 ||
                   (rc = host->timer_start(st->poll_timer, cfg->poll_ms, cfg->poll_ms)) < 0) {
            host->log(inst, KD_LOG_ERROR, "cannot start the reload timer for %s: %s", cfg->path,
                      strerror(-rc));
            goto fail_loaded;
        }
    }
    log_loaded(st, KD_LOG_INFO, "loaded");
    *ret_state = st;
    return 0;

fail_loaded:
    host->timer_free(st->poll_timer);
    kd_replay_destroy(st->replay);
    kd_forecast_json_free(st->doc);
fail_state:
    free(st);
    return rc;
}

static int file_fetch(void *state, struct kd_fetch *fetch, const char *workload)
{
    const struct file_state *st = state;
    struct kd_forecast forecast;

    if (kd_replay_pick(st->replay, workload, st->host->now_ms(st->inst), &forecast) < 0) {
        char names[256];
        kd_replay_list(st->replay, names, sizeof(names));
        st->host->fetch_fail(fetch, KD_FETCH_NOT_FOUND, "workload \"%s\" is not in %s; it has: %s",
                             workload, st->config->path, names);
        return 0;
    }
    /* -EINVAL would mean the host refused the forecast and failed the fetch itself */
    st->host->fetch_done(fetch, &forecast);
    return 0;
}

static void file_cancel(void *state, struct kd_fetch *fetch)
{
    /* Fetches complete inside file_fetch(), so none is ever outstanding. */
    (void)state;
    (void)fetch;
}

static void file_destroy(void *state)
{
    struct file_state *st = state;

    if (!st)
        return;
    st->host->timer_free(st->poll_timer);
    kd_replay_destroy(st->replay);
    kd_forecast_json_free(st->doc);
    free(st);
}

static const struct kd_option file_options[] = {
    {"path", KD_OPTION_STRING, NULL, offsetof(struct file_config, path),
     "The JSON file: one forecast in the forecaster's schema, or an array of them.", NULL,
     KD_OPTION_REQUIRED},
    {"rebase", KD_OPTION_BOOL, "true", offsetof(struct file_config, rebase),
     "Shift recorded times so the recording starts when the file is loaded.", NULL, 0},
    {"loop", KD_OPTION_BOOL, "true", offsetof(struct file_config, loop),
     "With rebase, restart each workload's recording after its last snapshot.", NULL, 0},
    {"poll", KD_OPTION_DURATION, "1s", offsetof(struct file_config, poll_ms),
     "How often to check the file for changes; 0 never re-reads it.", NULL, 0},
    KD_OPTIONS_END,
};

static const struct kd_source_ops file_ops = {
    .size = sizeof(struct kd_source_ops),
    .create = file_create,
    .fetch = file_fetch,
    .cancel = file_cancel,
    .destroy = file_destroy,
};

KD_PLUGIN_EXPORT const struct kd_plugin kd_plugin = {
    KD_PLUGIN_ABI,
    .kind = KD_PLUGIN_SOURCE,
    .name = "file",
    .version = "0.1.0",
    .description = "Replays recorded forecasts from a JSON file as if they were live",
    .config_size = sizeof(struct file_config),
    .options = file_options,
    .source = &file_ops,
};
