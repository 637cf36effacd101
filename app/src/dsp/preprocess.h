/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/**
 * @file
 * @brief Integer detrend and min-max normalisation of a window to the encoder's int8 input
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
	/** hi - lo of the raw samples, 0 .. 2^32 - 1 (the app's FLAT check). */
	uint32_t range;
};

/**
 * @brief Detrend one window and quantise it to int8.
 *
 * d[i] = (2h+1) * x[i] - sum(x[clamp(i-h .. i+h)]), then
 * q[i] = ((d[i] - min d) * 255 + range_d / 2) / range_d - 128 (all -128 when d is constant).
 *
 * @param x Window samples, oldest first.
 * @param n Number of samples (the model's window length). For n == 0 nothing is written to
 *          @p q and the stats are all zero.
 * @param half Half-length h of the moving-average detrend (PPG_MODEL_DETREND_HALF), 0 .. n.
 * @param q Output, @p n int8 values in [-128, 127]; may not alias @p x.
 * @param st Receives lo, hi and range; may be NULL. The app sets the FLAT flag when
 *           st->range < CONFIG_APP_FLAT_RANGE_MIN.
 */
void ppg_preprocess(const int32_t *x, size_t n, size_t half, int8_t *q, struct ppg_window_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* PPG_DSP_PREPROCESS_H_ */
