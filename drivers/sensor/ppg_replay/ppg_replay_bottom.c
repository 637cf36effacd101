/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* Host side of the ppg-replay driver (see ppg_replay_bottom.h and README.md). */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ppg_replay_bottom.h"

#define HEADER_TAG "# ppg-replay"

static FILE *replay_fp;
static uint32_t replay_line;

static char *trim(char *s)
{
	char *end;

	while (*s != '\0' && isspace((unsigned char)*s)) {
		s++;
	}
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1])) {
		*--end = '\0';
	}
	return s;
}

int ppg_replay_bottom_open(const char *path, uint32_t *rate_hz)
{
	char buf[256];
	const char *p;

	*rate_hz = 0;
	ppg_replay_bottom_close();
	replay_fp = fopen(path, "r");
	if (replay_fp == NULL) {
		return PPG_REPLAY_B_NO_FILE;
	}
	replay_line = 0;
	if (fgets(buf, sizeof(buf), replay_fp) == NULL) {
		return PPG_REPLAY_B_BAD_FILE;
	}
	replay_line = 1;
	if (strncmp(buf, HEADER_TAG, strlen(HEADER_TAG)) != 0) {
		return PPG_REPLAY_B_BAD_FILE;
	}
	p = strstr(buf, "rate_hz=");
	if (p != NULL) {
		char *endp;
		unsigned long r;

		errno = 0;
		r = strtoul(p + strlen("rate_hz="), &endp, 10);
		if (errno != 0 || endp == p + strlen("rate_hz=") || r == 0 || r > 100000UL) {
			return PPG_REPLAY_B_BAD_FILE;
		}
		*rate_hz = (uint32_t)r;
	}
	return PPG_REPLAY_B_OK;
}

int ppg_replay_bottom_next(int32_t *value, uint32_t *line)
{
	char buf[256];

	if (replay_fp == NULL) {
		return PPG_REPLAY_B_EOF;
	}
	while (fgets(buf, sizeof(buf), replay_fp) != NULL) {
		char *s;
		char *endp;
		long v;

		replay_line++;
		*line = replay_line;
		s = trim(buf);
		if (*s == '\0' || *s == '#') {
			continue;
		}
		if ((s[0] == 'E' || s[0] == 'e') && s[1] == '\0') {
			return PPG_REPLAY_B_READ_ERR;
		}
		errno = 0;
		v = strtol(s, &endp, 10);
		if (errno != 0 || endp == s || *endp != '\0' || v < INT32_MIN || v > INT32_MAX) {
			return PPG_REPLAY_B_BAD_FILE;
		}
		*value = (int32_t)v;
		return PPG_REPLAY_B_OK;
	}
	*line = replay_line;
	return PPG_REPLAY_B_EOF;
}

void ppg_replay_bottom_close(void)
{
	if (replay_fp != NULL) {
		fclose(replay_fp);
		replay_fp = NULL;
	}
}
