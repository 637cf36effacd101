/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Job queue between the sampling and processing threads: window + hop (runs in the sampling
 * thread, which owns the window), preprocessing and quality flags of each due window, and the
 * job slots the processing thread takes them from.
 */

#include <errno.h>

#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>

#include <ppgcomp/window_cfg.h>

#include "job_queue.h"
#include "quality.h"
#include "stats.h"

LOG_MODULE_REGISTER(app_job_queue, CONFIG_APP_LOG_LEVEL);

BUILD_ASSERT(CONFIG_APP_ENCODE_HOP_SAMPLES <= PPG_MODEL_WINDOW_LEN,
	     "APP_ENCODE_HOP_SAMPLES must not exceed the model window");

/* Job slots, filled by the sampling thread and processed in place, in order, by the processing
 * thread: free_slots counts the empty ones, ready_q carries the indices of the filled ones.
 */
static struct app_window_job slots[CONFIG_APP_ENCODE_QUEUE_DEPTH];
static K_SEM_DEFINE(free_slots, CONFIG_APP_ENCODE_QUEUE_DEPTH, CONFIG_APP_ENCODE_QUEUE_DEPTH);
/* One index per slot, and one more for the wake-up of app_job_queue_wake(). */
K_MSGQ_DEFINE(ready_q, sizeof(uint8_t), CONFIG_APP_ENCODE_QUEUE_DEPTH + 1, 1);
#define WAKE_IDX 0xFFU
BUILD_ASSERT(CONFIG_APP_ENCODE_QUEUE_DEPTH < WAKE_IDX, "slot indices must differ from WAKE_IDX");
static atomic_t wake_queued;
static bool serving_wake;
static uint8_t write_idx;

PPG_WINDOW_DEFINE(app_win);
static int32_t win_copy[PPG_WINDOW_LEN];
static uint32_t next_seq;

static void queue_slot(void)
{
	(void)k_msgq_put(&ready_q, &write_idx, K_NO_WAIT); /* never full: one index per slot */
	write_idx = (uint8_t)((write_idx + 1U) % CONFIG_APP_ENCODE_QUEUE_DEPTH);
}

struct app_window_job *app_job_queue_next(void)
{
	uint8_t idx;

	(void)k_msgq_get(&ready_q, &idx, K_FOREVER);
	if (idx == WAKE_IDX) {
		serving_wake = true;
		return NULL;
	}
	return &slots[idx];
}

void app_job_queue_done(void)
{
	if (serving_wake) {
		/* Not a slot. */
		serving_wake = false;
		atomic_clear(&wake_queued);
		return;
	}
	k_sem_give(&free_slots);
}

int app_job_queue_wake(void)
{
	uint8_t idx = WAKE_IDX;

	if (!atomic_cas(&wake_queued, 0, 1)) {
		return -EBUSY;
	}
	(void)k_msgq_put(&ready_q, &idx, K_NO_WAIT); /* never full: the extra entry is its own */
	return 0;
}

void app_job_queue_init(void)
{
	(void)PPG_WINDOW_INIT(app_win);
	next_seq = 0U;
}

void app_job_queue_push(int32_t sample, uint8_t marks)
{
	struct app_window_job *job;
	uint8_t win_marks = 0U;
	uint32_t seq;
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
	seq = next_seq++;

	if (k_sem_take(&free_slots, K_NO_WAIT) != 0) {
		/* The encoder is behind by a whole queue: the window is lost (a sequence gap). */
		app_stats_inc(APP_STAT_LOST_WINDOWS);
		LOG_WRN("encoder busy: window %u dropped", seq);
		return;
	}
	job = &slots[write_idx];
	job->kind = APP_JOB_WINDOW;
	job->status = 0;
	job->seq = seq;
	job->flags = app_quality_preprocess(win_copy, ARRAY_SIZE(win_copy), win_marks, job->q);
	queue_slot();
}

void app_job_queue_finish(int status)
{
	struct app_window_job *job;

	(void)k_sem_take(&free_slots, K_FOREVER); /* the end marker is never dropped */
	job = &slots[write_idx];
	job->kind = APP_JOB_END;
	job->status = (int16_t)status;
	job->flags = 0U;
	job->seq = next_seq;
	queue_slot();
}
