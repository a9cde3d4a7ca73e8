/* SPDX-License-Identifier: Apache-2.0 */
#include "scaler/plugin_settings.h"

const struct kd_plugin_setting *
kd_plugin_settings_fill(const struct kd_config *config,
                        struct kd_plugin_setting out[KD_PLUGIN_SETTINGS_N + 1])
{
    const struct kd_host_defaults *d = config ? &config->host_defaults : NULL;

    out[0] =
        (struct kd_plugin_setting){"lead_time", "--lead-time / LEAD_TIME", d ? d->lead_time : NULL};
    out[1] = (struct kd_plugin_setting){"forecaster_url", "--forecaster-url / FORECASTER_URL",
                                        d ? d->forecaster_url : NULL};
    out[2] = (struct kd_plugin_setting){0};
    return out;
}
