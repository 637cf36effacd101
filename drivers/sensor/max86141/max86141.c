/*
 * Copyright (c) 2025 The ppgcomp authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * MAX86141 optical AFE sensor driver (SPI).
 *
 * Data path: the part writes one 3-byte item per exposure into its 128-item
 * FIFO. The driver reads the FIFO in bursts (from the A_FULL interrupt work
 * item, or from sensor_sample_fetch() when its frame buffer is empty), decodes
 * items by tag into frames (LED1 [+ LED2]) and keeps them in a ring. Every
 * sensor_sample_fetch() latches the oldest frame (-EAGAIN when the part has
 * no new sample yet); sensor_channel_get() returns it: SENSOR_CHAN_IR (also
 * SENSOR_CHAN_GREEN and SENSOR_CHAN_PRIV_START, the app's raw-counts channel)
 * = LED1 counts, SENSOR_CHAN_RED = LED2 counts (19-bit unsigned ADC counts in
 * val1, val2 = 0). SENSOR_ATTR_SAMPLING_FREQUENCY and SENSOR_ATTR_FULL_SCALE
 * (524287) are reported as the app expects of every PPG source.
 *
 * FIFO overflow: OVF_COUNTER (0x06) is read before every burst; a non-zero
 * value is logged, added to the lost-sample count (MAX86141_ATTR_LOST_SAMPLES)
 * and the frame assembly is resynchronised on the next LED1 tag. The FIFO runs
 * with roll-over enabled, so after an overflow it holds the newest samples
 * and reading it is the recovery.
 */

#define DT_DRV_COMPAT maxim_max86141

#include <errno.h>
#include <zephyr/drivers/sensor.h>
#include <zephyr/drivers/spi.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/sys/util.h>

#include "max86141.h"

LOG_MODULE_REGISTER(MAX86141, CONFIG_SENSOR_LOG_LEVEL);

static const struct {
	uint16_t hz;
	uint8_t code;
} max86141_rates[] = {
	{25, 0x00},   {50, 0x01},   {84, 0x02},   {100, 0x03},  {200, 0x04},  {400, 0x05},
	{8, 0x0A},    {16, 0x0B},   {32, 0x0C},   {64, 0x0D},   {128, 0x0E},  {256, 0x0F},
	{512, 0x10},  {1024, 0x11}, {2048, 0x12}, {4096, 0x13},
};

static int max86141_rate_code(uint16_t hz)
{
	for (size_t i = 0; i < ARRAY_SIZE(max86141_rates); i++) {
		if (max86141_rates[i].hz == hz) {
			return max86141_rates[i].code;
		}
	}
	return -EINVAL;
}

static int max86141_read(const struct device *dev, uint8_t reg, uint8_t *buf, size_t len)
{
	const struct max86141_config *cfg = dev->config;
	uint8_t cmd[2] = {reg, MAX86141_SPI_READ};
	const struct spi_buf tx = {.buf = cmd, .len = sizeof(cmd)};
	const struct spi_buf_set tx_set = {.buffers = &tx, .count = 1};
	struct spi_buf rx[2] = {{.buf = NULL, .len = sizeof(cmd)}, {.buf = buf, .len = len}};
	const struct spi_buf_set rx_set = {.buffers = rx, .count = 2};
	int ret;

	ret = spi_transceive_dt(&cfg->spi, &tx_set, &rx_set);
	if (ret < 0) {
		LOG_ERR("%s: SPI read of register 0x%02x failed (%d)", dev->name, reg, ret);
		return -EIO;
	}
	return 0;
}

int max86141_reg_read(const struct device *dev, uint8_t reg, uint8_t *val)
{
	return max86141_read(dev, reg, val, 1);
}

int max86141_reg_write(const struct device *dev, uint8_t reg, uint8_t val)
{
	const struct max86141_config *cfg = dev->config;
	uint8_t cmd[3] = {reg, MAX86141_SPI_WRITE, val};
	const struct spi_buf tx = {.buf = cmd, .len = sizeof(cmd)};
	const struct spi_buf_set tx_set = {.buffers = &tx, .count = 1};
	int ret;

	ret = spi_write_dt(&cfg->spi, &tx_set);
	if (ret < 0) {
		LOG_ERR("%s: SPI write of register 0x%02x failed (%d)", dev->name, reg, ret);
		return -EIO;
	}
	return 0;
}

