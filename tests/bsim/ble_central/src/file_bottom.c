/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Host side of the test central (linked into the native simulator runner, host libc): reads the
 * files the driver names on the command line (model blobs, the signed firmware image).
 */

#include <stdio.h>

#include "file_bottom.h"

long central_bottom_read_file(const char *path, unsigned char *buf, long cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;
	int more;

	if (f == NULL) {
		return -1;
	}
	n = fread(buf, 1, (size_t)cap, f);
	more = fgetc(f) != EOF;
	(void)fclose(f);
	return more ? -2 : (long)n;
}
