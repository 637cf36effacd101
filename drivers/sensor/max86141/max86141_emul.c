/*
 * Copyright (c) 2025 The ppgcomp authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * SPI emulator for the MAX86141 (registered with EMUL_DT_INST_DEFINE on a
 * zephyr,spi-emul-controller bus, like Zephyr's bma4xx and icm4268x
 * emulators). It models the register subset the driver uses, the 128-item
 * FIFO with tags, OVF_COUNTER, A_FULL / DATA_RDY and the INT pin, and lets
 * tests inject overflows, a wrong PART_ID and bus errors.
 *
 * Modelling assumptions (datasheet behaviour not verified on hardware):
 * register bursts auto-increment except FIFO_DATA, which streams FIFO bytes;
 * OVF_COUNTER clears when an item is popped; reading INT_STATUS_1 clears it.
 */

#define DT_DRV_COMPAT maxim_max86141

#include <string.h>
#include <zephyr/device.h>
#include <zephyr/drivers/emul.h>
#include <zephyr/drivers/gpio.h>
#include <zephyr/drivers/spi.h>
#include <zephyr/drivers/spi_emul.h>
#include <zephyr/logging/log.h>
#include <zephyr/sys/util.h>
#ifdef CONFIG_GPIO_EMUL
#include <zephyr/drivers/gpio/gpio_emul.h>
#endif

#include "max86141.h"
#include "max86141_emul.h"

LOG_MODULE_REGISTER(max86141_emul, CONFIG_SENSOR_LOG_LEVEL);

#define EMUL_OVF_MAX 127U

/* One beat of a synthetic PPG pulse (systolic peak + dicrotic wave), 100 samples. */
static const int32_t default_wave[] = {
	200040, 200082, 200161, 200304, 200549, 200953, 201588, 202539, 203898, 205744,
	208126, 211036, 214390, 218011, 221643, 224966, 227648, 229394, 230000, 229394,
	227649, 224968, 221645, 218017, 214400, 211057, 208163, 205810, 204013, 202731,
	201900, 201444, 201298, 201411, 201747, 202283, 203002, 203882, 204892, 205986,
	207106, 208178, 209123, 209864, 210337, 210500, 210337, 209864, 209123, 208177,
	207105, 205983, 204883, 203863, 202962, 202201, 201585, 201107, 200749, 200491,
	200312, 200192, 200115, 200066, 200037, 200020, 200011, 200005, 200003, 200001,
	200001, 200000, 200000, 200000, 200000, 200000, 200000, 200000, 200000, 200000,
	200000, 200000, 200000, 200000, 200000, 200000, 200000, 200000, 200000, 200000,
	200000, 200000, 200000, 200000, 200000, 200000, 200000, 200000, 200000, 200000,
};

struct max86141_emul_data {
	uint8_t reg[256];
	uint8_t part_id;
	uint8_t fifo[MAX86141_FIFO_DEPTH][MAX86141_FIFO_ITEM_BYTES];
	uint8_t fifo_rd;
	uint8_t fifo_cnt;
	uint8_t fifo_byte; /* byte of the head item already shifted out */
	const int32_t *wave;
	size_t wave_len;
	size_t wave_pos;
	int bus_faults;
};

struct max86141_emul_cfg {
	struct gpio_dt_spec int_gpio;
};

static void emul_update_int(const struct emul *target)
{
	struct max86141_emul_data *data = target->data;
	const struct max86141_emul_cfg *cfg = target->cfg;
	bool active = (data->reg[MAX86141_REG_INT_STATUS_1] &
		       data->reg[MAX86141_REG_INT_ENABLE_1]) != 0U;

#ifdef CONFIG_GPIO_EMUL
	if (cfg->int_gpio.port != NULL) {
		bool active_low = (cfg->int_gpio.dt_flags & GPIO_ACTIVE_LOW) != 0U;
		gpio_flags_t flags = 0;

		/* Drive the line only once the driver has made the pin an input. */
		if (gpio_emul_flags_get(cfg->int_gpio.port, cfg->int_gpio.pin, &flags) == 0 &&
		    (flags & GPIO_INPUT) != 0U) {
			(void)gpio_emul_input_set(cfg->int_gpio.port, cfg->int_gpio.pin,
						  active != active_low ? 1 : 0);
		}
	}
#else
	ARG_UNUSED(cfg);
	ARG_UNUSED(active);
#endif
}

