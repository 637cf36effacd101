/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/**
 * @file
 * @brief Integer min-max normalisation of a window to the encoder's int8 input
 *        (docs/preprocessing.md, section 3).
 *
 * Bit-exact with the Python reference src/ppgcomp/dsp/preprocess.py (preprocess_window()).
 */

#ifndef PPG_DSP_PREPROCESS_H_
#define PPG_DSP_PREPROCESS_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Statistics of one window, for the app's signal-quality flags (section 4). */
struct ppg_window_stats {
	/** Smallest sample. */
	int32_t lo;
	/** Largest sample. */
	int32_t hi;
	/** hi - lo, 0 .. 2^32 - 1 (0: a flat window, every q is -128). */
	uint32_t range;
};

/**
 * @brief Quantise one window to int8: q[i] = ((x[i] - lo) * 255 + range / 2) / range - 128.
 *
 * @param x Window samples, oldest first.
 * @param n Number of samples (the model's window length). For n == 0 nothing is written to
 *          @p q and the stats are all zero.
 * @param q Output, @p n int8 values in [-128, 127]; may not alias @p x.
 * @param st Receives lo, hi and range; may be NULL. The app sets the FLAT flag when
 *           st->range < CONFIG_APP_FLAT_RANGE_MIN.
 */
void ppg_preprocess(const int32_t *x, size_t n, int8_t *q, struct ppg_window_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* PPG_DSP_PREPROCESS_H_ */
