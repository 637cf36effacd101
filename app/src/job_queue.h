/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* 25 Hz window and encoder hop: hands preprocessed windows to the processing thread. */

#ifndef APP_JOB_QUEUE_H_
#define APP_JOB_QUEUE_H_

#include <stdint.h>

#include <zephyr/kernel.h>

#include <ppg_encoder_model.h>

enum app_job_kind {
	/** A preprocessed window to encode. */
	APP_JOB_WINDOW,
	/** The sensor stream ended (end of a replay file, or the sensor could not start). */
	APP_JOB_END,
};

struct app_window_job {
	/** Encoder input, the window preprocessed to int8. */
	int8_t q[PPG_MODEL_WINDOW_LEN];
	/** Window sequence number (wraps into the packet's u16). */
	uint32_t seq;
	/** PPG_PKT_FLAG_GAP / _SATURATED / _FLAT. */
	uint8_t flags;
	/** enum app_job_kind. */
	uint8_t kind;
	/** APP_JOB_END: 0 for a normal end, a negative errno when the sensor failed. */
	int16_t status;
};

/**
 * @brief Next job for the processing thread (blocks until one is queued).
 *
 * Jobs live in CONFIG_APP_ENCODE_QUEUE_DEPTH static slots and are processed in place; call
 * app_job_queue_done() when finished with it.
 *
 * @return The job, or NULL for a wake-up (app_job_queue_wake(): no window; app_job_queue_done()
 *         after it too).
 */
struct app_window_job *app_job_queue_next(void);

/** Give the slot of the job returned by app_job_queue_next() back. */
void app_job_queue_done(void);

void app_job_queue_init(void);

/** Add one 25 Hz sample with its PPG_WIN_MARK_* bits; queues a job when the hop is due. */
void app_job_queue_push(int32_t sample, uint8_t marks);

/** Queue the end marker (waits for room: it is never dropped). */
void app_job_queue_finish(int status);

/**
 * @brief Wake the processing thread between two windows: app_job_queue_next() returns NULL
 *        after the windows queued before it.
 *
 * At most one wake-up may be outstanding (the caller serialises them); windows are never held back
 * by it (the queue has room for it besides one entry per slot).
 *
 * @retval 0 queued; -EBUSY one is already queued.
 */
int app_job_queue_wake(void);

#endif /* APP_JOB_QUEUE_H_ */
