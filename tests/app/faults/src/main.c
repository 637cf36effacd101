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
 *  - the backlog: link down, overflow (counted drops), in-order drain with the BACKLOG flag,
 *    "no TX buffer" (-ENOMEM) in the middle of a drain, via a mock transport.
 */

#include <errno.h>
#include <string.h>

#include <zephyr/ztest.h>

#include <ppgcomp/decimate.h>
#include <ppgcomp/packet.h>
#include <ppgcomp/sample_cond.h>
#include <ppgcomp/tx_queue.h>
#include <ppgcomp/window_cfg.h>
#include <ppg_encoder_model.h>

#include "mock_transport.h"
#include "quality.h"
#include "stats.h"

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

ZTEST(app_faults, test_sensor_error_fills_last_good)
{
	struct ppg_sample_cond c;
	int32_t out;

	ppg_sample_cond_init(&c, FULL_SCALE);
	zassert_equal(ppg_sample_cond_apply(&c, 0, 1234, &out), 0U);
	zassert_equal(out, 1234);
	zassert_equal(ppg_sample_cond_apply(&c, -EIO, 9999, &out), PPG_WIN_MARK_GAP);
	zassert_equal(out, 1234, "a failed read repeats the last good sample");
	zassert_equal(ppg_sample_cond_apply(&c, -EIO, 0, &out), PPG_WIN_MARK_GAP);
	zassert_equal(out, 1234);
	zassert_equal(c.read_errors, 2U);
	zassert_equal(c.error_run, 2U);
	zassert_equal(ppg_sample_cond_apply(&c, 0, 1300, &out), 0U);
	zassert_equal(c.error_run, 0U, "recovered");
	zassert_equal(ppg_sample_cond_apply(&c, 0, FULL_SCALE, &out), PPG_WIN_MARK_SATURATED);
	zassert_equal(c.saturated, 1U);
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

static void make_packet(uint8_t pkt[PPG_PKT_LEN], uint16_t seq)
{
	int8_t codes[PPG_PKT_CODE_LEN];

	for (size_t i = 0; i < PPG_PKT_CODE_LEN; i++) {
		codes[i] = (int8_t)(seq + i);
	}
	zassert_equal(ppg_packet_encode(pkt, 0U, PPG_MODEL_TAG, seq, codes), (int)PPG_PKT_LEN);
}

static struct ppg_packet sent_packet(size_t i)
{
	struct ppg_packet p;

	zassert_ok(ppg_packet_decode(mock_link.sent[i], PPG_PKT_LEN, PPG_MODEL_TAG, &p));
	return p;
}

ZTEST(app_faults, test_live_send)
{
	uint8_t pkt[PPG_PKT_LEN];

	mock_transport_reset();
	make_packet(pkt, 0);
	zassert_equal(ppg_txq_submit(&mock_txq, pkt), PPG_TXQ_SENT);
	zassert_equal(mock_link.n_sent, 1U);
	zassert_equal(sent_packet(0).flags, 0U, "a live packet has no BACKLOG flag");
}

ZTEST(app_faults, test_backlog_overflow_counts_and_drains_in_order)
{
	const uint16_t n = MOCK_RING_CAP + 5U;
	uint8_t pkt[PPG_PKT_LEN];
	struct ppg_stats st;

	mock_transport_reset();
	mock_link.fail_with = -ENOTCONN; /* disconnected */
	for (uint16_t s = 0; s < n; s++) {
		make_packet(pkt, s);
		zassert_true(ppg_txq_submit(&mock_txq, pkt) > 0, "kept, not sent");
	}
	zassert_equal(mock_link.n_sent, 0U);
	zassert_equal(ppg_txq_depth(&mock_txq), MOCK_RING_CAP);
	zassert_equal(ppg_txq_dropped(&mock_txq), n - MOCK_RING_CAP, "overflow is counted");

	app_stats_snapshot(&st);
	zassert_equal(st.backlog_depth, MOCK_RING_CAP);
	zassert_true(st.dropped >= n - MOCK_RING_CAP);

	/* Reconnect: the oldest kept packet first, each with the BACKLOG flag. */
	mock_link.fail_with = 0;
	zassert_equal(ppg_txq_drain(&mock_txq), (int)MOCK_RING_CAP);
	zassert_equal(mock_link.n_sent, MOCK_RING_CAP);
	for (size_t i = 0; i < MOCK_RING_CAP; i++) {
		struct ppg_packet p = sent_packet(i);

		zassert_equal(p.seq, n - MOCK_RING_CAP + i, "in order");
		zassert_equal(p.flags, PPG_PKT_FLAG_BACKLOG);
		zassert_equal(p.codes[0], (int8_t)p.seq);
	}
	zassert_equal(ppg_txq_depth(&mock_txq), 0U);

	/* Back to live. */
	make_packet(pkt, n);
	zassert_equal(ppg_txq_submit(&mock_txq, pkt), PPG_TXQ_SENT);
	zassert_equal(sent_packet(MOCK_RING_CAP).flags, 0U);
}

ZTEST(app_faults, test_no_tx_buffer_mid_drain_loses_nothing)
{
	uint8_t pkt[PPG_PKT_LEN];
	uint16_t seq = 0;

	mock_transport_reset();
	mock_link.fail_with = -ENOTCONN;
	for (; seq < 6U; seq++) {
		make_packet(pkt, seq);
		(void)ppg_txq_submit(&mock_txq, pkt);
	}
	/* Link up, but only 2 TX buffers: the drain stops at -ENOMEM, nothing is popped early. */
	mock_link.fail_with = 0;
	mock_link.budget = 2;
	zassert_equal(ppg_txq_drain(&mock_txq), 2);
	zassert_equal(mock_txq.last_err, -ENOMEM);
	zassert_equal(ppg_txq_depth(&mock_txq), 4U);

	/* A new packet queues behind the backlog (order kept) while no buffer is free. */
	make_packet(pkt, seq++);
	zassert_equal(ppg_txq_submit(&mock_txq, pkt), PPG_TXQ_QUEUED);
	zassert_equal(ppg_txq_depth(&mock_txq), 5U);

	/* Buffers free again. */
	mock_link.budget = -1;
	zassert_equal(ppg_txq_drain(&mock_txq), 5);
	zassert_equal(mock_link.n_sent, 7U);
	for (size_t i = 0; i < mock_link.n_sent; i++) {
		struct ppg_packet p = sent_packet(i);

		zassert_equal(p.seq, i, "packet %zu out of order", i);
		zassert_equal(p.flags, PPG_PKT_FLAG_BACKLOG);
	}
	zassert_equal(ppg_txq_dropped(&mock_txq), 0U, "nothing lost without overflow");
}

ZTEST(app_faults, test_in_flight_kept_until_confirmed)
{
	uint8_t pkt[PPG_PKT_LEN];

	mock_transport_reset();
	mock_link.in_flight = true;
	for (uint16_t s = 0; s < 3U; s++) {
		make_packet(pkt, s);
		zassert_equal(ppg_txq_submit(&mock_txq, pkt), PPG_TXQ_SENT, "sent live");
	}
	zassert_equal(mock_link.n_sent, 3U);
	zassert_equal(ppg_txq_in_flight(&mock_txq), 3U);
	zassert_equal(ppg_txq_depth(&mock_txq), 3U, "kept in the ring until confirmed");
	zassert_equal(mock_txq.sent, 0U);

	/* Nothing pending: draining sends nothing again. */
	zassert_equal(ppg_txq_drain(&mock_txq), 0);

	ppg_txq_confirm(&mock_txq, 2U);
	zassert_equal(ppg_txq_depth(&mock_txq), 1U);
	zassert_equal(ppg_txq_in_flight(&mock_txq), 1U);
	zassert_equal(mock_txq.sent, 2U);

	/* A stale confirmation beyond what is in flight is ignored. */
	ppg_txq_confirm(&mock_txq, 5U);
	zassert_equal(ppg_txq_depth(&mock_txq), 0U);
	zassert_equal(mock_txq.sent, 3U);
	zassert_equal(ppg_txq_dropped(&mock_txq), 0U);
}

ZTEST(app_faults, test_disconnect_mid_burst_resends_in_flight)
{
	uint8_t pkt[PPG_PKT_LEN];
	uint16_t seq;

	mock_transport_reset();
	mock_link.in_flight = true;
	mock_link.fail_with = -ENOTCONN;
	for (seq = 0; seq < 6U; seq++) {
		make_packet(pkt, seq);
		(void)ppg_txq_submit(&mock_txq, pkt);
	}
	/* Reconnect: 3 TX buffers; 1 delivered, then the link drops with 2 still queued. */
	mock_link.fail_with = 0;
	mock_link.budget = 3;
	zassert_equal(ppg_txq_drain(&mock_txq), 3);
	ppg_txq_confirm(&mock_txq, 1U);
	zassert_equal(ppg_txq_requeue(&mock_txq), 2U, "two were in flight");
	zassert_equal(ppg_txq_in_flight(&mock_txq), 0U);
	zassert_equal(ppg_txq_depth(&mock_txq), 5U, "nothing lost");

	/* A live packet while the backlog waits goes behind it. */
	mock_link.fail_with = -ENOTCONN;
	make_packet(pkt, seq++);
	zassert_equal(ppg_txq_submit(&mock_txq, pkt), PPG_TXQ_QUEUED);

	/* Next connection: seq 1.. resent in order with the BACKLOG flag, then live again. */
	mock_link.fail_with = 0;
	mock_link.budget = -1;
	zassert_equal(ppg_txq_drain(&mock_txq), 6);
	ppg_txq_confirm(&mock_txq, 6U);
	zassert_equal(ppg_txq_depth(&mock_txq), 0U);
	zassert_equal(mock_link.n_sent, 9U);
	for (size_t i = 3; i < mock_link.n_sent; i++) {
		struct ppg_packet p = sent_packet(i);

		zassert_equal(p.seq, i - 2U, "resend %zu out of order", i);
		zassert_equal(p.flags, PPG_PKT_FLAG_BACKLOG);
	}
	make_packet(pkt, seq);
	zassert_equal(ppg_txq_submit(&mock_txq, pkt), PPG_TXQ_SENT);
	zassert_equal(sent_packet(9).flags, 0U, "live again");
	zassert_equal(mock_txq.sent, 7U);
	zassert_equal(mock_txq.requeued, 2U);
}

ZTEST(app_faults, test_overflow_over_in_flight_packets)
{
	uint8_t pkt[PPG_PKT_LEN];
	uint16_t seq;

	mock_transport_reset();
	mock_link.in_flight = true;
	/* The whole ring in flight, then one more live packet: the oldest in-flight one is
	 * overwritten; its confirmation must not remove another packet.
	 */
	for (seq = 0; seq < MOCK_RING_CAP; seq++) {
		make_packet(pkt, seq);
		zassert_equal(ppg_txq_submit(&mock_txq, pkt), PPG_TXQ_SENT);
	}
	make_packet(pkt, seq++);
	zassert_equal(ppg_txq_submit(&mock_txq, pkt), PPG_TXQ_QUEUED_DROPPED);
	zassert_equal(ppg_txq_in_flight(&mock_txq), MOCK_RING_CAP);
	zassert_equal(mock_txq.orphans, 1U);
	ppg_txq_confirm(&mock_txq, 1U);
	zassert_equal(ppg_txq_depth(&mock_txq), MOCK_RING_CAP, "the orphan's confirmation pops nothing");
	ppg_txq_confirm(&mock_txq, MOCK_RING_CAP);
	zassert_equal(ppg_txq_depth(&mock_txq), 0U);
	zassert_equal(mock_txq.sent, MOCK_RING_CAP + 1U);
}

ZTEST_SUITE(app_faults, NULL, NULL, NULL, NULL, NULL);
