/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/**
 * @file
 * @brief Sensor-API answers shared by the built-in PPG sources (ppg-replay, ppg-synth): one raw-count
 *        sample on every PPG channel the app may choose, and the sampling-rate / full-scale attributes.
 */

#ifndef PPGCOMP_DRIVERS_SENSOR_PPG_SENSOR_COMMON_H_
#define PPGCOMP_DRIVERS_SENSOR_PPG_SENSOR_COMMON_H_

#include <errno.h>
#include <stdint.h>

#include <zephyr/drivers/sensor.h>

/** Report @p sample (raw counts) on the IR, RED, GREEN and private PPG channels. */
static inline int ppg_sensor_channel_value(enum sensor_channel chan, int32_t sample,
					   struct sensor_value *val)
{
	switch ((int)chan) {
	case SENSOR_CHAN_IR:
	case SENSOR_CHAN_RED:
	case SENSOR_CHAN_GREEN:
	case SENSOR_CHAN_PRIV_START:
		val->val1 = sample;
		val->val2 = 0;
		return 0;
	default:
		return -ENOTSUP;
	}
}

/** Report the sampling frequency (Hz) and the full-scale code; other attributes are unsupported. */
static inline int ppg_sensor_attr_value(enum sensor_attribute attr, uint32_t rate_hz, int32_t full_scale,
					struct sensor_value *val)
{
	switch (attr) {
	case SENSOR_ATTR_SAMPLING_FREQUENCY:
		val->val1 = (int32_t)rate_hz;
		val->val2 = 0;
		return 0;
	case SENSOR_ATTR_FULL_SCALE:
		val->val1 = full_scale;
		val->val2 = 0;
		return 0;
	default:
		return -ENOTSUP;
	}
}

#endif /* PPGCOMP_DRIVERS_SENSOR_PPG_SENSOR_COMMON_H_ */
