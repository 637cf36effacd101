/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* Run counters (job: bookkeeping only; every fault path increments one of these). */

#include <stdio.h>

#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/sys/atomic.h>

#include "stats.h"
#include "transport/transport.h"

LOG_MODULE_REGISTER(app_stats, CONFIG_APP_LOG_LEVEL);

static atomic_t counters[APP_STAT_COUNT];
static atomic_t inference_us;

void app_stats_inc(enum app_stat s)
{
	if ((unsigned int)s < APP_STAT_COUNT) {
		atomic_inc(&counters[s]);
	}
}

uint32_t app_stats_get(enum app_stat s)
{
	return ((unsigned int)s < APP_STAT_COUNT) ? (uint32_t)atomic_get(&counters[s]) : 0U;
}

void app_stats_set_inference_us(uint32_t us)
{
	atomic_set(&inference_us, (atomic_val_t)us);
}

void app_stats_snapshot(struct ppg_stats *out)
{
	struct app_transport_counters tc;

	app_transport_get_counters(&tc);
	out->windows = app_stats_get(APP_STAT_WINDOWS);
	out->sent = tc.sent;
	out->dropped = tc.dropped + app_stats_get(APP_STAT_LOST_WINDOWS);
	out->backlog_depth = tc.backlog_depth;
	out->sensor_errors = app_stats_get(APP_STAT_SENSOR_ERRORS);
	out->last_inference_us = (uint32_t)atomic_get(&inference_us);
	out->quality_faults = app_stats_get(APP_STAT_QUALITY_FAULTS);
}

int app_stats_format(char *buf, size_t len)
{
	struct ppg_stats st;

	app_stats_snapshot(&st);
	return snprintf(buf, len,
			"stats windows=%u sent=%u dropped=%u backlog=%u sensor_errors=%u "
			"inference_us=%u quality_faults=%u encoder_errors=%u tx_busy=%u "
			"disconnects=%u models_refused=%u",
			st.windows, st.sent, st.dropped, st.backlog_depth, st.sensor_errors,
			st.last_inference_us, st.quality_faults,
			app_stats_get(APP_STAT_ENCODER_ERRORS), app_stats_get(APP_STAT_TX_BUSY),
			app_stats_get(APP_STAT_DISCONNECTS), app_stats_get(APP_STAT_MODELS_REFUSED));
}
