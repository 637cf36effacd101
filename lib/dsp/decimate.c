/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <ppgcomp/decimate.h>

#include <errno.h>
#include <string.h>

/* Floor division (Python's //) for a positive divisor. */
static inline int64_t floor_div_pos(int64_t num, int64_t den)
{
	int64_t q = num / den;

	if ((num % den) != 0 && num < 0) {
		q--;
	}
	return q;
}

int ppg_decim_factor(uint32_t sensor_rate_hz, uint32_t model_rate_hz)
{
	if (sensor_rate_hz == 0U || model_rate_hz == 0U || (sensor_rate_hz % model_rate_hz) != 0U) {
		return -EINVAL;
	}

	uint32_t m = sensor_rate_hz / model_rate_hz;

	if (m > PPG_DECIM_MAX_FACTOR) {
		return -EINVAL;
	}
	return (int)m;
}

int ppg_decim_init(struct ppg_decim *d, uint32_t factor)
{
	if (d == NULL || factor == 0U || factor > PPG_DECIM_MAX_FACTOR) {
		return -EINVAL;
	}

	memset(d, 0, sizeof(*d));
	d->factor = factor;
	d->n_taps = 3U * factor - 2U;
	d->gain = factor * factor * factor;

	/*
	 * h = box * box * box. The triangle t = box * box has 2M - 1 taps,
	 * t[k] = min(k + 1, 2M - 1 - k); h[j] is the sum of t over the M indices j - M + 1 .. j,
	 * computed as a running window sum.
	 */
	const int32_t m = (int32_t)factor;
	const int32_t tri_len = 2 * m - 1;
	int32_t win = 0;

	for (int32_t j = 0; j < (int32_t)d->n_taps; j++) {
		if (j < tri_len) {
			win += (j + 1 < tri_len - j) ? (j + 1) : (tri_len - j);
		}
		int32_t old = j - m;

		if (old >= 0 && old < tri_len) {
			win -= (old + 1 < tri_len - old) ? (old + 1) : (tri_len - old);
		}
		d->taps[j] = (uint16_t)win;
	}

	return 0;
}

void ppg_decim_reset(struct ppg_decim *d)
{
	d->head = 0U;
	d->phase = 0U;
	d->primed = false;
}

static int32_t decim_output(const struct ppg_decim *d)
{
	/* acc = sum_j h[j] * x[n - j]; |acc| < 2^31 * 2^21 fits in int64. */
	int64_t acc = 0;
	uint32_t idx = d->head;

	for (uint32_t j = 0U; j < d->n_taps; j++) {
		acc += (int64_t)d->taps[j] * d->hist[idx];
		idx = (idx == 0U) ? (d->n_taps - 1U) : (idx - 1U);
	}

	const int64_t gain = (int64_t)d->gain;

	/* Round half up; the result is a weighted mean of int32 samples, so it fits in int32. */
	return (int32_t)floor_div_pos(acc + gain / 2, gain);
}

bool ppg_decim_push(struct ppg_decim *d, int32_t in, int32_t *out)
{
	if (!d->primed) {
		for (uint32_t j = 0U; j < d->n_taps; j++) {
			d->hist[j] = in;
		}
		d->head = 0U;
		d->phase = 0U;
		d->primed = true;
	}

	d->head = (d->head + 1U == d->n_taps) ? 0U : (d->head + 1U);
	d->hist[d->head] = in;

	if (++d->phase < d->factor) {
		return false;
	}
	d->phase = 0U;

	int32_t y = decim_output(d);

	if (out != NULL) {
		*out = y;
	}
	return true;
}

int ppg_decim_push_block(struct ppg_decim *d, const int32_t *in, size_t n, int32_t *out,
			 size_t out_cap)
{
	if (d == NULL || (n > 0U && in == NULL) || (out == NULL && out_cap > 0U)) {
		return -EINVAL;
	}

	size_t phase = d->primed ? d->phase : 0U;
	size_t n_out = (phase + n) / d->factor;

	if (n_out > out_cap || n_out > (size_t)INT32_MAX) {
		return -ENOBUFS;
	}

	size_t k = 0U;

	for (size_t i = 0U; i < n; i++) {
		if (ppg_decim_push(d, in[i], (out != NULL) ? &out[k] : NULL)) {
			k++;
		}
	}

	return (int)k;
}
