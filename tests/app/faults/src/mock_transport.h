/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Mock transport for the fault tests: implements transport.h over lib/tx_queue with a
 * mock link whose send result the test sets (up, down, or "no TX buffer" after N packets), and
 * records what was sent.
 */

#ifndef MOCK_TRANSPORT_H_
#define MOCK_TRANSPORT_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ppgcomp/packet.h>
#include <ppgcomp/tx_queue.h>

#define MOCK_RING_CAP 8U
#define MOCK_MAX_SENT 64U

struct mock_link {
	/** Error returned by every send when not 0 (e.g. -ENOTCONN). */
	int fail_with;
	/** Sends accepted before the link starts failing with -ENOMEM (negative: unlimited). */
	int budget;
	/** Accepted sends return PPG_TXQ_IN_FLIGHT (delivery confirmed later, as on BLE). */
	bool in_flight;
	/** Packets accepted, in order. */
	uint8_t sent[MOCK_MAX_SENT][PPG_PKT_LEN];
	size_t n_sent;
};

extern struct mock_link mock_link;
extern struct ppg_txq mock_txq;

/** Reset the mock link (up, unlimited) and an empty ring of MOCK_RING_CAP packets. */
void mock_transport_reset(void);

#endif /* MOCK_TRANSPORT_H_ */
