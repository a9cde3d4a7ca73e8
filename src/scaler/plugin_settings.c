/* SPDX-License-Identifier: Apache-2.0 */
#include "scaler/plugin_settings.h"

#include <stdio.h>

#include "config/settings.h"

const struct kd_plugin_setting *kd_plugin_settings_fill(const struct kd_config *config,
                                                        struct kd_plugin_settings *out)
{
    size_t n = 0;

    for (size_t i = 0; i < kd_settings_count && n < KD_PLUGIN_SETTINGS_N; i++) {
        const struct kd_setting *s = &kd_settings[i];
        if (!s->flag && !s->env)
            continue;
        if (s->flag && s->env)
            snprintf(out->how[n], sizeof(out->how[n]), "--%s / %s", s->flag, s->env);
        else if (s->flag)
            snprintf(out->how[n], sizeof(out->how[n]), "--%s", s->flag);
        else
            snprintf(out->how[n], sizeof(out->how[n]), "%s", s->env);
        out->v[n] = (struct kd_plugin_setting){
            .name = s->key,
            .how = out->how[n],
            .value = config ? kd_config_setting_text(config, s->key) : NULL,
        };
        n++;
    }
    out->v[n] = (struct kd_plugin_setting){0};
    return out->v;
}
