/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Sampling thread: reads the devicetree-chosen PPG sensor (`chosen { ppg,sensor = &...; }`) with
 * the Zephyr sensor API at the sensor rate (a k_timer paces it), conditions each read (gap fill,
 * saturation mark), decimates to the model rate with ppg_decim and feeds the window.
 */

#include <errno.h>

#include <zephyr/device.h>
#include <zephyr/devicetree.h>
#include <zephyr/drivers/sensor.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>

#include <ppgcomp/decimate.h>
#include <ppgcomp/sample_cond.h>
#include <ppg_encoder_model.h>

#include "job_queue.h"
#include "sampling.h"
#include "stats.h"

LOG_MODULE_REGISTER(app_sampling, CONFIG_APP_LOG_LEVEL);

#if !DT_HAS_CHOSEN(ppg_sensor)
#error "No PPG sensor: set `chosen { ppg,sensor = &<sensor node>; }` in the devicetree"
#endif

#define PPG_NODE DT_CHOSEN(ppg_sensor)

#if defined(CONFIG_APP_SENSOR_CHAN_RED)
#define PPG_CHAN SENSOR_CHAN_RED
#elif defined(CONFIG_APP_SENSOR_CHAN_GREEN)
#define PPG_CHAN SENSOR_CHAN_GREEN
#elif defined(CONFIG_APP_SENSOR_CHAN_RAW)
#define PPG_CHAN ((enum sensor_channel)SENSOR_CHAN_PRIV_START)
#else
#define PPG_CHAN SENSOR_CHAN_IR
#endif

/* Rate from the devicetree when the driver does not report it. */
#if DT_NODE_HAS_PROP(PPG_NODE, sample_rate_hz)
#define PPG_DT_RATE_HZ DT_PROP(PPG_NODE, sample_rate_hz)
#elif DT_NODE_HAS_PROP(PPG_NODE, smp_sr)
#define PPG_DT_RATE_HZ (DT_PROP(PPG_NODE, smp_sr) / DT_PROP_OR(PPG_NODE, smp_ave, 1))
#else
#define PPG_DT_RATE_HZ CONFIG_APP_SENSOR_RATE_HZ
#endif

/* Reads caught up in one timer wake-up after the thread was held off (at most). */
#define MAX_CATCH_UP 4U

static const struct device *const ppg_dev = DEVICE_DT_GET(PPG_NODE);

static struct ppg_decim decim;
static struct ppg_sample_cond cond;
static K_TIMER_DEFINE(sample_timer, NULL, NULL);

K_THREAD_STACK_DEFINE(sampling_stack, CONFIG_APP_SAMPLING_STACK_SIZE);
static struct k_thread sampling_thread_data;

static uint32_t sensor_rate_hz(void)
{
	struct sensor_value v;

	if (sensor_attr_get(ppg_dev, PPG_CHAN, SENSOR_ATTR_SAMPLING_FREQUENCY, &v) == 0 &&
	    v.val1 > 0) {
		return (uint32_t)v.val1;
	}
	return PPG_DT_RATE_HZ;
}

static int32_t sensor_full_scale(void)
{
	struct sensor_value v;

	if (sensor_attr_get(ppg_dev, PPG_CHAN, SENSOR_ATTR_FULL_SCALE, &v) == 0 && v.val1 > 0) {
		return v.val1;
	}
	return CONFIG_APP_SENSOR_FULL_SCALE;
}

/* One read; 0, -ENODATA at the end of a replay, -EAGAIN when no new sample is ready yet, or
 * another negative errno.
 */
static int read_sample(int32_t *raw)
{
	struct sensor_value v;
	int rc;

	rc = sensor_sample_fetch(ppg_dev);
	if (rc == 0) {
		rc = sensor_channel_get(ppg_dev, PPG_CHAN, &v);
	}
	if (rc == 0) {
		*raw = v.val1;
	}
	return rc;
}

static void sampling_thread(void *p1, void *p2, void *p3)
{
	uint8_t group_marks = 0U;
	uint32_t rate;
	int factor;

	ARG_UNUSED(p1);
	ARG_UNUSED(p2);
	ARG_UNUSED(p3);

	if (!device_is_ready(ppg_dev)) {
		LOG_ERR("PPG sensor %s not ready", ppg_dev->name);
		app_stats_inc(APP_STAT_SENSOR_ERRORS);
		app_job_queue_finish(-ENODEV);
		return;
	}

	rate = sensor_rate_hz();
	factor = ppg_decim_factor(rate, PPG_MODEL_SAMPLE_RATE_HZ);
	if (factor < 0 || ppg_decim_init(&decim, (uint32_t)factor) != 0) {
		LOG_ERR("sensor rate %u Hz is not a multiple of %u Hz (1..%u x)", rate,
			PPG_MODEL_SAMPLE_RATE_HZ, PPG_DECIM_MAX_FACTOR);
		app_job_queue_finish(-EINVAL);
		return;
	}
	ppg_sample_cond_init(&cond, sensor_full_scale());
	LOG_INF("sensor %s at %u Hz, decimation %d, full scale %d, hop %d", ppg_dev->name, rate,
		factor, cond.full_scale, CONFIG_APP_ENCODE_HOP_SAMPLES);

	k_timer_start(&sample_timer, K_USEC(USEC_PER_SEC / rate), K_USEC(USEC_PER_SEC / rate));

	for (;;) {
		uint32_t due = k_timer_status_sync(&sample_timer);

		if (due > MAX_CATCH_UP) {
			LOG_WRN("sampling held off: %u sample periods, reading %u", due,
				MAX_CATCH_UP);
			due = MAX_CATCH_UP;
		}
		while (due-- > 0U) {
			int32_t raw = 0;
			int32_t s;
			int32_t out;
			int rc = read_sample(&raw);

			if (rc == -ENODATA && IS_ENABLED(CONFIG_APP_EXIT_AT_REPLAY_END)) {
				k_timer_stop(&sample_timer);
				LOG_INF("sensor stream ended");
				app_job_queue_finish(0);
				return;
			}
			if (rc == -EAGAIN) {
				/* No new sample yet (the sensor's clock runs behind the timer): not an
				 * error and not a gap; the next tick reads it.
				 */
				continue;
			}
			if (rc != 0) {
				app_stats_inc(APP_STAT_SENSOR_ERRORS);
				if (cond.error_run == 0U) {
					LOG_WRN("sensor read failed (%d): repeating the last good "
						"sample, window marked GAP",
						rc);
				}
			} else if (cond.error_run != 0U) {
				LOG_INF("sensor recovered after %u failed reads", cond.error_run);
			}
			group_marks |= ppg_sample_cond_apply(&cond, rc, raw, &s);
			if (ppg_decim_push(&decim, s, &out)) {
				app_job_queue_push(out, group_marks);
				group_marks = 0U;
			}
		}
	}
}

int app_sampling_start(void)
{
	k_thread_create(&sampling_thread_data, sampling_stack,
			K_THREAD_STACK_SIZEOF(sampling_stack), sampling_thread, NULL, NULL, NULL,
			CONFIG_APP_SAMPLING_PRIORITY, 0, K_NO_WAIT);
	k_thread_name_set(&sampling_thread_data, "sampling");
	return 0;
}
