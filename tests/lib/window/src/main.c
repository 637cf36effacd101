/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The sliding window (lib/window) over the golden decimated stream
 * (tests/golden/ppg_golden_vectors.h): a window is due at GOLDEN_WINDOW_LEN, then every GOLDEN_HOP
 * samples, and holds the last GOLDEN_WINDOW_LEN samples; sample marks leave with their sample.
 */

#include <zephyr/ztest.h>

#include <ppgcomp/window_cfg.h>

#include "ppg_golden_model_vectors.h"

static int32_t win_copy[GOLDEN_WINDOW_LEN];
PPG_WINDOW_DEFINE(win);

ZTEST(lib_window, test_window_hop_golden)
{
	size_t k = 0;

	zassert_ok(PPG_WINDOW_INIT(win));
	for (size_t i = 0; i < GOLDEN_DECIMATED_LEN; i++) {
		uint8_t marks = 0xFF;

		ppg_window_push(&win, golden_decimated[i], 0U);
		if (!ppg_window_hop_due(&win, GOLDEN_HOP)) {
			continue;
		}
		zassert_true(k < GOLDEN_WINDOWS, "too many windows");
		zassert_equal(i + 1U, GOLDEN_WINDOW_LEN + k * GOLDEN_HOP, "window %zu due late", k);
		zassert_equal(ppg_window_copy_out(&win, win_copy, ARRAY_SIZE(win_copy), &marks),
			      (int)GOLDEN_WINDOW_LEN);
		zassert_equal(marks, 0U);
		zassert_mem_equal(win_copy, &golden_decimated[k * GOLDEN_HOP], sizeof(win_copy),
				  "window %zu", k);
		k++;
	}
	zassert_equal(k, GOLDEN_WINDOWS);
}

ZTEST(lib_window, test_window_marks)
{
	zassert_ok(PPG_WINDOW_INIT(win));
	ppg_window_push(&win, 1, PPG_WIN_MARK_GAP);
	for (size_t i = 1; i < GOLDEN_WINDOW_LEN; i++) {
		ppg_window_push(&win, (int32_t)i, 0U);
	}
	zassert_equal(ppg_window_marks(&win), PPG_WIN_MARK_GAP);
	/* The gap sample leaves the window. */
	ppg_window_push(&win, 0, PPG_WIN_MARK_SATURATED);
	zassert_equal(ppg_window_marks(&win), PPG_WIN_MARK_SATURATED);
}

ZTEST_SUITE(lib_window, NULL, NULL, NULL, NULL, NULL);
