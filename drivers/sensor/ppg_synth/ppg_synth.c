/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Synthetic PPG source: one sample per sample_fetch(), integer only. A 64-entry pulse table
 * (systolic peak and dicrotic notch) is played with a 32-bit phase accumulator at a heart rate
 * that varies slowly (+-4 bpm over 30 s) and with breathing (+-2 bpm over 4 s), on a wandering
 * baseline, with a little noise. The caller paces the calls at sample-rate-hz.
 */

#define DT_DRV_COMPAT ppgcomp_ppg_synth

#include <errno.h>

#include <zephyr/device.h>
#include <zephyr/drivers/sensor.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>

#include <ppgcomp/drivers/sensor/ppg_sensor_common.h>

LOG_MODULE_REGISTER(ppg_synth, CONFIG_SENSOR_LOG_LEVEL);

/* One beat, 0..1000. */
static const uint16_t pulse_table[64] = {
	1,   4,   11,  27,  60,  122, 222, 365, 545, 737, 901, 998, 1000, 908, 746, 557,
	380, 242, 151, 106, 97,  115, 151, 202, 260, 320, 376, 420, 448,  455, 439, 404,
	354, 296, 235, 178, 128, 88,  58,  36,  21,  12,  6,   3,   2,    1,   0,   0,
	0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,    0,   0,   0,
};

struct ppg_synth_config {
	uint32_t rate_hz;
	int32_t full_scale;
	int32_t dc;
	int32_t ac;
	int32_t bpm_x10;
	uint32_t seed;
};

struct ppg_synth_data {
	uint32_t n;
	uint32_t phase;
	uint32_t rng;
	int32_t sample;
};

/* Triangle wave of period @p period samples, -amp..amp. */
static int32_t tri(uint32_t n, uint32_t period, int32_t amp)
{
	uint32_t p = n % period;
	uint32_t x = (p < period / 2U) ? p : period - p;

	return (int32_t)(((int64_t)4 * amp * x) / period) - amp;
}

static int ppg_synth_sample_fetch(const struct device *dev, enum sensor_channel chan)
{
	const struct ppg_synth_config *cfg = dev->config;
	struct ppg_synth_data *data = dev->data;
	uint32_t rate = cfg->rate_hz;
	int32_t bpm_x10;
	uint32_t idx;
	uint32_t frac;
	int32_t a;
	int32_t b;
	int32_t shape;
	int32_t noise;
	int64_t v;

	ARG_UNUSED(chan);

	bpm_x10 = cfg->bpm_x10 + tri(data->n, 30U * rate, 40) + tri(data->n, 4U * rate, 20);
	if (bpm_x10 < 300) {
		bpm_x10 = 300;
	}
	data->phase += (uint32_t)(((uint64_t)bpm_x10 << 32) / (600ULL * rate));

	idx = data->phase >> 26;
	frac = (data->phase >> 10) & 0xFFFFU;
	a = pulse_table[idx];
	b = pulse_table[(idx + 1U) & 63U];
	shape = a + (int32_t)(((int64_t)(b - a) * frac) >> 16); /* 0..1000 */

	data->rng = data->rng * 1664525U + 1013904223U;
	noise = (int32_t)((data->rng >> 16) % 201U) - 100; /* -100..100 */

	v = (int64_t)cfg->dc + ((int64_t)cfg->ac * (shape - 500)) / 1000 +
	    tri(data->n, 10U * rate, cfg->ac / 4) + ((int64_t)cfg->ac * noise) / 10000;
	if (v < 0) {
		v = 0;
	}
	if (v > cfg->full_scale) {
		v = cfg->full_scale;
	}
	data->sample = (int32_t)v;
	data->n++;
	return 0;
}

static int ppg_synth_channel_get(const struct device *dev, enum sensor_channel chan,
				  struct sensor_value *val)
{
	const struct ppg_synth_data *data = dev->data;

	return ppg_sensor_channel_value(chan, data->sample, val);
}

static int ppg_synth_attr_get(const struct device *dev, enum sensor_channel chan,
			       enum sensor_attribute attr, struct sensor_value *val)
{
	const struct ppg_synth_config *cfg = dev->config;

	ARG_UNUSED(chan);

	return ppg_sensor_attr_value(attr, cfg->rate_hz, cfg->full_scale, val);
}

static DEVICE_API(sensor, ppg_synth_api) = {
	.sample_fetch = ppg_synth_sample_fetch,
	.channel_get = ppg_synth_channel_get,
	.attr_get = ppg_synth_attr_get,
};

static int ppg_synth_init(const struct device *dev)
{
	const struct ppg_synth_config *cfg = dev->config;
	struct ppg_synth_data *data = dev->data;

	if (cfg->rate_hz == 0U) {
		return -EINVAL;
	}
	data->rng = cfg->seed;
	LOG_INF("synthetic PPG at %u Hz, %d.%d bpm", cfg->rate_hz, cfg->bpm_x10 / 10,
		cfg->bpm_x10 % 10);
	return 0;
}

#define PPG_SYNTH_DEFINE(inst)                                                                     \
	static struct ppg_synth_data ppg_synth_data_##inst;                                        \
	static const struct ppg_synth_config ppg_synth_config_##inst = {                           \
		.rate_hz = DT_INST_PROP(inst, sample_rate_hz),                                     \
		.full_scale = DT_INST_PROP(inst, full_scale),                                      \
		.dc = DT_INST_PROP(inst, dc_counts),                                               \
		.ac = DT_INST_PROP(inst, ac_counts),                                               \
		.bpm_x10 = DT_INST_PROP(inst, bpm_x10),                                            \
		.seed = DT_INST_PROP(inst, seed),                                                  \
	};                                                                                         \
	SENSOR_DEVICE_DT_INST_DEFINE(inst, ppg_synth_init, NULL, &ppg_synth_data_##inst,           \
				     &ppg_synth_config_##inst, POST_KERNEL,                        \
				     CONFIG_SENSOR_INIT_PRIORITY, &ppg_synth_api);

DT_INST_FOREACH_STATUS_OKAY(PPG_SYNTH_DEFINE)
