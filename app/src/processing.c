/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Processing thread: takes preprocessed windows from the job queue, runs the encoder, frames the
 * codes as a live packet (the active model's tag, sequence number: docs/protocol.md) and submits it
 * to the transport. The model store's jobs (a new model's checks and switch, the boot self-test) run
 * here too, between two windows. At the end of a replay (APP_JOB_END) it flushes the transport and, with
 * CONFIG_APP_EXIT_AT_REPLAY_END, exits native_sim.
 */

#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/logging/log_ctrl.h>

#include <ppgcomp/packet.h>
#include <ppg_encoder_model.h>
#if defined(CONFIG_PPGCOMP_MODEL_STORE)
#include <ppgcomp/model_store.h>
#include <ppgcomp/model_store_exec.h>
#endif

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
	rc = ppg_packet_encode(pkt, j->flags & (uint8_t)~PPG_PKT_FLAG_BACKLOG, app_encoder_model_tag(),
			       (uint16_t)(j->seq & 0xFFFFU), codes);
	if (rc < 0) {
		app_stats_inc(APP_STAT_LOST_WINDOWS);
		LOG_ERR("framing failed (%d)", rc);
		return;
	}
	app_transport_submit(pkt);
	app_transport_stats_changed();
}

#if defined(CONFIG_PPGCOMP_MODEL_STORE)
/*
 * The model store's executor: its jobs (check a new model, switch to it, the boot self-test) use the
 * encoder's single interpreter, so they run here, between two windows (a wake-up job in the window
 * queue), while the caller waits (CONFIG_PPG_MODEL_STORE_EXEC_TIMEOUT_MS). No window is lost: they
 * queue meanwhile.
 */
static ppg_model_store_job_fn store_job;
static void *store_job_arg;
static atomic_t store_job_pending; /* set from the request until the job has run */
static K_SEM_DEFINE(store_job_done, 0, 1);

static int run_in_processing(ppg_model_store_job_fn job, void *arg)
{
	if (k_current_get() == &processing_thread_data) {
		job(arg);
		return 0;
	}
	if (!atomic_cas(&store_job_pending, 0, 1)) {
		return -EAGAIN; /* another job (or one that timed out) has not run yet */
	}
	k_sem_reset(&store_job_done);
	store_job = job;
	store_job_arg = arg;
	if (app_job_queue_wake() != 0) {
		atomic_clear(&store_job_pending);
		return -EAGAIN;
	}
	if (k_sem_take(&store_job_done, K_MSEC(CONFIG_PPG_MODEL_STORE_EXEC_TIMEOUT_MS)) != 0) {
		LOG_WRN("model store job still queued after %d ms", CONFIG_PPG_MODEL_STORE_EXEC_TIMEOUT_MS);
		return -EAGAIN;
	}
	return 0;
}

static void run_store_job(void)
{
	if (atomic_get(&store_job_pending) != 0 && store_job != NULL) {
		store_job(store_job_arg);
	}
	atomic_clear(&store_job_pending);
	k_sem_give(&store_job_done);
}
#endif

static void processing_thread(void *p1, void *p2, void *p3)
{
	ARG_UNUSED(p1);
	ARG_UNUSED(p2);
	ARG_UNUSED(p3);

#if defined(CONFIG_PPGCOMP_MODEL_STORE)
	/* The active model: the committed blob that passes every check again, else the built-in one. */
	if (ppg_model_store_init() != 0) {
		app_stats_inc(APP_STAT_ENCODER_ERRORS);
	}
	ppg_model_store_set_executor(run_in_processing);
#endif
	(void)app_encoder_init();

	for (;;) {
		struct app_window_job *job = app_job_queue_next();

		if (job == NULL) {
			/* A wake-up: the model store's job, between two windows. */
#if defined(CONFIG_PPGCOMP_MODEL_STORE)
			run_store_job();
#endif
			app_job_queue_done();
			continue;
		}
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
