/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the configuration loader's files share: the loader (the config being filled and the
 * error carrier it fails with), failures at a setting's file:line, typed getters, and the
 * parsers of the sources, policies and workloads lists. Private to src/config/.
 */
#ifndef KD_CONFIG_PRIVATE_H
#define KD_CONFIG_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libconfig.h>

#include "config/config.h"
#include "util/errbuf.h"

/* The file name of settings that come from the built-in (upstream mode) text. */
#define KD_CONFIG_BUILTIN_FILE "<built-in>"

struct kd_loader {
    struct kd_config *c;
    struct kd_error *err; /* written out by kd_config_load on failure */
};

/* How durations are written, for messages. */
extern const char kd_loader_duration_hint[];

/* The setting's file, or KD_CONFIG_BUILTIN_FILE. */
const char *kd_loader_file_of(const config_setting_t *s);

/* Fail with a message without an origin, -EINVAL. */
int kd_loader_errf(struct kd_loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fail with a message at the setting's file:line, -EINVAL. */
int kd_loader_fail_at(struct kd_loader *l, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fail with "out of memory while loading the configuration", -ENOMEM. */
int kd_loader_oom(struct kd_loader *l);

/* "a, b, c" of a NULL-ended list, truncated to len. */
void kd_loader_join(const char *const *names, char *buf, size_t len);
bool kd_loader_in_list(const char *const *names, const char *name);

/* Typed getters; each fails with "file:line: <what>: expected ...". The string is borrowed
 * from the tree; dup_string replaces *ret_copy with a copy; a duration must be > 0. */
int kd_loader_get_string(struct kd_loader *l, const config_setting_t *s, const char *what,
                         const char *expected, const char **ret_text);
int kd_loader_dup_string(struct kd_loader *l, const config_setting_t *s, const char *what,
                         const char *expected, char **ret_copy);
int kd_loader_get_duration(struct kd_loader *l, const config_setting_t *s, const char *what,
                           int64_t *ret_ms);

/* A list whose every element is a group; `example` is one element, for the message. */
int kd_loader_check_list(struct kd_loader *l, const config_setting_t *s, const char *what,
                         const char *example);

/* `path` made absolute against base_dir (allocated), or NULL on out of memory. */
char *kd_loader_resolve(const char *base_dir, const char *path);

/* instances.c: the sources and policies lists into l->c (names unique, plugins named). */
int kd_instances_parse_sources(struct kd_loader *l, config_setting_t *list);
int kd_instances_parse_policies(struct kd_loader *l, config_setting_t *list);

/* workloads.c: the workloads list (NULL: none, an error) into l->c, after the sources and
 * policies it refers to. */
int kd_workloads_parse(struct kd_loader *l, const config_setting_t *list);

#endif /* KD_CONFIG_PRIVATE_H */
