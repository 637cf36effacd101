/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Processing thread: takes preprocessed windows from the job queue, runs the encoder, frames the
 * codes as a live packet (model tag, sequence number: docs/protocol.md) and submits it to the
 * transport. At the end of a replay (APP_JOB_END) it flushes the transport and, with
 * CONFIG_APP_EXIT_AT_REPLAY_END, exits native_sim.
 */

#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/logging/log_ctrl.h>

#include <ppgcomp/packet.h>
#include <ppg_encoder_model.h>

#include "encoder.h"
#include "job_queue.h"
#include "processing.h"
#include "stats.h"
#include "transport/transport.h"

#if defined(CONFIG_APP_EXIT_AT_REPLAY_END)
#include <posix_board_if.h>
#endif

LOG_MODULE_REGISTER(app_processing, CONFIG_APP_LOG_LEVEL);

BUILD_ASSERT(PPG_MODEL_CODE_LEN == PPG_PKT_CODE_LEN, "model code length differs from protocol");

K_THREAD_STACK_DEFINE(processing_stack, CONFIG_APP_PROCESSING_STACK_SIZE);
static struct k_thread processing_thread_data;

static int8_t codes[PPG_PKT_CODE_LEN];
static uint8_t pkt[PPG_PKT_LEN];

static void finish(int status)
{
	char line[192];

	app_transport_flush();
	(void)app_stats_format(line, sizeof(line));
	app_transport_comment(line);
	LOG_INF("%s", line);
	if (status != 0) {
		LOG_ERR("sensor stream failed (%d)", status);
	}
#if defined(CONFIG_APP_EXIT_AT_REPLAY_END)
	app_transport_close();
	LOG_PANIC();
	posix_exit(status == 0 ? 0 : 2);
#endif
}

static void process_window(const struct app_window_job *j)
{
	int rc = app_encoder_run(j->q, codes);

	if (rc != 0) {
		/* No codes for this window: its sequence number is skipped, the receiver sees a gap. */
		app_stats_inc(APP_STAT_LOST_WINDOWS);
		LOG_WRN("window %u not encoded (%d)", j->seq, rc);
		return;
	}
	/* A live packet: BACKLOG clear; the low 16 bits of the window's sequence number. */
	rc = ppg_packet_encode(pkt, j->flags & (uint8_t)~PPG_PKT_FLAG_BACKLOG, PPG_MODEL_TAG,
			       (uint16_t)(j->seq & 0xFFFFU), codes);
	if (rc < 0) {
		app_stats_inc(APP_STAT_LOST_WINDOWS);
		LOG_ERR("framing failed (%d)", rc);
		return;
	}
	app_transport_submit(pkt);
	app_transport_stats_changed();
}

static void processing_thread(void *p1, void *p2, void *p3)
{
	ARG_UNUSED(p1);
	ARG_UNUSED(p2);
	ARG_UNUSED(p3);

	(void)app_encoder_init();

	for (;;) {
		struct app_window_job *job = app_job_queue_next();

		if (job->kind == APP_JOB_END) {
			int status = job->status;

			app_job_queue_done();
			finish(status);
			continue;
		}
		process_window(job);
		app_job_queue_done();
	}
}

int app_processing_start(void)
{
	k_thread_create(&processing_thread_data, processing_stack,
			K_THREAD_STACK_SIZEOF(processing_stack), processing_thread, NULL, NULL, NULL,
			CONFIG_APP_PROCESSING_PRIORITY, 0, K_NO_WAIT);
	k_thread_name_set(&processing_thread_data, "processing");
	return 0;
}
