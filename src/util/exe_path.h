/* SPDX-License-Identifier: Apache-2.0 */
/* Paths relative to the running program, so a build tree or a relocated install finds its
 * own plugins and TLS module before the compiled-in install paths. */
#ifndef KD_EXE_PATH_H
#define KD_EXE_PATH_H

#include <stddef.h>

/* The running program's absolute path (/proc/self/exe). -ENOENT if it cannot be read,
 * -ENAMETOOLONG if it does not fit; ret_buf is untouched on failure. */
int kd_exe_path_self(char *ret_buf, size_t len);

/* "<the program's directory><suffix>" (suffix starts with '/') if access(2) grants `mode` on
 * it: 0 and the path in ret_buf; -ENOENT if it is not there (or the program's path cannot be
 * read), -ENAMETOOLONG; ret_buf is untouched on failure. */
int kd_exe_path_beside(const char *suffix, int mode, char *ret_buf, size_t len);

#endif /* KD_EXE_PATH_H */
