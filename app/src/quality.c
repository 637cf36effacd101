/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <zephyr/logging/log.h>

#include <ppgcomp/packet.h>
#include <ppgcomp/preprocess.h>
#include <ppgcomp/window.h>
#include <ppg_encoder_model.h>

#include "quality.h"
#include "stats.h"

LOG_MODULE_REGISTER(app_quality, CONFIG_APP_LOG_LEVEL);

/* The detrend half-length is a model constant (docs/preprocessing.md), emitted by the exporter. */
#ifndef PPG_MODEL_DETREND_HALF
#error "ppg_encoder_model.h has no PPG_MODEL_DETREND_HALF: re-run scripts/train_export.py"
#endif

uint8_t app_quality_preprocess(const int32_t *x, size_t n, uint8_t win_marks, int8_t *q)
{
	struct ppg_window_stats st;
	uint8_t flags = 0U;

	ppg_preprocess(x, n, PPG_MODEL_DETREND_HALF, q, &st);

	if (st.range < (uint32_t)CONFIG_APP_FLAT_RANGE_MIN) {
		flags |= PPG_PKT_FLAG_FLAT;
	}
	if (st.spread < PPG_QUALITY_MIN_SPREAD) {
		flags |= PPG_PKT_FLAG_LOWRES;
	}
	if ((win_marks & PPG_WIN_MARK_SATURATED) != 0U) {
		flags |= PPG_PKT_FLAG_SATURATED;
	}
	if ((win_marks & PPG_WIN_MARK_GAP) != 0U) {
		flags |= PPG_PKT_FLAG_GAP;
	}
	if (flags != 0U) {
		app_stats_inc(APP_STAT_QUALITY_FAULTS);
		LOG_WRN("window quality:%s%s%s%s (range %u, spread %u)",
			(flags & PPG_PKT_FLAG_FLAT) ? " flat" : "",
			(flags & PPG_PKT_FLAG_LOWRES) ? " lowres" : "",
			(flags & PPG_PKT_FLAG_SATURATED) ? " saturated" : "",
			(flags & PPG_PKT_FLAG_GAP) ? " gap" : "", st.range, st.spread);
	}
	return flags;
}
