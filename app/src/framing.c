/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <zephyr/toolchain.h>

#include "framing.h"
#include "model/ppg_encoder_model.h"

BUILD_ASSERT(PPG_MODEL_CODE_LEN == PPG_PKT_CODE_LEN, "model code length differs from protocol");

int framing_build(uint8_t pkt[PPG_PKT_LEN], uint32_t window_seq, uint8_t flags,
		  const int8_t codes[PPG_PKT_CODE_LEN])
{
	return ppg_packet_encode(pkt, flags & (uint8_t)~PPG_PKT_FLAG_BACKLOG, PPG_MODEL_TAG,
				 (uint16_t)(window_seq & 0xFFFFU), codes);
}
