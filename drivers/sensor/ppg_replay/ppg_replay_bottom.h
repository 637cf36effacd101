/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Host side of the ppg-replay driver: plain C with the host libc, linked into the native
 * simulator runner. Return codes are its own (not errno values, which differ between the host
 * libc and Zephyr's).
 */

#ifndef PPG_REPLAY_BOTTOM_H_
#define PPG_REPLAY_BOTTOM_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PPG_REPLAY_B_OK        0  /* a sample */
#define PPG_REPLAY_B_READ_ERR  1  /* an `E` line: this sample's read fails */
#define PPG_REPLAY_B_EOF       2  /* end of file */
#define PPG_REPLAY_B_NO_FILE  (-1) /* the file cannot be opened */
#define PPG_REPLAY_B_BAD_FILE (-2) /* bad header or a line that is not a sample */

/* Open the file and parse the header; *rate_hz is 0 when the header has no rate. */
int ppg_replay_bottom_open(const char *path, uint32_t *rate_hz);
/* Next sample; *line receives the 1-based line number. */
int ppg_replay_bottom_next(int32_t *value, uint32_t *line);
void ppg_replay_bottom_close(void);

#ifdef __cplusplus
}
#endif

#endif /* PPG_REPLAY_BOTTOM_H_ */