static void max86141_push_item(struct max86141_data *data, uint8_t tag, int32_t value)
{
	int slot = (int)tag - MAX86141_TAG_PPG1_LEDC1;

	if (slot < 0 || slot >= data->n_slots) {
		return; /* not an LED exposure we sequence (ambient, empty marker...) */
	}
	if (slot != data->partial_fill) {
		/* Out of sequence (after an overflow): restart the frame on LED1. */
		data->partial_fill = 0;
		if (slot != 0) {
			return;
		}
	}
	data->partial[slot] = value;
	data->partial_fill++;
	if (data->partial_fill < data->n_slots) {
		return;
	}
	data->partial_fill = 0;

	if (data->count >= CONFIG_MAX86141_BUFFER_FRAMES) {
		return; /* cannot happen: the burst is sized to the free space */
	}
	uint16_t tail = (data->head + data->count) % CONFIG_MAX86141_BUFFER_FRAMES;

	memcpy(data->ring[tail], data->partial, sizeof(data->partial));
	data->count++;
}

/* Read what the FIFO holds (up to the ring's free space). Caller holds the lock. */
int max86141_fifo_drain(const struct device *dev)
{
	struct max86141_data *data = dev->data;
	uint8_t ovf, cnt;
	int ret;

	ret = max86141_reg_read(dev, MAX86141_REG_OVF_COUNTER, &ovf);
	if (ret < 0) {
		return ret;
	}
	ret = max86141_reg_read(dev, MAX86141_REG_FIFO_DATA_CNT, &cnt);
	if (ret < 0) {
		return ret;
	}

	if (ovf != 0U) {
		data->lost_samples += ovf;
		data->overflow_events++;
		data->partial_fill = 0;
		LOG_WRN("%s: FIFO overflow, %u samples lost (%u in total)", dev->name, ovf,
			data->lost_samples);
	}

	if (cnt > MAX86141_FIFO_DEPTH) {
		LOG_ERR("%s: FIFO_DATA_COUNT %u out of range, flushing FIFO", dev->name, cnt);
		data->partial_fill = 0;
		return max86141_reg_write(dev, MAX86141_REG_FIFO_CONFIG_2,
					  MAX86141_FIFO2_FLUSH | MAX86141_FIFO2_RO);
	}

	size_t free_items = (size_t)(CONFIG_MAX86141_BUFFER_FRAMES - data->count) * data->n_slots -
			    data->partial_fill;
	size_t todo = MIN((size_t)cnt, free_items);

	while (todo > 0) {
		size_t n = MIN(todo, (size_t)CONFIG_MAX86141_SPI_CHUNK_ITEMS);

		ret = max86141_read(dev, MAX86141_REG_FIFO_DATA, data->raw,
				    n * MAX86141_FIFO_ITEM_BYTES);
		if (ret < 0) {
			data->partial_fill = 0;
			return ret;
		}
		for (size_t i = 0; i < n; i++) {
			const uint8_t *b = &data->raw[i * MAX86141_FIFO_ITEM_BYTES];
			uint32_t item = ((uint32_t)b[0] << 16) | ((uint32_t)b[1] << 8) | b[2];

			max86141_push_item(data,
					   (item >> MAX86141_FIFO_TAG_SHIFT) & MAX86141_FIFO_TAG_MASK,
					   (int32_t)(item & MAX86141_FIFO_DATA_MASK));
		}
		todo -= n;
	}
	return 0;
}

static bool max86141_chan_ok(const struct device *dev, enum sensor_channel chan)
{
	struct max86141_data *data = dev->data;

	switch ((int)chan) {
	case SENSOR_CHAN_ALL:
	case SENSOR_CHAN_IR:
	case SENSOR_CHAN_GREEN:
	case SENSOR_CHAN_PRIV_START:
		return true;
	case SENSOR_CHAN_RED:
		return data->n_slots > 1;
	default:
		return false;
	}
}

