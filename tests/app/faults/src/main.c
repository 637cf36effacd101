/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Fault injection for the app's logic:
 *  - sensor read errors: the last good sample is repeated, the sample is marked GAP, the error
 *    is counted, and the window's packet gets the GAP flag (a quality fault);
 *  - saturated and flat windows get their flags;
 *  - the backlog as the app reports it (stats: depth, counted drops) through the transport
 *    interface, with a mock transport over lib/tx_queue. The send policy itself (order, BACKLOG
 *    flag, refusals, in-flight confirm and requeue) is tested in tests/lib/tx_queue, and the
 *    conditioning of a single read in tests/lib/sample_cond.
 */

#include <errno.h>

#include <zephyr/ztest.h>

#include <ppgcomp/decimate.h>
#include <ppgcomp/packet.h>
#include <ppgcomp/sample_cond.h>
#include <ppgcomp/window_cfg.h>
#include <ppg_encoder_model.h>

#include "mock_transport.h"
#include "quality.h"
#include "stats.h"
#include "transport/transport.h"

#define FULL_SCALE 524287

PPG_WINDOW_DEFINE(win);
static int32_t win_copy[PPG_WINDOW_LEN];
static int8_t q[PPG_WINDOW_LEN];
static struct ppg_decim decim;

/* A varied, in-range test signal. */
static int32_t signal_at(uint32_t i)
{
	return 200000 + (int32_t)((i * 37U) % 1000U);
}

/*
 * Feeds a 100 Hz stream through the same steps as the sampling thread (condition, decimate by 4,
 * window) and returns the packet flags of the first window. fail_at/fail_n: reads that fail.
 */
static uint8_t first_window_flags(struct ppg_sample_cond *c, uint32_t fail_at, uint32_t fail_n,
				  int32_t force_value, uint32_t force_at)
{
	uint8_t group = 0U;

	zassert_ok(ppg_decim_init(&decim, 4));
	zassert_ok(PPG_WINDOW_INIT(win));
	for (uint32_t i = 0; i < 4U * PPG_WINDOW_LEN; i++) {
		int rc = (i >= fail_at && i < fail_at + fail_n) ? -EIO : 0;
		int32_t raw = (i == force_at) ? force_value : signal_at(i);
		int32_t s;
		int32_t out;

		group |= ppg_sample_cond_apply(c, rc, raw, &s);
		if (ppg_decim_push(&decim, s, &out)) {
			ppg_window_push(&win, out, group);
			group = 0U;
			if (ppg_window_hop_due(&win, CONFIG_APP_ENCODE_HOP_SAMPLES)) {
				uint8_t marks = 0U;

				zassert_equal(ppg_window_copy_out(&win, win_copy,
								  ARRAY_SIZE(win_copy), &marks),
					      (int)PPG_WINDOW_LEN);
				return app_quality_preprocess(win_copy, PPG_WINDOW_LEN, marks, q);
			}
		}
	}
	ztest_test_fail();
	return 0xFF;
}

ZTEST(app_faults, test_sensor_errors_set_gap_flag)
{
	struct ppg_sample_cond c;
	uint32_t faults = app_stats_get(APP_STAT_QUALITY_FAULTS);
	uint8_t flags;

	ppg_sample_cond_init(&c, FULL_SCALE);
	flags = first_window_flags(&c, 100U, 3U, 0, UINT32_MAX);
	zassert_equal(c.read_errors, 3U, "every failed read is counted");
	zassert_equal(flags, PPG_PKT_FLAG_GAP, "flags 0x%x", flags);
	zassert_equal(app_stats_get(APP_STAT_QUALITY_FAULTS), faults + 1U);
}

ZTEST(app_faults, test_clean_window_has_no_flags)
{
	struct ppg_sample_cond c;
	uint32_t faults = app_stats_get(APP_STAT_QUALITY_FAULTS);

	ppg_sample_cond_init(&c, FULL_SCALE);
	zassert_equal(first_window_flags(&c, UINT32_MAX, 0U, 0, UINT32_MAX), 0U);
	zassert_equal(app_stats_get(APP_STAT_QUALITY_FAULTS), faults);
}

ZTEST(app_faults, test_saturated_window)
{
	struct ppg_sample_cond c;

	ppg_sample_cond_init(&c, FULL_SCALE);
	/* The full-scale spike also takes the min-max range: the rest keeps a few levels (LOWRES). */
	zassert_equal(first_window_flags(&c, UINT32_MAX, 0U, FULL_SCALE, 50U),
		      PPG_PKT_FLAG_SATURATED | PPG_PKT_FLAG_LOWRES);
}

ZTEST(app_faults, test_step_window_is_lowres)
{
	uint32_t faults = app_stats_get(APP_STAT_QUALITY_FAULTS);
	uint8_t flags;

	/* A pulse-like signal with a sensor step 30 times its amplitude half-way (a lift-off). */
	for (size_t i = 0; i < PPG_WINDOW_LEN; i++) {
		win_copy[i] = 200000 + 100 * (int32_t)((i * 7U) % 40U) +
			      (i >= PPG_WINDOW_LEN / 2U ? 120000 : 0);
	}
	flags = app_quality_preprocess(win_copy, PPG_WINDOW_LEN, 0U, q);
	zassert_equal(flags, PPG_PKT_FLAG_LOWRES, "flags 0x%x", flags);
	zassert_equal(app_stats_get(APP_STAT_QUALITY_FAULTS), faults + 1U);

	/* The same pulse without the step keeps its levels. */
	for (size_t i = 0; i < PPG_WINDOW_LEN; i++) {
		win_copy[i] = 200000 + 100 * (int32_t)((i * 7U) % 40U);
	}
	zassert_equal(app_quality_preprocess(win_copy, PPG_WINDOW_LEN, 0U, q), 0U);
}

ZTEST(app_faults, test_flat_window)
{
	uint8_t flags;

	for (size_t i = 0; i < PPG_WINDOW_LEN; i++) {
		win_copy[i] = 100000 + (int32_t)(i % 2U); /* range 1 */
	}
	flags = app_quality_preprocess(win_copy, PPG_WINDOW_LEN, 0U, q);
	zassert_equal(flags, PPG_PKT_FLAG_FLAT);
}

ZTEST(app_faults, test_backlog_in_app_stats)
{
	const uint32_t n = MOCK_RING_CAP + 5U;
	const uint8_t pkt[PPG_PKT_LEN] = {0};
	struct ppg_stats st;
	uint32_t dropped_before;

	/* The send policy itself is tested in tests/lib/tx_queue; here, what the app reports. */
	mock_transport_reset();
	app_stats_snapshot(&st);
	dropped_before = st.dropped;

	mock_link.fail_with = -ENOTCONN; /* disconnected: the ring overflows */
	for (uint32_t s = 0; s < n; s++) {
		app_transport_submit(pkt);
	}
	app_stats_snapshot(&st);
	zassert_equal(st.backlog_depth, MOCK_RING_CAP);
	zassert_equal(st.dropped, dropped_before + n - MOCK_RING_CAP, "overflow drops are counted");

	/* Reconnect and flush: the ring is sent, the drops stay counted. */
	mock_link.fail_with = 0;
	app_transport_flush();
	app_stats_snapshot(&st);
	zassert_equal(st.backlog_depth, 0U);
	zassert_equal(st.sent, MOCK_RING_CAP);
	zassert_equal(st.dropped, dropped_before + n - MOCK_RING_CAP);
}

ZTEST_SUITE(app_faults, NULL, NULL, NULL, NULL, NULL);
