/* SPDX-License-Identifier: Apache-2.0 */
/* Forecast JSON parser (plugins/common) and the replay index built on it (source-file). */
#include <stddef.h>
#include <stdint.h>

#include "forecast_json.h"
#include "replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kd_forecast_doc *doc;
    struct kd_replay *replay;
    char err[256];
    volatile double sink = 0;

    if (kd_forecast_json_parse((const char *)data, size, &doc, err, sizeof(err)) != 0)
        return 0;
    for (size_t i = 0; i < doc->n_forecasts; i++) {
        const struct kd_forecast *f = &doc->forecasts[i];
        for (size_t k = 0; k < f->n_values; k++)
            sink += f->values[k];
        for (size_t k = 0; k < f->n_desired_replicas; k++)
            sink += (double)f->desired_replicas[k];
        sink += (double)(f->workload[0] + f->metric[0]);
    }
    if (kd_replay_create(doc, size % 2, size % 3, 1760636100000, &replay, err, sizeof(err)) == 0) {
        static const int64_t nows[] = {INT64_MIN,     -1,       0, 1760636100000, 1760636160001,
                                       4102444800000, INT64_MAX};
        for (size_t i = 0; i < doc->n_forecasts; i++) {
            for (size_t k = 0; k < sizeof(nows) / sizeof(nows[0]); k++) {
                struct kd_forecast f;
                if (kd_replay_pick(replay, doc->forecasts[i].workload, nows[k], &f) == 0)
                    sink += (double)f.generated_at_ms;
            }
        }
        char names[64];
        kd_replay_list(replay, names, sizeof(names));
        kd_replay_destroy(replay);
    }
    kd_forecast_json_free(doc);
    (void)sink;
    return 0;
}
