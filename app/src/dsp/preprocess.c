/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include "preprocess.h"

void ppg_preprocess(const int32_t *x, size_t n, int8_t *q, struct ppg_window_stats *st)
{
	int32_t lo = 0;
	int32_t hi = 0;

	if (n > 0U) {
		lo = x[0];
		hi = x[0];
		for (size_t i = 1U; i < n; i++) {
			if (x[i] < lo) {
				lo = x[i];
			}
			if (x[i] > hi) {
				hi = x[i];
			}
		}
	}

	/* 0 <= range < 2^32: compute in int64, store as uint32. */
	const uint32_t range = (uint32_t)((int64_t)hi - (int64_t)lo);

	if (st != NULL) {
		st->lo = lo;
		st->hi = hi;
		st->range = range;
	}

	if (range == 0U) {
		for (size_t i = 0U; i < n; i++) {
			q[i] = INT8_MIN;
		}
		return;
	}

	/*
	 * The numerator is non-negative and below 2^32 * 255 + 2^31 < 2^41, so unsigned 64-bit
	 * division is the floor division of the spec, and the quotient is 0..255.
	 */
	const uint64_t den = range;
	const uint64_t half = den / 2U;

	for (size_t i = 0U; i < n; i++) {
		const uint64_t off = (uint64_t)((int64_t)x[i] - (int64_t)lo);
		const uint64_t num = off * 255U + half;

		q[i] = (int8_t)((int32_t)(num / den) - 128);
	}
}
