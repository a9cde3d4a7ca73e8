/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A source's definition as one canonical string, so that a reload can tell which sources are
 * unchanged (and keep their cached forecasts) by comparing two strings.
 */
#ifndef KD_SOURCE_IDENTITY_H
#define KD_SOURCE_IDENTITY_H

#include "config/config.h"

/*
 * Render everything that decides what `source` fetches: its name, plugin, plugin_dir,
 * base_dir, the flag/environment-only settings plugins may default from, its resolved host keys,
 * and every setting of its group (members of groups sorted by name, so key order does not matter;
 * values typed, strings quoted). Equal strings mean equal definitions. Returns 0 with a malloc'd
 * string in *ret_text, or -ENOMEM.
 */
int kd_source_identity_render(const struct kd_config *config, const struct kd_config_source *source,
                              char **ret_text);

#endif /* KD_SOURCE_IDENTITY_H */
