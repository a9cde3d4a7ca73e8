/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon-wide settings plugins may take option defaults from (kd_option.host_default):
 * the one table of their names, how operators set them, and their current values. */
#ifndef KD_PLUGIN_SETTINGS_H
#define KD_PLUGIN_SETTINGS_H

#include "config/config.h"
#include "plugin/plugin_host.h"

#define KD_PLUGIN_SETTINGS_N 2

/* Fills `out` (KD_PLUGIN_SETTINGS_N entries and the NULL-name end) with the values of
 * `config` (NULL: names only, as --describe needs). Returns `out`. */
const struct kd_plugin_setting *
kd_plugin_settings_fill(const struct kd_config *config,
                        struct kd_plugin_setting out[KD_PLUGIN_SETTINGS_N + 1]);

#endif /* KD_PLUGIN_SETTINGS_H */
