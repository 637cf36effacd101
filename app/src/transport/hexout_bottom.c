/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stdio.h>

#include "hexout_bottom.h"

static FILE *out_fp;

int app_hexout_bottom_open(const char *path)
{
	app_hexout_bottom_close();
	if (path == NULL) {
		out_fp = stdout;
		return 0;
	}
	out_fp = fopen(path, "w");
	return out_fp != NULL ? 0 : -1;
}

int app_hexout_bottom_write_line(const char *line)
{
	if (out_fp == NULL) {
		return -1;
	}
	if (fputs(line, out_fp) < 0 || fputc('\n', out_fp) == EOF || fflush(out_fp) != 0) {
		return -1;
	}
	return 0;
}

void app_hexout_bottom_close(void)
{
	if (out_fp != NULL) {
		(void)fflush(out_fp);
		if (out_fp != stdout) {
			(void)fclose(out_fp);
		}
		out_fp = NULL;
	}
}
