/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Conditioning of raw sensor reads (docs/preprocessing.md, section 4): a failed read is filled in
 * by repeating the last good sample and marked GAP; a sample at or above the full-scale code is
 * marked SATURATED. Portable C (no Zephyr headers): tests/app/faults drives it on native_sim.
 */

#ifndef PPGCOMP_SAMPLE_COND_H_
#define PPGCOMP_SAMPLE_COND_H_

#include <stdbool.h>
#include <stdint.h>

#include <ppgcomp/window.h>

struct ppg_sample_cond {
	/** Full-scale code of the sensor. */
	int32_t full_scale;
	/** Last good sample (0 before the first one). */
	int32_t last_good;
	/** Failed reads since init. */
	uint32_t read_errors;
	/** Saturated samples since init. */
	uint32_t saturated;
	/** Failed reads in the current run of failures (0 when the last read was good). */
	uint32_t error_run;
};

void ppg_sample_cond_init(struct ppg_sample_cond *c, int32_t full_scale);

/**
 * @brief Condition one read.
 *
 * @param c State.
 * @param rc Result of the read (0 or a negative errno).
 * @param raw The sample when @p rc is 0.
 * @param out Receives the sample to use (the last good sample after a failed read).
 *
 * @return PPG_WIN_MARK_* bits of the sample.
 */
uint8_t ppg_sample_cond_apply(struct ppg_sample_cond *c, int rc, int32_t raw, int32_t *out);

#endif /* PPGCOMP_SAMPLE_COND_H_ */
