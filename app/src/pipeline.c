/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Processing thread: takes preprocessed windows from the windowing job slots, runs the encoder, frames the
 * codes and submits the packet to the transport. At the end of a replay (APP_JOB_END) it flushes
 * the transport and, with CONFIG_APP_EXIT_AT_REPLAY_END, exits native_sim.
 */

#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/logging/log_ctrl.h>

#include "encoder.h"
#include "framing.h"
#include "pipeline.h"
#include "stats.h"
#include "transport/transport.h"
#include "windowing.h"

#if defined(CONFIG_APP_EXIT_AT_REPLAY_END)
#include <posix_board_if.h>
#endif

LOG_MODULE_REGISTER(app_pipeline, CONFIG_APP_LOG_LEVEL);

K_THREAD_STACK_DEFINE(pipeline_stack, CONFIG_APP_PROCESSING_STACK_SIZE);
static struct k_thread pipeline_thread_data;

static int8_t codes[PPG_PKT_CODE_LEN];
static uint8_t pkt[PPG_PKT_LEN];

static void finish(int status)
{
	char line[192];

	transport_flush();
	(void)app_stats_format(line, sizeof(line));
	transport_comment(line);
	LOG_INF("%s", line);
	if (status != 0) {
		LOG_ERR("sensor stream failed (%d)", status);
	}
#if defined(CONFIG_APP_EXIT_AT_REPLAY_END)
	transport_close();
	LOG_PANIC();
	posix_exit(status == 0 ? 0 : 2);
#endif
}

static void process_window(const struct app_window_job *j)
{
	int rc = encoder_run(j->q, codes);

	if (rc != 0) {
		/* No codes for this window: its sequence number is skipped, the receiver sees a gap. */
		app_stats_inc(APP_STAT_LOST_WINDOWS);
		LOG_WRN("window %u not encoded (%d)", j->seq, rc);
		return;
	}
	rc = framing_build(pkt, j->seq, j->flags, codes);
	if (rc < 0) {
		app_stats_inc(APP_STAT_LOST_WINDOWS);
		LOG_ERR("framing failed (%d)", rc);
		return;
	}
	transport_submit(pkt);
	transport_stats_changed();
}

static void pipeline_thread(void *p1, void *p2, void *p3)
{
	ARG_UNUSED(p1);
	ARG_UNUSED(p2);
	ARG_UNUSED(p3);

	(void)encoder_init();

	for (;;) {
		struct app_window_job *job = windowing_next_job();

		if (job->kind == APP_JOB_END) {
			int status = job->status;

			windowing_job_done();
			finish(status);
			continue;
		}
		process_window(job);
		windowing_job_done();
	}
}

int pipeline_start(void)
{
	k_thread_create(&pipeline_thread_data, pipeline_stack,
			K_THREAD_STACK_SIZEOF(pipeline_stack), pipeline_thread, NULL, NULL, NULL,
			CONFIG_APP_PROCESSING_PRIORITY, 0, K_NO_WAIT);
	k_thread_name_set(&pipeline_thread_data, "processing");
	return 0;
}
