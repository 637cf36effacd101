/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Wiring only: sensor -> sampling thread (conditioning, decimation) -> job queue (window, hop,
 * preprocessing, quality flags) -> processing thread (encoder, packet framing) -> transport (BLE on
 * hardware, hex lines on native_sim).
 */

#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>

#include <ppg_encoder_model.h>

#include "job_queue.h"
#include "processing.h"
#include "sampling.h"
#include "transport/transport.h"

LOG_MODULE_REGISTER(app_main, CONFIG_APP_LOG_LEVEL);

int main(void)
{
	int rc;

	LOG_INF("ppgcomp: model %.16s..., tag 0x%02x, window %d @ %d Hz, hop %d",
		PPG_MODEL_SHA256_HEX, (unsigned int)PPG_MODEL_TAG, PPG_MODEL_WINDOW_LEN,
		PPG_MODEL_SAMPLE_RATE_HZ, CONFIG_APP_ENCODE_HOP_SAMPLES);

	rc = app_transport_init();
	if (rc != 0) {
		/* Packets still go to the backlog; the transport retries on its own. */
		LOG_ERR("transport init failed (%d)", rc);
	}
	app_job_queue_init();
	(void)app_processing_start();
	(void)app_sampling_start();
	return 0;
}
