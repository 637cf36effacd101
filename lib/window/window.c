/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <ppgcomp/window.h>

#include <errno.h>
#include <string.h>

int ppg_window_init(struct ppg_window *w, int32_t *buf, uint8_t *marks, size_t capacity)
{
	if (w == NULL || buf == NULL || marks == NULL || capacity == 0U ||
	    capacity > (size_t)INT32_MAX) {
		return -EINVAL;
	}

	w->buf = buf;
	w->marks = marks;
	w->capacity = capacity;
	ppg_window_reset(w);
	return 0;
}

void ppg_window_reset(struct ppg_window *w)
{
	memset(w->marks, 0, w->capacity);
	w->head = 0U;
	w->count = 0U;
	w->n_gap = 0U;
	w->n_sat = 0U;
	w->since_run = 0U;
	w->ran = false;
}

void ppg_window_push(struct ppg_window *w, int32_t sample, uint8_t marks)
{
	const uint8_t m = marks & PPG_WIN_MARK_MASK;
	const uint8_t old = w->marks[w->head];

	/* Slots not yet written hold mark 0, so this is right before the window fills too. */
	if ((old & PPG_WIN_MARK_GAP) != 0U) {
		w->n_gap--;
	}
	if ((old & PPG_WIN_MARK_SATURATED) != 0U) {
		w->n_sat--;
	}
	if ((m & PPG_WIN_MARK_GAP) != 0U) {
		w->n_gap++;
	}
	if ((m & PPG_WIN_MARK_SATURATED) != 0U) {
		w->n_sat++;
	}

	w->buf[w->head] = sample;
	w->marks[w->head] = m;
	w->head = (w->head + 1U == w->capacity) ? 0U : (w->head + 1U);
	if (w->count < w->capacity) {
		w->count++;
	}
	if (w->since_run < UINT32_MAX) {
		w->since_run++;
	}
}

bool ppg_window_ready(const struct ppg_window *w)
{
	return w->count == w->capacity;
}

size_t ppg_window_count(const struct ppg_window *w)
{
	return w->count;
}

bool ppg_window_hop_due(struct ppg_window *w, uint32_t hop)
{
	if (hop == 0U || !ppg_window_ready(w)) {
		return false;
	}
	if (!w->ran || w->since_run >= hop) {
		w->ran = true;
		w->since_run = 0U;
		return true;
	}
	return false;
}

uint8_t ppg_window_marks(const struct ppg_window *w)
{
	uint8_t m = 0U;

	if (w->n_gap > 0U) {
		m |= PPG_WIN_MARK_GAP;
	}
	if (w->n_sat > 0U) {
		m |= PPG_WIN_MARK_SATURATED;
	}
	return m;
}

int ppg_window_copy_out(const struct ppg_window *w, int32_t *dst, size_t dst_len, uint8_t *marks)
{
	if (w == NULL || dst == NULL) {
		return -EINVAL;
	}
	if (!ppg_window_ready(w)) {
		return -EAGAIN;
	}
	if (dst_len < w->capacity) {
		return -ENOBUFS;
	}

	/* Full: head is the oldest sample. */
	const size_t first = w->capacity - w->head;

	memcpy(dst, &w->buf[w->head], first * sizeof(int32_t));
	memcpy(&dst[first], w->buf, w->head * sizeof(int32_t));

	if (marks != NULL) {
		*marks = ppg_window_marks(w);
	}
	return (int)w->capacity;
}
