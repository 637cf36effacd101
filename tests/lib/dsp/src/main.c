/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Decimation and preprocessing (lib/dsp) against the golden vectors of the exporter
 * (tests/golden/ppg_golden_vectors.h, included through ppg_golden_model_vectors.h, which checks
 * they are the committed model's): golden_raw -> decimate == golden_decimated; windows at
 * GOLDEN_HOP -> preprocess == golden_window_q.
 */

#include <string.h>

#include <zephyr/ztest.h>

#include <ppgcomp/decimate.h>
#include <ppgcomp/preprocess.h>
#include <ppg_encoder_model.h>

#include "ppg_golden_model_vectors.h"

/* Detrend half-length of the golden vectors (the model's unless the golden header says). */
#if defined(GOLDEN_DETREND_HALF)
#define DETREND_HALF GOLDEN_DETREND_HALF
#elif defined(PPG_MODEL_DETREND_HALF)
#define DETREND_HALF PPG_MODEL_DETREND_HALF
#else
#error "no detrend half-length: regenerate the model header and golden vectors"
#endif

BUILD_ASSERT(GOLDEN_DECIMATED_LEN ==
		     GOLDEN_RAW_LEN / (GOLDEN_SENSOR_RATE_HZ / PPG_MODEL_SAMPLE_RATE_HZ),
	     "golden decimated length differs from the raw length and rates");

static int32_t decimated[GOLDEN_DECIMATED_LEN];
static int32_t win_copy[GOLDEN_WINDOW_LEN];
static int8_t q[GOLDEN_WINDOW_LEN];
static struct ppg_decim decim;

ZTEST(lib_dsp, test_decimate_streaming)
{
	int factor = ppg_decim_factor(GOLDEN_SENSOR_RATE_HZ, PPG_MODEL_SAMPLE_RATE_HZ);
	size_t n = 0;

	zassert_true(factor > 0);
	zassert_ok(ppg_decim_init(&decim, (uint32_t)factor));
	for (size_t i = 0; i < GOLDEN_RAW_LEN; i++) {
		int32_t out;

		if (ppg_decim_push(&decim, golden_raw[i], &out)) {
			zassert_true(n < GOLDEN_DECIMATED_LEN);
			decimated[n++] = out;
		}
	}
	zassert_equal(n, GOLDEN_DECIMATED_LEN);
	for (size_t i = 0; i < n; i++) {
		zassert_equal(decimated[i], golden_decimated[i], "sample %zu: %d != %d", i,
			      decimated[i], golden_decimated[i]);
	}
}

ZTEST(lib_dsp, test_decimate_blocks)
{
	int factor = ppg_decim_factor(GOLDEN_SENSOR_RATE_HZ, PPG_MODEL_SAMPLE_RATE_HZ);
	size_t n = 0;
	size_t i = 0;
	size_t block = 7; /* not a multiple of the factor */

	zassert_ok(ppg_decim_init(&decim, (uint32_t)factor));
	while (i < GOLDEN_RAW_LEN) {
		size_t len = MIN(block, GOLDEN_RAW_LEN - i);
		int rc = ppg_decim_push_block(&decim, &golden_raw[i], len, &decimated[n],
					      GOLDEN_DECIMATED_LEN - n);

		zassert_true(rc >= 0, "push_block: %d", rc);
		n += (size_t)rc;
		i += len;
	}
	zassert_equal(n, GOLDEN_DECIMATED_LEN);
	zassert_mem_equal(decimated, golden_decimated, sizeof(decimated));
}

ZTEST(lib_dsp, test_decimate_bad_rate)
{
	zassert_equal(ppg_decim_factor(110, PPG_MODEL_SAMPLE_RATE_HZ), -EINVAL);
	zassert_equal(ppg_decim_factor(0, PPG_MODEL_SAMPLE_RATE_HZ), -EINVAL);
}

ZTEST(lib_dsp, test_preprocess_golden_windows)
{
	for (size_t k = 0; k < GOLDEN_WINDOWS; k++) {
		struct ppg_window_stats st;

		ppg_preprocess(&golden_decimated[k * GOLDEN_HOP], GOLDEN_WINDOW_LEN, DETREND_HALF, q, &st);
		zassert_mem_equal(q, golden_window_q[k], GOLDEN_WINDOW_LEN, "window %zu", k);
		zassert_true(st.range > 0U);
		/* A clean pulse: the central 90 % keeps many levels (no LOWRES). */
		zassert_true(st.spread >= PPG_QUALITY_MIN_SPREAD, "window %zu spread %u", k, st.spread);
	}
}

ZTEST(lib_dsp, test_preprocess_flat)
{
	struct ppg_window_stats st;

	for (size_t i = 0; i < GOLDEN_WINDOW_LEN; i++) {
		win_copy[i] = 12345;
	}
	ppg_preprocess(win_copy, GOLDEN_WINDOW_LEN, DETREND_HALF, q, &st);
	zassert_equal(st.range, 0U);
	zassert_equal(st.spread, 0U);
	for (size_t i = 0; i < GOLDEN_WINDOW_LEN; i++) {
		zassert_equal(q[i], -128);
	}
}

ZTEST_SUITE(lib_dsp, NULL, NULL, NULL, NULL, NULL);
