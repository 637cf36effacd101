/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Mock transport for the fault tests: implements transport.h over lib/tx_queue with a
 * mock link that is up or down as the test sets it.
 */

#ifndef MOCK_TRANSPORT_H_
#define MOCK_TRANSPORT_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ppgcomp/packet.h>
#include <ppgcomp/tx_queue.h>

#define MOCK_RING_CAP 8U

struct mock_link {
	/** Error returned by every send when not 0 (e.g. -ENOTCONN); 0: delivered. */
	int fail_with;
};

extern struct mock_link mock_link;
extern struct ppg_txq mock_txq;

/** Reset the mock link (up) and an empty ring of MOCK_RING_CAP packets. */
void mock_transport_reset(void);

#endif /* MOCK_TRANSPORT_H_ */
