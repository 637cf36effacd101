/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Decimation, windowing, preprocessing and packet framing of the app against the golden vectors
 * of the exporter (tests/golden/ppg_golden_vectors.h): golden_raw -> decimate ==
 * golden_decimated; windows at GOLDEN_HOP -> preprocess == golden_window_q; packets round-trip.
 */

#include <string.h>

#include <zephyr/ztest.h>

#include "dsp/decimate.h"
#include "dsp/preprocess.h"
#include "model/ppg_encoder_model.h"
#include "packet/packet.h"
#include "ppg_golden_vectors.h"
#include "window/window_cfg.h"

/* Detrend half-length of the golden vectors (the model's unless the golden header says). */
#if defined(GOLDEN_DETREND_HALF)
#define DETREND_HALF GOLDEN_DETREND_HALF
#elif defined(PPG_MODEL_DETREND_HALF)
#define DETREND_HALF PPG_MODEL_DETREND_HALF
#else
#error "no detrend half-length: regenerate the model header and golden vectors"
#endif

BUILD_ASSERT(GOLDEN_WINDOW_LEN == PPG_MODEL_WINDOW_LEN, "golden window differs from the model");
BUILD_ASSERT(GOLDEN_CODE_LEN == PPG_PKT_CODE_LEN, "golden code length differs from protocol");

static int32_t decimated[GOLDEN_DECIMATED_LEN];
static int32_t win_copy[GOLDEN_WINDOW_LEN];
static int8_t q[GOLDEN_WINDOW_LEN];
static struct ppg_decim decim;
PPG_WINDOW_DEFINE(win);

ZTEST(app_dsp, test_golden_matches_model)
{
	zassert_equal(GOLDEN_MODEL_TAG, PPG_MODEL_TAG, "golden vectors are from another model");
	zassert_equal(GOLDEN_DECIMATED_LEN,
		      GOLDEN_RAW_LEN / (GOLDEN_SENSOR_RATE_HZ / PPG_MODEL_SAMPLE_RATE_HZ));
}

ZTEST(app_dsp, test_decimate_streaming)
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

ZTEST(app_dsp, test_decimate_blocks)
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

ZTEST(app_dsp, test_decimate_bad_rate)
{
	zassert_equal(ppg_decim_factor(110, PPG_MODEL_SAMPLE_RATE_HZ), -EINVAL);
	zassert_equal(ppg_decim_factor(0, PPG_MODEL_SAMPLE_RATE_HZ), -EINVAL);
}

ZTEST(app_dsp, test_preprocess_golden_windows)
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

ZTEST(app_dsp, test_preprocess_flat)
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

ZTEST(app_dsp, test_window_hop_golden)
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
		ppg_preprocess(win_copy, GOLDEN_WINDOW_LEN, DETREND_HALF, q, NULL);
		zassert_mem_equal(q, golden_window_q[k], GOLDEN_WINDOW_LEN, "window %zu", k);
		k++;
	}
	zassert_equal(k, GOLDEN_WINDOWS);
}

ZTEST(app_dsp, test_window_marks)
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

ZTEST(app_dsp, test_packet_golden_codes)
{
	for (size_t k = 0; k < GOLDEN_WINDOWS; k++) {
		uint8_t pkt[PPG_PKT_LEN];
		char hex[PPG_PKT_HEX_LEN + 1];
		struct ppg_packet p;
		uint8_t flags = (uint8_t)((k * 3U) & (PPG_PKT_FLAG_GAP | PPG_PKT_FLAG_FLAT |
						     PPG_PKT_FLAG_LOWRES));

		zassert_equal(ppg_packet_encode(pkt, flags, PPG_MODEL_TAG, (uint16_t)(65534U + k),
						golden_codes[k]),
			      (int)PPG_PKT_LEN);
		zassert_equal(pkt[0] >> PPG_PKT_VERSION_SHIFT, PPG_PKT_VERSION);
		zassert_equal(pkt[1], PPG_MODEL_TAG);
		zassert_ok(ppg_packet_decode(pkt, sizeof(pkt), PPG_MODEL_TAG, &p));
		zassert_equal(p.version, PPG_PKT_VERSION);
		zassert_equal(p.seq, (uint16_t)(65534U + k), "seq wraps as a u16");
		zassert_equal(p.flags, flags);
		zassert_mem_equal(p.codes, golden_codes[k], PPG_PKT_CODE_LEN);

		ppg_packet_set_flags(pkt, PPG_PKT_FLAG_BACKLOG);
		zassert_ok(ppg_packet_decode(pkt, sizeof(pkt), -1, &p));
		zassert_equal(p.flags, flags | PPG_PKT_FLAG_BACKLOG);

		zassert_equal(ppg_packet_to_hex(pkt, hex, sizeof(hex)), (int)PPG_PKT_HEX_LEN);
		zassert_equal(strlen(hex), PPG_PKT_HEX_LEN);
	}
}

ZTEST(app_dsp, test_packet_rejects)
{
	uint8_t pkt[PPG_PKT_LEN];
	struct ppg_packet p;

	zassert_equal(ppg_packet_encode(pkt, 0x20, PPG_MODEL_TAG, 0, golden_codes[0]), -EINVAL);
	zassert_equal(ppg_packet_encode(pkt, 0, PPG_MODEL_TAG, 0, golden_codes[0]),
		      (int)PPG_PKT_LEN);
	zassert_equal(ppg_packet_decode(pkt, PPG_PKT_LEN - 1, -1, &p), -EMSGSIZE);
	zassert_equal(ppg_packet_decode(pkt, PPG_PKT_LEN, (PPG_MODEL_TAG + 1) & 0xFF, &p),
		      -EBADMSG);
	pkt[0] = 0x20; /* version 1 bits with bit 5 set: neither version */
	zassert_equal(ppg_packet_decode(pkt, PPG_PKT_LEN, -1, &p), -EPROTONOSUPPORT);
	pkt[0] = 0x60; /* version 3 */
	zassert_equal(ppg_packet_decode(pkt, PPG_PKT_LEN, -1, &p), -EPROTONOSUPPORT);
	pkt[0] = 0x1B; /* version 1, BACKLOG | GAP | FLAT: still decoded */
	zassert_ok(ppg_packet_decode(pkt, PPG_PKT_LEN, -1, &p));
	zassert_equal(p.version, PPG_PKT_VERSION_1);
	zassert_equal(p.flags, PPG_PKT_FLAG_BACKLOG | PPG_PKT_FLAG_GAP | PPG_PKT_FLAG_FLAT);
}

ZTEST_SUITE(app_dsp, NULL, NULL, NULL, NULL, NULL);