static int max86141_sample_fetch(const struct device *dev, enum sensor_channel chan)
{
	struct max86141_data *data = dev->data;
	int ret = 0;

	if (!max86141_chan_ok(dev, chan)) {
		return -ENOTSUP;
	}

	k_mutex_lock(&data->lock, K_FOREVER);
	if (data->count == 0U) {
		ret = max86141_fifo_drain(dev);
	}
	if (ret == 0) {
		if (data->count == 0U) {
			ret = -EAGAIN; /* no new sample yet: poll again later */
		} else {
			memcpy(data->latest, data->ring[data->head], sizeof(data->latest));
			data->head = (data->head + 1U) % CONFIG_MAX86141_BUFFER_FRAMES;
			data->count--;
			data->have_latest = true;
		}
	}
	k_mutex_unlock(&data->lock);
	return ret;
}

static int max86141_channel_get(const struct device *dev, enum sensor_channel chan,
				struct sensor_value *val)
{
	struct max86141_data *data = dev->data;
	int slot;

	switch ((int)chan) {
	case SENSOR_CHAN_IR:
	case SENSOR_CHAN_GREEN:
	case SENSOR_CHAN_PRIV_START:
		slot = 0;
		break;
	case SENSOR_CHAN_RED:
		if (data->n_slots < 2) {
			return -ENOTSUP;
		}
		slot = 1;
		break;
	default:
		return -ENOTSUP;
	}
	if (!data->have_latest) {
		return -ENODATA;
	}
	val->val1 = data->latest[slot];
	val->val2 = 0;
	return 0;
}

static int max86141_attr_set(const struct device *dev, enum sensor_channel chan,
			     enum sensor_attribute attr, const struct sensor_value *val)
{
	struct max86141_data *data = dev->data;
	const struct max86141_config *cfg = dev->config;
	int code, ret;

	if (!max86141_chan_ok(dev, chan)) {
		return -ENOTSUP;
	}
	if (attr != SENSOR_ATTR_SAMPLING_FREQUENCY) {
		return -ENOTSUP;
	}
	code = (val->val2 == 0 && val->val1 > 0 && val->val1 <= UINT16_MAX)
		       ? max86141_rate_code((uint16_t)val->val1)
		       : -EINVAL;
	if (code < 0) {
		return -EINVAL;
	}
	k_mutex_lock(&data->lock, K_FOREVER);
	ret = max86141_reg_write(dev, MAX86141_REG_PPG_CONFIG_2,
				 FIELD_PREP(MAX86141_PPG2_SR_MASK, code) |
					 FIELD_PREP(MAX86141_PPG2_SMP_AVE_MASK,
						    LOG2(cfg->averaging)));
	if (ret == 0) {
		data->sample_rate_hz = (uint16_t)val->val1;
	}
	k_mutex_unlock(&data->lock);
	return ret;
}

static int max86141_attr_get(const struct device *dev, enum sensor_channel chan,
			     enum sensor_attribute attr, struct sensor_value *val)
{
	struct max86141_data *data = dev->data;

	if (!max86141_chan_ok(dev, chan)) {
		return -ENOTSUP;
	}
	val->val2 = 0;
	switch ((int)attr) {
	case SENSOR_ATTR_SAMPLING_FREQUENCY:
		val->val1 = data->sample_rate_hz;
		return 0;
	case SENSOR_ATTR_FULL_SCALE:
		val->val1 = MAX86141_FIFO_DATA_MASK; /* 19-bit ADC: 524287 */
		return 0;
	case MAX86141_ATTR_LOST_SAMPLES:
		val->val1 = (int32_t)data->lost_samples;
		return 0;
	case MAX86141_ATTR_OVERFLOW_EVENTS:
		val->val1 = (int32_t)data->overflow_events;
		return 0;
	default:
		return -ENOTSUP;
	}
}

static DEVICE_API(sensor, max86141_api) = {
	.sample_fetch = max86141_sample_fetch,
	.channel_get = max86141_channel_get,
	.attr_set = max86141_attr_set,
	.attr_get = max86141_attr_get,
#ifdef CONFIG_MAX86141_TRIGGER
	.trigger_set = max86141_trigger_set,
#endif
};

/* LEDx_RGE (smallest range that reaches the current) and LEDx_PA code. */
static void max86141_led_code(uint32_t ua, uint8_t *range, uint8_t *pa)
{
	uint8_t r = 0;

	ua = MIN(ua, MAX86141_LED_MAX_UA);
	while (r < 3U && ua > MAX86141_LED_STEP_UA(r) * 255U) {
		r++;
	}
	*range = r;
	*pa = (uint8_t)MIN(255U, (ua + MAX86141_LED_STEP_UA(r) / 2U) / MAX86141_LED_STEP_UA(r));
}

