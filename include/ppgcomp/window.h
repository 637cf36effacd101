/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/**
 * @file
 * @brief Sliding window of 25 Hz samples with per-sample quality marks and hop cadence
 *        (docs/preprocessing.md, sections 2 and 4).
 *
 * The ring is generic over its capacity; the caller provides static storage, normally with
 * PPG_WINDOW_DEFINE() from window_cfg.h, which sizes it from the generated model header.
 * Not thread-safe: one thread pushes and reads (or the caller locks).
 */

#ifndef PPGCOMP_WINDOW_H_
#define PPGCOMP_WINDOW_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Sample mark: filled in after a sensor read error (the last good sample repeated). */
#define PPG_WIN_MARK_GAP       (1U << 0)
/** Sample mark: the sensor sample was at its full-scale code. */
#define PPG_WIN_MARK_SATURATED (1U << 1)
/** All valid marks. */
#define PPG_WIN_MARK_MASK      (PPG_WIN_MARK_GAP | PPG_WIN_MARK_SATURATED)

/** Window state. Treat as opaque. */
struct ppg_window {
	/** Sample storage, capacity entries (caller-provided). */
	int32_t *buf;
	/** Per-sample marks, capacity entries (caller-provided). */
	uint8_t *marks;
	/** Window length W. */
	size_t capacity;
	/** Index where the next sample goes; once full, also the oldest sample. */
	size_t head;
	/** Samples held, 0..capacity. */
	size_t count;
	/** Samples in the window marked GAP / SATURATED. */
	size_t n_gap;
	size_t n_sat;
	/** Samples pushed since the encoder last ran (saturates). */
	uint32_t since_run;
	/** True once ppg_window_hop_due() has returned true since the last reset. */
	bool ran;
};

/**
 * @brief Initialise a window over caller-provided storage.
 *
 * @param w Window.
 * @param buf Sample storage, @p capacity entries.
 * @param marks Mark storage, @p capacity entries.
 * @param capacity Window length W (> 0).
 *
 * @retval 0 on success.
 * @retval -EINVAL for NULL pointers or a zero capacity.
 */
int ppg_window_init(struct ppg_window *w, int32_t *buf, uint8_t *marks, size_t capacity);

/** @brief Empty the window (e.g. after a sensor restart); the encoder next runs when full. */
void ppg_window_reset(struct ppg_window *w);

/**
 * @brief Append one 25 Hz sample, dropping the oldest once full.
 *
 * @param w Window.
 * @param sample Sample value.
 * @param marks PPG_WIN_MARK_* bits for this sample (other bits are ignored).
 */
void ppg_window_push(struct ppg_window *w, int32_t sample, uint8_t marks);

/** @brief True once the window holds capacity samples. */
bool ppg_window_ready(const struct ppg_window *w);

/** @brief Samples currently held (0..capacity). */
size_t ppg_window_count(const struct ppg_window *w);

/**
 * @brief Whether the encoder is due now; call once after every ppg_window_push().
 *
 * The encoder runs when the window first becomes full, then every @p hop new samples: with one
 * call per push, true is returned after the W-th, (W + hop)-th, (W + 2 hop)-th ... sample, as
 * the training windows start at 0, hop, 2 hop ... A true return is consumed (the next true is
 * @p hop samples later). When calls are skipped, the next call returns true if at least @p hop
 * samples arrived since the last run, and the cadence restarts from that call.
 *
 * @param w Window.
 * @param hop Hop H in samples (> 0; a hop of 0 never runs).
 */
bool ppg_window_hop_due(struct ppg_window *w, uint32_t hop);

/**
 * @brief OR of the marks of the samples currently in the window.
 *
 * @return PPG_WIN_MARK_GAP if any sample is a gap, PPG_WIN_MARK_SATURATED if any is saturated.
 */
uint8_t ppg_window_marks(const struct ppg_window *w);

/**
 * @brief Copy the window out in chronological order (oldest first).
 *
 * @param w Window.
 * @param dst Destination, at least capacity entries.
 * @param dst_len Length of @p dst.
 * @param marks Receives ppg_window_marks(); may be NULL.
 *
 * @return capacity (the number of samples copied), -EINVAL for NULL pointers, -EAGAIN if the
 *         window is not full yet, -ENOBUFS if @p dst_len is below the capacity.
 */
int ppg_window_copy_out(const struct ppg_window *w, int32_t *dst, size_t dst_len, uint8_t *marks);

#ifdef __cplusplus
}
#endif

#endif /* PPGCOMP_WINDOW_H_ */
