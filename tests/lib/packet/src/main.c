/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The code packet (lib/packet, docs/protocol.md) with the golden codes
 * (tests/golden/ppg_golden_vectors.h): encode, decode, BACKLOG flag, hex, and the rejects.
 */

#include <errno.h>
#include <string.h>

#include <zephyr/ztest.h>

#include <ppgcomp/packet.h>
#include <ppg_encoder_model.h>

#include "ppg_golden_model_vectors.h"

BUILD_ASSERT(GOLDEN_CODE_LEN == PPG_PKT_CODE_LEN, "golden code length differs from protocol");

ZTEST(lib_packet, test_packet_golden_codes)
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

ZTEST(lib_packet, test_packet_rejects)
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

ZTEST_SUITE(lib_packet, NULL, NULL, NULL, NULL, NULL);
