/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#ifndef PPG_BSIM_FILE_BOTTOM_H_
#define PPG_BSIM_FILE_BOTTOM_H_

/** Reads a host file into buf: its length, -1 (cannot open) or -2 (larger than cap). */
long central_bottom_read_file(const char *path, unsigned char *buf, long cap);

#endif /* PPG_BSIM_FILE_BOTTOM_H_ */