static int max86141_configure(const struct device *dev)
{
	const struct max86141_config *cfg = dev->config;
	struct max86141_data *data = dev->data;
	uint8_t ranges = 0, pa[3], r, dummy;
	int sr = max86141_rate_code(cfg->sample_rate_hz);
	uint8_t tint = (cfg->pulse_width_us >= 117)  ? 3
		       : (cfg->pulse_width_us >= 59) ? 2
		       : (cfg->pulse_width_us >= 29) ? 1
						     : 0;
	uint8_t adc = (uint8_t)LOG2(MAX(cfg->adc_range_na / 4096U, 1U));
	uint8_t ave = (uint8_t)LOG2(MAX(cfg->averaging, 1U));
	uint8_t wm = CLAMP(cfg->watermark, 1U, MAX86141_FIFO_DEPTH);
	int ret = 0;

	if (sr < 0) {
		LOG_ERR("%s: unsupported sample rate %u Hz", dev->name, cfg->sample_rate_hz);
		return -EINVAL;
	}
	for (int i = 0; i < 3; i++) {
		max86141_led_code(cfg->led_ua[i], &r, &pa[i]);
		ranges |= r << (2 * i);
	}
	data->n_slots = (cfg->led_ua[1] > 0U) ? 2 : 1;
	data->sample_rate_hz = cfg->sample_rate_hz;

	/* Soft reset, then configure in shutdown (datasheet init sequence). */
	ret = max86141_reg_write(dev, MAX86141_REG_SYS_CTRL, MAX86141_SYS_RESET);
	if (ret < 0) {
		return ret;
	}
	k_busy_wait(1000);

	const uint8_t seq[][2] = {
		{MAX86141_REG_SYS_CTRL, MAX86141_SYS_SHDN | MAX86141_SYS_SINGLE_PPG},
		{MAX86141_REG_PPG_CONFIG_1, FIELD_PREP(MAX86141_PPG1_TINT_MASK, tint) |
						    FIELD_PREP(MAX86141_PPG1_ADC_RGE_MASK, adc)},
		{MAX86141_REG_PPG_CONFIG_2, FIELD_PREP(MAX86141_PPG2_SR_MASK, sr) |
						    FIELD_PREP(MAX86141_PPG2_SMP_AVE_MASK, ave)},
		{MAX86141_REG_PPG_CONFIG_3, 0xC0}, /* LED_SETLNG = 12 us */
		{MAX86141_REG_PD_BIAS, 0x01},      /* PD1 bias for 0..65 pF */
		{MAX86141_REG_LED_RANGE_1, ranges},
		{MAX86141_REG_LED1_PA, pa[0]},
		{MAX86141_REG_LED2_PA, pa[1]},
		{MAX86141_REG_LED3_PA, pa[2]},
		{MAX86141_REG_LED_SEQ_1,
		 MAX86141_LEDC_LED1 | (data->n_slots > 1 ? MAX86141_LEDC_LED2 << 4 : 0)},
		{MAX86141_REG_LED_SEQ_2, 0x00},
		{MAX86141_REG_LED_SEQ_3, 0x00},
		{MAX86141_REG_FIFO_CONFIG_1, (uint8_t)(MAX86141_FIFO_DEPTH - wm)},
		{MAX86141_REG_FIFO_CONFIG_2, MAX86141_FIFO2_FLUSH | MAX86141_FIFO2_RO},
		{MAX86141_REG_INT_ENABLE_1, 0x00},
		{MAX86141_REG_INT_ENABLE_2, 0x00},
	};

	for (size_t i = 0; i < ARRAY_SIZE(seq) && ret == 0; i++) {
		ret = max86141_reg_write(dev, seq[i][0], seq[i][1]);
	}
	/* Reading the status registers clears pending interrupts. */
	if (ret == 0) {
		ret = max86141_reg_read(dev, MAX86141_REG_INT_STATUS_1, &dummy);
	}
	if (ret == 0) {
		ret = max86141_reg_read(dev, MAX86141_REG_INT_STATUS_2, &dummy);
	}
	return ret;
}

