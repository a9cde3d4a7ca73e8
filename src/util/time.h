/* SPDX-License-Identifier: Apache-2.0 */
/* Clocks: wall time for forecast ages, monotonic time for deadlines and timers. */
#ifndef KD_TIME_H
#define KD_TIME_H

#include <stdint.h>

int64_t kd_time_now_ms(void);  /* CLOCK_REALTIME, Unix milliseconds */
int64_t kd_time_mono_ms(void); /* CLOCK_MONOTONIC, milliseconds */

#endif /* KD_TIME_H */
