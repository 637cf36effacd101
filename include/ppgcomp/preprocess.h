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
 * Bit-exact with the Python reference src/ppgcomp/dsp/preprocess.py (preprocess_window(),
 * quality_spread()).
 */

#ifndef PPGCOMP_PREPROCESS_H_
#define PPGCOMP_PREPROCESS_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The quality spread (docs/preprocessing.md, section 4) leaves out n / PPG_QUALITY_TAIL_DIV
 * samples at each end of the sorted int8 window (5 % each side).
 */
#define PPG_QUALITY_TAIL_DIV   20U
/**
 * LOWRES when the central 90 % of the int8 window spans fewer than this many of the 255
 * quantisation steps: a step, a lift-off or an ambient-light jump took the min-max range and
 * the pulse is left with a few levels. Part of the spec (Python: QUALITY_MIN_SPREAD).
 */
#define PPG_QUALITY_MIN_SPREAD 32U

/** Statistics of one window, for the app's signal-quality flags (section 4). */
struct ppg_window_stats {
	/** Smallest sample. */
	int32_t lo;
	/** Largest sample. */
	int32_t hi;
	/** hi - lo of the raw samples, 0 .. 2^32 - 1 (the app's FLAT check). */
	uint32_t range;
	/**
	 * q[n-1-k] - q[k] of the sorted int8 output, k = n / PPG_QUALITY_TAIL_DIV (0 .. 255; 0 for
	 * n == 0 and for a constant detrended window). The app sets the LOWRES flag when it is below
	 * PPG_QUALITY_MIN_SPREAD.
	 */
	uint8_t spread;
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
 * @param st Receives lo, hi, range and spread; may be NULL. The app sets the FLAT flag when
 *           st->range < CONFIG_APP_FLAT_RANGE_MIN and LOWRES when st->spread <
 *           PPG_QUALITY_MIN_SPREAD.
 */
void ppg_preprocess(const int32_t *x, size_t n, size_t half, int8_t *q, struct ppg_window_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* PPGCOMP_PREPROCESS_H_ */
