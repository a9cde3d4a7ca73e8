/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A cached forecast in compact form, lossless: desiredReplicas in the narrowest unsigned width
 * that holds every step (1, 2, 4 bytes; 8 for anything else), values as 32-bit integers times
 * 10^-k when every value is such a decimal (a forecaster's "44.67": the division gives back the
 * very double strtod() gave; checked bit for bit when packing, raw doubles otherwise). A
 * 60-step forecast of two-decimal values takes ~360 bytes instead of ~1,100. Unpacking is one
 * loop per array into a caller's buffer; quantiles and strings are read in place.
 */
#ifndef KD_FORECAST_PACK_H
#define KD_FORECAST_PACK_H

#include <stddef.h>
#include <stdint.h>

#include <kedastral/plugin.h>

struct kd_packed_forecast;

/* One allocation (free() it), tagged with `gen` so that an unpacked copy can be recognised.
 * -ENOMEM, -EOVERFLOW. */
int kd_forecast_pack(const struct kd_forecast *forecast, uint32_t gen,
                     struct kd_packed_forecast **ret_packed);

uint32_t kd_forecast_packed_gen(const struct kd_packed_forecast *packed);

/* Bytes of the packed allocation; bytes of buffer kd_forecast_unpack() needs (8-aligned). */
size_t kd_forecast_packed_size(const struct kd_packed_forecast *packed);
size_t kd_forecast_unpacked_size(const struct kd_packed_forecast *packed);

/* Fill *ret_forecast, its arrays in `buf` (kd_forecast_unpacked_size() bytes, aligned for
 * double) or in `packed`: valid while both are. Equal, field by field and bit by bit, to the
 * forecast that was packed (workload and metric NULL come back as ""). */
void kd_forecast_unpack(const struct kd_packed_forecast *packed, void *buf,
                        struct kd_forecast *ret_forecast);

#endif /* KD_FORECAST_PACK_H */