static void emul_fifo_clear(struct max86141_emul_data *data)
{
	data->fifo_rd = 0;
	data->fifo_cnt = 0;
	data->fifo_byte = 0;
	data->reg[MAX86141_REG_OVF_COUNTER] = 0;
}

static void emul_reset(struct max86141_emul_data *data)
{
	memset(data->reg, 0, sizeof(data->reg));
	data->reg[MAX86141_REG_INT_STATUS_1] = MAX86141_INT1_PWR_RDY;
	data->reg[MAX86141_REG_SYS_CTRL] = MAX86141_SYS_SHDN;
	emul_fifo_clear(data);
	data->wave_pos = 0;
}

static uint8_t emul_read_byte(struct max86141_emul_data *data, uint8_t reg)
{
	uint8_t val;

	switch (reg) {
	case MAX86141_REG_FIFO_DATA:
		if (data->fifo_cnt == 0U) {
			return 0xFF; /* empty: tag 0x1F, not an LED exposure */
		}
		val = data->fifo[data->fifo_rd][data->fifo_byte++];
		if (data->fifo_byte == MAX86141_FIFO_ITEM_BYTES) {
			data->fifo_byte = 0;
			data->fifo_rd = (data->fifo_rd + 1U) % MAX86141_FIFO_DEPTH;
			data->fifo_cnt--;
			data->reg[MAX86141_REG_OVF_COUNTER] = 0;
		}
		return val;
	case MAX86141_REG_FIFO_DATA_CNT:
		return data->fifo_cnt;
	case MAX86141_REG_FIFO_RD_PTR:
		return data->fifo_rd;
	case MAX86141_REG_FIFO_WR_PTR:
		return (data->fifo_rd + data->fifo_cnt) % MAX86141_FIFO_DEPTH;
	case MAX86141_REG_PART_ID:
		return data->part_id;
	case MAX86141_REG_INT_STATUS_1:
	case MAX86141_REG_INT_STATUS_2:
		val = data->reg[reg];
		data->reg[reg] = 0; /* clear on read */
		return val;
	default:
		return data->reg[reg];
	}
}

static void emul_write_byte(struct max86141_emul_data *data, uint8_t reg, uint8_t val)
{
	switch (reg) {
	case MAX86141_REG_SYS_CTRL:
		if (val & MAX86141_SYS_RESET) {
			emul_reset(data);
			return;
		}
		data->reg[reg] = val;
		return;
	case MAX86141_REG_FIFO_CONFIG_2:
		if (val & MAX86141_FIFO2_FLUSH) {
			emul_fifo_clear(data);
		}
		data->reg[reg] = val & ~MAX86141_FIFO2_FLUSH;
		return;
	case MAX86141_REG_INT_STATUS_1:
	case MAX86141_REG_INT_STATUS_2:
	case MAX86141_REG_FIFO_DATA_CNT:
	case MAX86141_REG_PART_ID:
		return; /* read-only */
	default:
		data->reg[reg] = val;
		return;
	}
}

