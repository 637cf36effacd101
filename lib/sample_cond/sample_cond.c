/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stddef.h>

#include <ppgcomp/sample_cond.h>

void ppg_sample_cond_init(struct ppg_sample_cond *c, int32_t full_scale)
{
	c->full_scale = full_scale;
	c->last_good = 0;
	c->read_errors = 0U;
	c->saturated = 0U;
	c->error_run = 0U;
}

uint8_t ppg_sample_cond_apply(struct ppg_sample_cond *c, int rc, int32_t raw, int32_t *out)
{
	if (rc != 0) {
		c->read_errors++;
		c->error_run++;
		*out = c->last_good;
		return PPG_WIN_MARK_GAP;
	}
	c->error_run = 0U;
	c->last_good = raw;
	*out = raw;
	if (raw >= c->full_scale) {
		c->saturated++;
		return PPG_WIN_MARK_SATURATED;
	}
	return 0U;
}
