/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Packet transport: BLE GATT notifications (transport_ble.c) or hex lines on native_sim
 * (transport_hexout.c). Both send through the backlog policy of tx_queue.h.
 */

#ifndef APP_TRANSPORT_H_
#define APP_TRANSPORT_H_

#include <stdint.h>

#include <ppgcomp/packet.h>

struct app_transport_counters {
	uint32_t sent;
	uint32_t dropped;
	uint32_t backlog_depth;
};

int app_transport_init(void);

/** Submit one live packet (from the processing thread). Never blocks for long, never loses it
 *  except by backlog overflow. */
void app_transport_submit(const uint8_t pkt[PPG_PKT_LEN]);

/** A window was processed: the stats changed (BLE: notify the stats characteristic). */
void app_transport_stats_changed(void);

/** Send what can be sent now (end of a replay). */
void app_transport_flush(void);

/** A `#` comment line in the native_sim output (no-op on BLE). */
void app_transport_comment(const char *text);

/** Close the output (native_sim, before exit). */
void app_transport_close(void);

void app_transport_get_counters(struct app_transport_counters *c);

#endif /* APP_TRANSPORT_H_ */
