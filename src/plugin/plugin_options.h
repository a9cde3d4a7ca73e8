/* SPDX-License-Identifier: Apache-2.0 */
/* Option tables -> config structs. Pure apart from reading libconfig's tree. */
#ifndef KD_PLUGIN_OPTIONS_H
#define KD_PLUGIN_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include <libconfig.h>
#include <kedastral/plugin.h>

#include "plugin/plugin_host.h"
#include "util/errbuf.h"

/* Check a table (in the host's layout): names unique, types known, offsets + sizes within
 * config_size, defaults parse. -EINVAL with a message in err. */
int kd_plugin_options_validate(const struct kd_option *table, size_t config_size, char *err,
                               size_t err_len);

/*
 * Fill `config` (config_size bytes, zeroed by the caller): defaults (the setting named by
 * host_default, looked up in `settings`, wins when set; a name `settings` lacks is an error
 * unless `settings` is NULL), then each key of `group` (NULL: none) except `host_keys`;
 * unknown, mistyped or unparsable keys and missing required ones fail with "<label>: ...;
 * allowed: a, b, c" in `err`, at the key's file:line (or the group's); defaults that do not
 * parse and -ENOMEM carry no origin, for the caller to give them the group's.
 * `label` names the group for messages ("source \"demo\" (file)").
 * String and list values are allocated; free them with kd_plugin_options_release().
 */
int kd_plugin_options_apply(const struct kd_option *table, const config_setting_t *group,
                            const char *const *host_keys, const struct kd_plugin_setting *settings,
                            const char *label, void *config, struct kd_error *err);

void kd_plugin_options_release(const struct kd_option *table, void *config);

/* One line per option: name, type, default (and the setting that replaces it), description. */
void kd_plugin_options_describe(const struct kd_option *table,
                                const struct kd_plugin_setting *settings, FILE *out);

#endif /* KD_PLUGIN_OPTIONS_H */
