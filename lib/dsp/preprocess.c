/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <ppgcomp/preprocess.h>

/* x[clamp(i, 0, n - 1)] for a signed index. */
static inline int64_t sample_at(const int32_t *x, size_t n, int64_t i)
{
	if (i < 0) {
		return x[0];
	}
	if (i >= (int64_t)n) {
		return x[n - 1U];
	}
	return x[i];
}

/*
 * Iterates d[i] = (2h+1) x[i] - sum_{j=-h}^{h} x[clamp(i+j)] with a running sum, so no
 * scratch buffer is needed: |d| < (2h+1) 2^32 and the sum stays well inside int64.
 */
struct detrend_iter {
	const int32_t *x;
	size_t n;
	int64_t h;
	int64_t sum;
	size_t i;
};

static void detrend_start(struct detrend_iter *it, const int32_t *x, size_t n, size_t half)
{
	it->x = x;
	it->n = n;
	it->h = (int64_t)half;
	it->i = 0U;
	it->sum = 0;
	for (int64_t j = -it->h; j <= it->h; j++) {
		it->sum += sample_at(x, n, j);
	}
}

static int64_t detrend_next(struct detrend_iter *it)
{
	const int64_t i = (int64_t)it->i;
	const int64_t d = (2 * it->h + 1) * (int64_t)it->x[it->i] - it->sum;

	it->sum += sample_at(it->x, it->n, i + it->h + 1) - sample_at(it->x, it->n, i - it->h);
	it->i++;
	return d;
}

/* Number of q[i] <= v. */
static size_t count_at_most(const int8_t *q, size_t n, int32_t v)
{
	size_t c = 0U;

	for (size_t i = 0U; i < n; i++) {
		c += ((int32_t)q[i] <= v) ? 1U : 0U;
	}
	return c;
}

/*
 * The k-th smallest q (0-based, k < n): the smallest level v with more than k samples <= v,
 * found by bisection over the 256 levels, so no scratch buffer or sort is needed.
 */
static int32_t kth_level(const int8_t *q, size_t n, size_t k)
{
	int32_t lo = INT8_MIN;
	int32_t hi = INT8_MAX;

	while (lo < hi) {
		const int32_t mid = lo + (hi - lo) / 2;

		if (count_at_most(q, n, mid) > k) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	return lo;
}

static uint8_t quality_spread(const int8_t *q, size_t n)
{
	const size_t k = n / PPG_QUALITY_TAIL_DIV;

	return (uint8_t)(kth_level(q, n, n - 1U - k) - kth_level(q, n, k));
}

void ppg_preprocess(const int32_t *x, size_t n, size_t half, int8_t *q, struct ppg_window_stats *st)
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

	if (st != NULL) {
		st->lo = lo;
		st->hi = hi;
		/* 0 <= range < 2^32: compute in int64, store as uint32. */
		st->range = (uint32_t)((int64_t)hi - (int64_t)lo);
		st->spread = 0U;
	}
	if (n == 0U) {
		return;
	}

	struct detrend_iter it;
	int64_t dlo = INT64_MAX;
	int64_t dhi = INT64_MIN;

	detrend_start(&it, x, n, half);
	for (size_t i = 0U; i < n; i++) {
		const int64_t d = detrend_next(&it);

		dlo = d < dlo ? d : dlo;
		dhi = d > dhi ? d : dhi;
	}

	if (dhi == dlo) {
		for (size_t i = 0U; i < n; i++) {
			q[i] = INT8_MIN;
		}
		return;
	}

	/*
	 * 0 <= d - dlo <= range < (2h+1) 2^33, so the numerator stays below 2^63 for any
	 * h < 2^20 and unsigned 64-bit division is the floor division of the spec.
	 */
	const uint64_t den = (uint64_t)(dhi - dlo);
	const uint64_t half_den = den / 2U;

	detrend_start(&it, x, n, half);
	for (size_t i = 0U; i < n; i++) {
		const uint64_t off = (uint64_t)(detrend_next(&it) - dlo);

		q[i] = (int8_t)((int32_t)((off * 255U + half_den) / den) - 128);
	}
	if (st != NULL) {
		st->spread = quality_spread(q, n);
	}
}
