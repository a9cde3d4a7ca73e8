/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder: being written */
typedef int kd_placeholder_duration;
