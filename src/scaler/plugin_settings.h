/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon-wide settings plugins may take option defaults from (kd_option.host_default):
 * every row of config/settings.h that an operator sets by flag or environment, by its key,
 * with how to set it and its current text. No setting is named here or in src/plugin/. */
#ifndef KD_PLUGIN_SETTINGS_H
#define KD_PLUGIN_SETTINGS_H

#include "config/config.h"
#include "plugin/plugin_host.h"

#define KD_PLUGIN_SETTINGS_N KD_SETTINGS_MAX

/* Per table: the "--flag / ENV" texts its entries point to. */
struct kd_plugin_settings {
    struct kd_plugin_setting v[KD_PLUGIN_SETTINGS_N + 1]; /* ends with a NULL name */
    char how[KD_PLUGIN_SETTINGS_N][96];
};

/* Fills `out` from `config` (NULL: names only, as --describe needs). Returns out->v. */
const struct kd_plugin_setting *kd_plugin_settings_fill(const struct kd_config *config,
                                                        struct kd_plugin_settings *out);

#endif /* KD_PLUGIN_SETTINGS_H */