static int max86141_emul_io(const struct emul *target, const struct spi_config *config,
			    const struct spi_buf_set *tx_bufs, const struct spi_buf_set *rx_bufs)
{
	struct max86141_emul_data *data = target->data;
	size_t tx_len = 0, rx_len = 0, total;
	uint8_t reg = 0, cmd = 0;
	bool is_read;

	ARG_UNUSED(config);

	if (data->bus_faults != 0) {
		if (data->bus_faults > 0) {
			data->bus_faults--;
		}
		return -EIO;
	}
	if (tx_bufs == NULL) {
		return -EINVAL;
	}
	for (size_t i = 0; i < tx_bufs->count; i++) {
		tx_len += tx_bufs->buffers[i].len;
	}
	if (rx_bufs != NULL) {
		for (size_t i = 0; i < rx_bufs->count; i++) {
			rx_len += rx_bufs->buffers[i].len;
		}
	}
	total = MAX(tx_len, rx_len);
	if (tx_len < 2) {
		return -EINVAL;
	}

	/* Walk the transfer byte by byte over the buffer sets (full duplex). */
	size_t txi = 0, txo = 0, rxi = 0, rxo = 0;

	for (size_t pos = 0; pos < total; pos++) {
		uint8_t out = 0, in = 0;

		while (txi < tx_bufs->count && txo >= tx_bufs->buffers[txi].len) {
			txi++;
			txo = 0;
		}
		if (txi < tx_bufs->count) {
			const uint8_t *b = tx_bufs->buffers[txi].buf;

			in = (b != NULL) ? b[txo] : 0;
			txo++;
		}

		if (pos == 0) {
			reg = in;
		} else if (pos == 1) {
			cmd = in;
		} else {
			is_read = (cmd & MAX86141_SPI_READ) != 0U;
			if (is_read) {
				out = emul_read_byte(data, reg);
			} else {
				emul_write_byte(data, reg, in);
			}
			if (reg != MAX86141_REG_FIFO_DATA) {
				reg++;
			}
		}

		if (rx_bufs != NULL) {
			while (rxi < rx_bufs->count && rxo >= rx_bufs->buffers[rxi].len) {
				rxi++;
				rxo = 0;
			}
			if (rxi < rx_bufs->count) {
				uint8_t *b = rx_bufs->buffers[rxi].buf;

				if (b != NULL) {
					b[rxo] = out;
				}
				rxo++;
			}
		}
	}

	emul_update_int(target);
	return 0;
}

static int32_t emul_wave_at(const struct max86141_emul_data *data, size_t index)
{
	return data->wave[index % data->wave_len] & MAX86141_FIFO_DATA_MASK;
}

static void emul_fifo_put(struct max86141_emul_data *data, uint8_t tag, int32_t value)
{
	uint32_t item = ((uint32_t)tag << MAX86141_FIFO_TAG_SHIFT) |
			((uint32_t)value & MAX86141_FIFO_DATA_MASK);
	uint8_t wr;

	if (data->fifo_cnt == MAX86141_FIFO_DEPTH) {
		if (data->reg[MAX86141_REG_OVF_COUNTER] < EMUL_OVF_MAX) {
			data->reg[MAX86141_REG_OVF_COUNTER]++;
		}
		if ((data->reg[MAX86141_REG_FIFO_CONFIG_2] & MAX86141_FIFO2_RO) == 0U) {
			return; /* no roll-over: the new item is lost */
		}
		/* roll-over: the oldest item is lost */
		data->fifo_rd = (data->fifo_rd + 1U) % MAX86141_FIFO_DEPTH;
		data->fifo_cnt--;
		data->fifo_byte = 0;
	}
	wr = (data->fifo_rd + data->fifo_cnt) % MAX86141_FIFO_DEPTH;
	data->fifo[wr][0] = (uint8_t)(item >> 16);
	data->fifo[wr][1] = (uint8_t)(item >> 8);
	data->fifo[wr][2] = (uint8_t)item;
	data->fifo_cnt++;
}

int max86141_emul_push_samples(const struct emul *target, size_t frames)
{
	struct max86141_emul_data *data = target->data;
	uint8_t seq = data->reg[MAX86141_REG_LED_SEQ_1];
	uint8_t slots[2] = {seq & 0x0F, seq >> 4};
	uint8_t a_full = data->reg[MAX86141_REG_FIFO_CONFIG_1] & MAX86141_FIFO_A_FULL_MASK;
	unsigned int threshold = MAX86141_FIFO_DEPTH - a_full;

	if (data->reg[MAX86141_REG_SYS_CTRL] & MAX86141_SYS_SHDN) {
		return 0;
	}
	for (size_t f = 0; f < frames; f++) {
		int32_t v = emul_wave_at(data, data->wave_pos++);

		for (int s = 0; s < 2; s++) {
			if (slots[s] == MAX86141_LEDC_LED1) {
				emul_fifo_put(data, MAX86141_TAG_PPG1_LEDC1 + s, v);
			} else if (slots[s] == MAX86141_LEDC_LED2) {
				emul_fifo_put(data, MAX86141_TAG_PPG1_LEDC1 + s, v / 2);
			}
		}
		data->reg[MAX86141_REG_INT_STATUS_1] |= MAX86141_INT1_DATA_RDY;
		if (data->fifo_cnt >= threshold) {
			data->reg[MAX86141_REG_INT_STATUS_1] |= MAX86141_INT1_A_FULL;
		}
	}
	emul_update_int(target);
	return (int)frames;
}

