/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* Packet framing: model tag and sequence number (docs/protocol.md). */

#ifndef APP_FRAMING_H_
#define APP_FRAMING_H_

#include <stdint.h>

#include "packet/packet.h"

/**
 * @brief Frame one window's codes as a live packet (BACKLOG clear).
 *
 * @param pkt Destination.
 * @param window_seq The window's sequence number (its low 16 bits are sent).
 * @param flags PPG_PKT_FLAG_GAP / _SATURATED / _FLAT.
 * @param codes PPG_PKT_CODE_LEN codes.
 *
 * @return PPG_PKT_LEN, or a negative errno.
 */
int framing_build(uint8_t pkt[PPG_PKT_LEN], uint32_t window_seq, uint8_t flags,
		  const int8_t codes[PPG_PKT_CODE_LEN]);

#endif /* APP_FRAMING_H_ */