static int max86141_init(const struct device *dev)
{
	const struct max86141_config *cfg = dev->config;
	struct max86141_data *data = dev->data;
	uint8_t part_id;
	int ret;

	k_mutex_init(&data->lock);

	if (!spi_is_ready_dt(&cfg->spi)) {
		LOG_ERR("%s: SPI bus %s not ready", dev->name, cfg->spi.bus->name);
		return -ENODEV;
	}

	ret = max86141_reg_read(dev, MAX86141_REG_PART_ID, &part_id);
	if (ret < 0) {
		LOG_ERR("%s: cannot read PART_ID, check the SPI wiring", dev->name);
		return ret;
	}
	if (part_id != MAX86141_PART_ID) {
		LOG_ERR("%s: PART_ID 0x%02x, expected 0x%02x (MAX86141); wrong part or wiring",
			dev->name, part_id, MAX86141_PART_ID);
		return -ENODEV;
	}

	ret = max86141_configure(dev);
	if (ret < 0) {
		LOG_ERR("%s: configuration failed (%d)", dev->name, ret);
		return ret;
	}

#ifdef CONFIG_MAX86141_TRIGGER
	if (cfg->int_gpio.port != NULL) {
		ret = max86141_trigger_init(dev);
		if (ret < 0) {
			LOG_ERR("%s: interrupt setup failed (%d)", dev->name, ret);
			return ret;
		}
	}
#endif

	/* Leave shutdown: sampling starts. */
	ret = max86141_reg_write(dev, MAX86141_REG_SYS_CTRL, MAX86141_SYS_SINGLE_PPG);
	if (ret < 0) {
		return ret;
	}

	LOG_DBG("%s: MAX86141 ready, %u Hz, %u LED slot(s)", dev->name, data->sample_rate_hz,
		data->n_slots);
	return 0;
}

/* SPI mode 3 (CPOL = CPHA = 1), MSB first, 8-bit words, as the MakerLabCRI/Max86141 driver uses. */
#define MAX86141_SPI_OP                                                                            \
	(SPI_OP_MODE_MASTER | SPI_MODE_CPOL | SPI_MODE_CPHA | SPI_WORD_SET(8) | SPI_TRANSFER_MSB)

#define MAX86141_DEFINE(inst)                                                                      \
	BUILD_ASSERT(DT_INST_PROP(inst, led1_current_microamp) <= MAX86141_LED_MAX_UA,            \
		     "led1-current-microamp too high");                                            \
	BUILD_ASSERT(DT_INST_PROP(inst, led2_current_microamp) <= MAX86141_LED_MAX_UA,            \
		     "led2-current-microamp too high");                                            \
	BUILD_ASSERT(DT_INST_PROP(inst, led3_current_microamp) <= MAX86141_LED_MAX_UA,            \
		     "led3-current-microamp too high");                                            \
	BUILD_ASSERT(IN_RANGE(DT_INST_PROP(inst, fifo_watermark), 1, MAX86141_FIFO_DEPTH),         \
		     "fifo-watermark must be 1..128");                                             \
	static struct max86141_data max86141_data_##inst;                                          \
	static const struct max86141_config max86141_config_##inst = {                            \
		.spi = SPI_DT_SPEC_INST_GET(inst, MAX86141_SPI_OP),                                \
		.int_gpio = GPIO_DT_SPEC_INST_GET_OR(inst, int_gpios, {0}),                        \
		.sample_rate_hz = DT_INST_PROP(inst, sample_rate_hz),                              \
		.adc_range_na = DT_INST_PROP(inst, adc_range_nanoamp),                             \
		.pulse_width_us = DT_INST_PROP(inst, pulse_width_us),                              \
		.averaging = DT_INST_PROP(inst, sample_averaging),                                 \
		.watermark = DT_INST_PROP(inst, fifo_watermark),                                   \
		.led_ua = {DT_INST_PROP(inst, led1_current_microamp),                              \
			   DT_INST_PROP(inst, led2_current_microamp),                              \
			   DT_INST_PROP(inst, led3_current_microamp)},                             \
	};                                                                                         \
	SENSOR_DEVICE_DT_INST_DEFINE(inst, max86141_init, NULL, &max86141_data_##inst,            \
				     &max86141_config_##inst, POST_KERNEL,                         \
				     CONFIG_SENSOR_INIT_PRIORITY, &max86141_api);

DT_INST_FOREACH_STATUS_OKAY(MAX86141_DEFINE)