void max86141_emul_inject_overflow(const struct emul *target, uint8_t lost)
{
	struct max86141_emul_data *data = target->data;
	uint8_t seq = data->reg[MAX86141_REG_LED_SEQ_1];
	size_t per_frame = ((seq & 0x0F) != 0U) + ((seq >> 4) != 0U);

	per_frame = MAX(per_frame, 1U);
	(void)max86141_emul_push_samples(
		target, (MAX86141_FIFO_DEPTH - data->fifo_cnt + lost + per_frame - 1) / per_frame);
}

void max86141_emul_set_waveform(const struct emul *target, const int32_t *samples, size_t len)
{
	struct max86141_emul_data *data = target->data;

	if (samples == NULL || len == 0U) {
		data->wave = default_wave;
		data->wave_len = ARRAY_SIZE(default_wave);
	} else {
		data->wave = samples;
		data->wave_len = len;
	}
}

size_t max86141_emul_wave_pos(const struct emul *target)
{
	const struct max86141_emul_data *data = target->data;

	return data->wave_pos;
}

int32_t max86141_emul_wave_sample(const struct emul *target, size_t index)
{
	return emul_wave_at(target->data, index);
}

void max86141_emul_set_part_id(const struct emul *target, uint8_t part_id)
{
	struct max86141_emul_data *data = target->data;

	data->part_id = part_id;
}

void max86141_emul_set_bus_fault(const struct emul *target, int count)
{
	struct max86141_emul_data *data = target->data;

	data->bus_faults = count;
}

size_t max86141_emul_fifo_count(const struct emul *target)
{
	const struct max86141_emul_data *data = target->data;

	return data->fifo_cnt;
}

uint8_t max86141_emul_get_reg(const struct emul *target, uint8_t reg)
{
	const struct max86141_emul_data *data = target->data;

	return (reg == MAX86141_REG_PART_ID) ? data->part_id : data->reg[reg];
}

void max86141_emul_set_reg(const struct emul *target, uint8_t reg, uint8_t val)
{
	struct max86141_emul_data *data = target->data;

	if (reg == MAX86141_REG_PART_ID) {
		data->part_id = val;
	} else {
		data->reg[reg] = val;
	}
}

static int max86141_emul_init(const struct emul *target, const struct device *parent)
{
	struct max86141_emul_data *data = target->data;

	ARG_UNUSED(parent);
	emul_reset(data);
	data->part_id = MAX86141_PART_ID;
	data->bus_faults = 0;
	max86141_emul_set_waveform(target, NULL, 0);
	return 0;
}

static const struct spi_emul_api max86141_emul_spi_api = {
	.io = max86141_emul_io,
};

#define MAX86141_EMUL(n)                                                                           \
	static struct max86141_emul_data max86141_emul_data_##n;                                   \
	static const struct max86141_emul_cfg max86141_emul_cfg_##n = {                           \
		.int_gpio = GPIO_DT_SPEC_INST_GET_OR(n, int_gpios, {0}),                           \
	};                                                                                         \
	EMUL_DT_INST_DEFINE(n, max86141_emul_init, &max86141_emul_data_##n,                        \
			    &max86141_emul_cfg_##n, &max86141_emul_spi_api, NULL)

DT_INST_FOREACH_STATUS_OKAY(MAX86141_EMUL)
