/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * PPG replay source for native_sim: plays the file given with --ppg-file=PATH, one sample per
 * sample_fetch(). File format: README.md. An `E` line makes that sample's fetch fail with -EIO;
 * after the last sample every fetch returns -ENODATA.
 */

#define DT_DRV_COMPAT ppgcomp_ppg_replay

#include <errno.h>

#include <zephyr/device.h>
#include <zephyr/drivers/sensor.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>

#include <ppgcomp/drivers/sensor/ppg_sensor_common.h>

#include "cmdline.h"
#include "soc.h"

#include "ppg_replay_bottom.h"

LOG_MODULE_REGISTER(ppg_replay, CONFIG_SENSOR_LOG_LEVEL);

BUILD_ASSERT(DT_NUM_INST_STATUS_OKAY(DT_DRV_COMPAT) <= 1,
	     "ppg-replay: one instance only (one --ppg-file option)");

struct ppg_replay_config {
	uint32_t default_rate_hz;
	int32_t full_scale;
};

struct ppg_replay_data {
	int32_t sample;
	uint32_t rate_hz;
	uint32_t samples;
	uint32_t errors;
	bool eof;
};

static char *ppg_replay_path;

static int ppg_replay_sample_fetch(const struct device *dev, enum sensor_channel chan)
{
	struct ppg_replay_data *data = dev->data;
	int32_t v = 0;
	uint32_t line = 0;
	int rc;

	ARG_UNUSED(chan);

	if (data->eof) {
		return -ENODATA;
	}
	rc = ppg_replay_bottom_next(&v, &line);
	switch (rc) {
	case PPG_REPLAY_B_OK:
		data->sample = v;
		data->samples++;
		return 0;
	case PPG_REPLAY_B_READ_ERR:
		data->errors++;
		return -EIO;
	case PPG_REPLAY_B_EOF:
		data->eof = true;
		LOG_INF("end of replay after %u samples (%u injected read errors)", data->samples,
			data->errors);
		ppg_replay_bottom_close();
		return -ENODATA;
	default:
		data->eof = true;
		LOG_ERR("%s:%u: not a sample line; replay stopped", ppg_replay_path, line);
		ppg_replay_bottom_close();
		return -ENODATA;
	}
}

static int ppg_replay_channel_get(const struct device *dev, enum sensor_channel chan,
				  struct sensor_value *val)
{
	const struct ppg_replay_data *data = dev->data;

	return ppg_sensor_channel_value(chan, data->sample, val);
}

static int ppg_replay_attr_get(const struct device *dev, enum sensor_channel chan,
			       enum sensor_attribute attr, struct sensor_value *val)
{
	const struct ppg_replay_config *cfg = dev->config;
	const struct ppg_replay_data *data = dev->data;

	ARG_UNUSED(chan);

	return ppg_sensor_attr_value(attr, data->rate_hz, cfg->full_scale, val);
}

static DEVICE_API(sensor, ppg_replay_api) = {
	.sample_fetch = ppg_replay_sample_fetch,
	.channel_get = ppg_replay_channel_get,
	.attr_get = ppg_replay_attr_get,
};

static int ppg_replay_init(const struct device *dev)
{
	const struct ppg_replay_config *cfg = dev->config;
	struct ppg_replay_data *data = dev->data;
	uint32_t rate = 0;
	int rc;

	data->rate_hz = cfg->default_rate_hz;
	if (ppg_replay_path == NULL) {
		LOG_ERR("no PPG file: run with --ppg-file=PATH");
		return -ENOENT;
	}
	rc = ppg_replay_bottom_open(ppg_replay_path, &rate);
	if (rc == PPG_REPLAY_B_NO_FILE) {
		LOG_ERR("cannot open %s", ppg_replay_path);
		return -ENOENT;
	}
	if (rc != PPG_REPLAY_B_OK) {
		LOG_ERR("%s: bad header, expected '# ppg-replay rate_hz=<R>'", ppg_replay_path);
		return -EINVAL;
	}
	if (rate != 0U) {
		data->rate_hz = rate;
	}
	LOG_INF("replaying %s at %u Hz", ppg_replay_path, data->rate_hz);
	return 0;
}

static void ppg_replay_cmdline_opts(void)
{
	static struct args_struct_t opts[] = {
		{.option = "ppg-file",
		 .name = "PATH",
		 .type = 's',
		 .dest = (void *)&ppg_replay_path,
		 .descript = "PPG file played by the ppg-replay sensor (first line "
			     "'# ppg-replay rate_hz=<R>', then one integer sample or 'E' per line)"},
		ARG_TABLE_ENDMARKER,
	};

	native_add_command_line_opts(opts);
}

static void ppg_replay_cleanup(void)
{
	ppg_replay_bottom_close();
}

NATIVE_TASK(ppg_replay_cmdline_opts, PRE_BOOT_1, 10);
NATIVE_TASK(ppg_replay_cleanup, ON_EXIT, 10);

#define PPG_REPLAY_DEFINE(inst)                                                                    \
	static struct ppg_replay_data ppg_replay_data_##inst;                                      \
	static const struct ppg_replay_config ppg_replay_config_##inst = {                         \
		.default_rate_hz = DT_INST_PROP(inst, sample_rate_hz),                             \
		.full_scale = DT_INST_PROP(inst, full_scale),                                      \
	};                                                                                         \
	SENSOR_DEVICE_DT_INST_DEFINE(inst, ppg_replay_init, NULL, &ppg_replay_data_##inst,         \
				     &ppg_replay_config_##inst, POST_KERNEL,                       \
				     CONFIG_SENSOR_INIT_PRIORITY, &ppg_replay_api);

DT_INST_FOREACH_STATUS_OKAY(PPG_REPLAY_DEFINE)
