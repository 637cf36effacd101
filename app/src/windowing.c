/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* Window + hop (runs in the sampling thread, which owns the window). */

#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>

#include "preprocessing.h"
#include "stats.h"
#include "window/window_cfg.h"
#include "windowing.h"

LOG_MODULE_REGISTER(app_windowing, CONFIG_APP_LOG_LEVEL);

BUILD_ASSERT(CONFIG_APP_ENCODE_HOP_SAMPLES <= PPG_MODEL_WINDOW_LEN,
	     "APP_ENCODE_HOP_SAMPLES must not exceed the model window");

K_MSGQ_DEFINE(app_job_q, sizeof(struct app_window_job), CONFIG_APP_ENCODE_QUEUE_DEPTH, 4);

PPG_WINDOW_DEFINE(app_win);
static int32_t win_copy[PPG_WINDOW_LEN];
static struct app_window_job job;
static uint32_t next_seq;

void windowing_init(void)
{
	(void)PPG_WINDOW_INIT(app_win);
	next_seq = 0U;
}

void windowing_push(int32_t sample, uint8_t marks)
{
	uint8_t win_marks = 0U;
	int rc;

	ppg_window_push(&app_win, sample, marks);
	if (!ppg_window_hop_due(&app_win, CONFIG_APP_ENCODE_HOP_SAMPLES)) {
		return;
	}

	rc = ppg_window_copy_out(&app_win, win_copy, ARRAY_SIZE(win_copy), &win_marks);
	if (rc < 0) {
		LOG_ERR("window copy failed (%d)", rc);
		return;
	}
	app_stats_inc(APP_STAT_WINDOWS);

	job.kind = APP_JOB_WINDOW;
	job.status = 0;
	job.seq = next_seq++;
	job.flags = app_preprocess_window(win_copy, ARRAY_SIZE(win_copy), win_marks, job.q);

	if (k_msgq_put(&app_job_q, &job, K_NO_WAIT) != 0) {
		/* The encoder is behind by a whole queue: the window is lost (a sequence gap). */
		app_stats_inc(APP_STAT_LOST_WINDOWS);
		LOG_WRN("encoder busy: window %u dropped", job.seq);
	}
}

void windowing_finish(int status)
{
	job.kind = APP_JOB_END;
	job.status = (int16_t)status;
	job.flags = 0U;
	job.seq = next_seq;
	(void)k_msgq_put(&app_job_q, &job, K_FOREVER);
}
