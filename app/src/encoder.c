/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Encoder: tflm_encoder_* over the active model (the model store's, else the generated one). Runs in
 * the processing thread only; the model store switches the model there too, between two windows.
 * An init failure (e.g. -ENOMEM: tensor arena too small) is logged and counted, and the init is
 * retried with an exponential backoff (CONFIG_APP_ENCODER_RETRY_MIN_MS..MAX_MS) at the next
 * window due after the delay; windows met meanwhile are counted as lost.
 */

#include <errno.h>

#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/sys/util.h>

#include <tflm_encoder.h>

#include <ppg_encoder_model.h>
#if defined(CONFIG_PPGCOMP_MODEL_STORE)
#include <ppgcomp/model_store.h>
#endif

#include "encoder.h"
#include "stats.h"

LOG_MODULE_REGISTER(app_encoder, CONFIG_APP_LOG_LEVEL);

static bool ready;
static int64_t next_try_ms;
static uint32_t backoff_ms = CONFIG_APP_ENCODER_RETRY_MIN_MS;

uint8_t app_encoder_model_tag(void)
{
#if defined(CONFIG_PPGCOMP_MODEL_STORE)
	return ppg_model_store_active()->tag;
#else
	return PPG_MODEL_TAG;
#endif
}

static int try_init(void)
{
#if defined(CONFIG_PPGCOMP_MODEL_STORE)
	/* The model store's active model (a checked blob in flash, or the built-in one). */
	const struct ppg_model_active *m = ppg_model_store_active();
	int rc = tflm_encoder_init(m->tflite, m->tflite_len);
#else
	int rc = tflm_encoder_init(ppg_encoder_model_data, PPG_MODEL_DATA_LEN);
#endif

	if (rc == 0) {
		ready = true;
		backoff_ms = CONFIG_APP_ENCODER_RETRY_MIN_MS;
		LOG_INF("encoder ready: model tag 0x%02x, arena %u of %u bytes",
			(unsigned int)app_encoder_model_tag(), (unsigned int)tflm_encoder_arena_used(),
			(unsigned int)CONFIG_TFLM_ARENA_SIZE);
		return 0;
	}

	ready = false;
	app_stats_inc(APP_STAT_ENCODER_ERRORS);
	LOG_ERR("encoder init failed (%d%s); retry in %u ms", rc,
		rc == -ENOMEM ? ": tensor arena too small" : "", backoff_ms);
	next_try_ms = k_uptime_get() + backoff_ms;
	backoff_ms = MIN(backoff_ms * 2U, (uint32_t)CONFIG_APP_ENCODER_RETRY_MAX_MS);
	return rc;
}

int app_encoder_init(void)
{
	return try_init();
}

int app_encoder_run(const int8_t *q, int8_t *codes)
{
	int rc;

	if (!ready) {
		if (k_uptime_get() < next_try_ms || try_init() != 0) {
			return -EAGAIN;
		}
	}

	rc = tflm_encoder_run(q, PPG_MODEL_WINDOW_LEN, codes, PPG_MODEL_CODE_LEN);
	if (rc != 0) {
		app_stats_inc(APP_STAT_ENCODER_ERRORS);
		LOG_ERR("encoder run failed (%d); re-initialising", rc);
		/* Re-initialise at the next window. */
		ready = false;
		next_try_ms = k_uptime_get();
		return rc;
	}
	app_stats_set_inference_us(tflm_encoder_last_inference_us());
	return 0;
}
