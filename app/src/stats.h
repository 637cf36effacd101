/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* Run counters of the app (the stats record of docs/protocol.md plus fault counters). */

#ifndef APP_STATS_H_
#define APP_STATS_H_

#include <stdint.h>

#include <ppgcomp/packet.h>

enum app_stat {
	/** Windows produced by the job queue (encoder runs due). */
	APP_STAT_WINDOWS,
	/** Windows lost before the transport (encoder failure, encoder queue full). */
	APP_STAT_LOST_WINDOWS,
	/** Failed sensor reads (each one filled in, GAP flag). */
	APP_STAT_SENSOR_ERRORS,
	/** Windows flagged FLAT, SATURATED or GAP. */
	APP_STAT_QUALITY_FAULTS,
	/** Encoder init or run failures (e.g. -ENOMEM from the arena). */
	APP_STAT_ENCODER_ERRORS,
	/** Sends refused for lack of a TX buffer (-ENOMEM / -EAGAIN). */
	APP_STAT_TX_BUSY,
	/** BLE disconnections. */
	APP_STAT_DISCONNECTS,
	/** Model blob uploads refused (SMP group "ppg model"; the old model kept running). */
	APP_STAT_MODELS_REFUSED,
	APP_STAT_COUNT,
};

void app_stats_inc(enum app_stat s);
uint32_t app_stats_get(enum app_stat s);
void app_stats_set_inference_us(uint32_t us);

/** The 7-field stats record: local counters merged with the transport's sent/dropped/depth. */
void app_stats_snapshot(struct ppg_stats *out);

/** One-line summary, e.g. for a `#` comment of the native_sim output. */
int app_stats_format(char *buf, size_t len);

#endif /* APP_STATS_H_ */
