/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/**
 * @file
 * @brief Streaming integer CIC-3 low-pass and decimator (docs/preprocessing.md, section 1).
 *
 * Bit-exact with the Python reference src/ppgcomp/dsp/decimate.py (decimate() and Decimator).
 * Portable C: no Zephyr headers, no heap. One struct per sensor stream; not thread-safe (one
 * producer owns it).
 */

#ifndef PPGCOMP_DECIMATE_H_
#define PPGCOMP_DECIMATE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Largest decimation factor M (sensor rate / model rate). */
#define PPG_DECIM_MAX_FACTOR 128U

/** FIR length of the CIC-3 for the largest factor: 3 * M - 2. */
#define PPG_DECIM_MAX_TAPS (3U * PPG_DECIM_MAX_FACTOR - 2U)

/** Decimator state. Treat as opaque; sized for the largest factor (about 2.3 KiB). */
struct ppg_decim {
	/** Circular history of the last n_taps input samples; hist[head] is the newest. */
	int32_t hist[PPG_DECIM_MAX_TAPS];
	/** FIR taps h[0..n_taps-1] (box * box * box); the largest is 12288 for M = 128. */
	uint16_t taps[PPG_DECIM_MAX_TAPS];
	/** Decimation factor M. */
	uint32_t factor;
	/** Number of taps L = 3 * M - 2. */
	uint32_t n_taps;
	/** DC gain G = M^3. */
	uint32_t gain;
	/** Index of the newest sample in hist. */
	uint32_t head;
	/** Samples pushed since the last output (0..M-1). */
	uint32_t phase;
	/** False until the first sample has filled the history. */
	bool primed;
};

/**
 * @brief Decimation factor for a sensor rate.
 *
 * @param sensor_rate_hz Sensor output data rate in Hz.
 * @param model_rate_hz Model rate in Hz (the generated header's rate, 25).
 *
 * @return M = sensor_rate_hz / model_rate_hz (1..PPG_DECIM_MAX_FACTOR), or -EINVAL when the
 *         sensor rate is not an integer multiple of the model rate in that range.
 */
int ppg_decim_factor(uint32_t sensor_rate_hz, uint32_t model_rate_hz);

/**
 * @brief Initialise a decimator for factor M and compute its taps.
 *
 * @param d Decimator.
 * @param factor M, 1..PPG_DECIM_MAX_FACTOR (1 is a pass-through).
 *
 * @retval 0 on success.
 * @retval -EINVAL for a NULL @p d or a factor of 0 or above PPG_DECIM_MAX_FACTOR.
 */
int ppg_decim_init(struct ppg_decim *d, uint32_t factor);

/**
 * @brief Forget the history (for example after a sensor restart); keeps the factor and taps.
 *
 * The next sample pushed refills the history, as after ppg_decim_init().
 */
void ppg_decim_reset(struct ppg_decim *d);

/**
 * @brief Push one sensor sample.
 *
 * @param d Decimator.
 * @param in Sensor sample (counts).
 * @param out Receives the output sample when one is produced; may be NULL.
 *
 * @return true when an output was produced (after every M-th input), false otherwise.
 */
bool ppg_decim_push(struct ppg_decim *d, int32_t in, int32_t *out);

/**
 * @brief Push a block of sensor samples (for example one sensor FIFO read).
 *
 * Either consumes all @p n inputs or, when @p out_cap is too small for the outputs they would
 * produce, consumes none and leaves the state unchanged. At most (n + M - 1) / M outputs result.
 *
 * @param d Decimator.
 * @param in Input samples.
 * @param n Number of input samples.
 * @param out Output samples.
 * @param out_cap Capacity of @p out in samples.
 *
 * @return Number of outputs written (>= 0), -EINVAL for NULL pointers, -ENOBUFS when @p out_cap
 *         is too small.
 */
int ppg_decim_push_block(struct ppg_decim *d, const int32_t *in, size_t n, int32_t *out,
			 size_t out_cap);

#ifdef __cplusplus
}
#endif

#endif /* PPGCOMP_DECIMATE_H_ */
