/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* Host side of the native_sim packet output (host libc; linked into the simulator runner). */

#ifndef APP_HEXOUT_BOTTOM_H_
#define APP_HEXOUT_BOTTOM_H_

#ifdef __cplusplus
extern "C" {
#endif

/** Open @p path for writing (truncate), or stdout when @p path is NULL. 0 or -1. */
int app_hexout_bottom_open(const char *path);
/** Write @p line and a newline, then flush. 0 or -1. */
int app_hexout_bottom_write_line(const char *line);
void app_hexout_bottom_close(void);

#ifdef __cplusplus
}
#endif

#endif /* APP_HEXOUT_BOTTOM_H_ */
