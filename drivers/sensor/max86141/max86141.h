/*
 * Copyright (c) 2025 The ppgcomp authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * MAX86141 optical AFE: register subset used by the driver and its emulator,
 * driver data, and the driver-specific sensor attributes.
 *
 * Register addresses, bit positions and the SPI framing follow the public
 * MAX86140/MAX86141 register map as transcribed in open-source drivers:
 *  - MakerLabCRI/Max86141 src/MAX86141.h (register addresses, SYS_CTRL,
 *    PPG_CONFIG1/2 field layout, PPG_SR and SMP_AVE codes, FIFO item format)
 *  - NuttX zGlue drivers/sensors/max86140.c (PART_ID values 0x24 MAX86140 /
 *    0x25 MAX86141, INT_STATUS_1 / INT_ENABLE_1 bit layout, FIFO_CONFIG2
 *    0x12 = flush + roll-over, read command byte 0x80)
 */

#ifndef PPGCOMP_DRIVERS_SENSOR_MAX86141_H_
#define PPGCOMP_DRIVERS_SENSOR_MAX86141_H_

#include <stdint.h>
#include <zephyr/device.h>
#include <zephyr/drivers/gpio.h>
#include <zephyr/drivers/sensor.h>
#include <zephyr/drivers/spi.h>
#include <zephyr/kernel.h>
#include <zephyr/sys/util.h>

/* SPI framing: [address][command][data...]; command 0x00 = write, 0x80 = read. */
#define MAX86141_SPI_WRITE 0x00
#define MAX86141_SPI_READ  0x80

/* Registers */
#define MAX86141_REG_INT_STATUS_1  0x00
#define MAX86141_REG_INT_STATUS_2  0x01
#define MAX86141_REG_INT_ENABLE_1  0x02
#define MAX86141_REG_INT_ENABLE_2  0x03
#define MAX86141_REG_FIFO_WR_PTR   0x04
#define MAX86141_REG_FIFO_RD_PTR   0x05
#define MAX86141_REG_OVF_COUNTER   0x06
#define MAX86141_REG_FIFO_DATA_CNT 0x07
#define MAX86141_REG_FIFO_DATA     0x08
#define MAX86141_REG_FIFO_CONFIG_1 0x09
#define MAX86141_REG_FIFO_CONFIG_2 0x0A
#define MAX86141_REG_SYS_CTRL      0x0D
#define MAX86141_REG_PPG_SYNC_CTRL 0x10
#define MAX86141_REG_PPG_CONFIG_1  0x11
#define MAX86141_REG_PPG_CONFIG_2  0x12
#define MAX86141_REG_PPG_CONFIG_3  0x13
#define MAX86141_REG_PD_BIAS       0x15
#define MAX86141_REG_LED_SEQ_1     0x20
#define MAX86141_REG_LED_SEQ_2     0x21
#define MAX86141_REG_LED_SEQ_3     0x22
#define MAX86141_REG_LED1_PA       0x23
#define MAX86141_REG_LED2_PA       0x24
#define MAX86141_REG_LED3_PA       0x25
#define MAX86141_REG_LED_RANGE_1   0x2A
#define MAX86141_REG_PART_ID       0xFF

#define MAX86141_PART_ID 0x25 /* MAX86140 reads 0x24 */

/* INT_STATUS_1 / INT_ENABLE_1 */
#define MAX86141_INT1_A_FULL   BIT(7)
#define MAX86141_INT1_DATA_RDY BIT(6)
#define MAX86141_INT1_ALC_OVF  BIT(5)
#define MAX86141_INT1_PWR_RDY  BIT(0)

/* FIFO_CONFIG_1: A_FULL asserts when the FIFO holds 128 - FIFO_A_FULL items */
#define MAX86141_FIFO_A_FULL_MASK GENMASK(6, 0)
/* FIFO_CONFIG_2 */
#define MAX86141_FIFO2_FLUSH BIT(4)
#define MAX86141_FIFO2_RO    BIT(1)

/* SYS_CTRL */
#define MAX86141_SYS_RESET      BIT(0)
#define MAX86141_SYS_SHDN       BIT(1)
#define MAX86141_SYS_LP_MODE    BIT(2)
#define MAX86141_SYS_SINGLE_PPG BIT(3)

/* PPG_CONFIG_1: [7] ALC_DIS [6] ADD_OFFSET [5:4] PPG2_ADC_RGE [3:2] PPG1_ADC_RGE [1:0] PPG_TINT */
#define MAX86141_PPG1_TINT_MASK    GENMASK(1, 0)
#define MAX86141_PPG1_ADC_RGE_MASK GENMASK(3, 2)
/* PPG_CONFIG_2: [7:3] PPG_SR [2:0] SMP_AVE */
#define MAX86141_PPG2_SR_MASK      GENMASK(7, 3)
#define MAX86141_PPG2_SMP_AVE_MASK GENMASK(2, 0)

/* LED_SEQ_1: [7:4] LEDC2 [3:0] LEDC1; codes 1 = LED1, 2 = LED2, 3 = LED3 */
#define MAX86141_LEDC_LED1 0x1
#define MAX86141_LEDC_LED2 0x2

/* FIFO geometry and item format: 3 bytes, [23:19] tag, [18:0] ADC count */
#define MAX86141_FIFO_DEPTH      128
#define MAX86141_FIFO_ITEM_BYTES 3
#define MAX86141_FIFO_TAG_SHIFT  19
#define MAX86141_FIFO_TAG_MASK   0x1F
#define MAX86141_FIFO_DATA_MASK  0x7FFFF
/* Tags 1..6: PPG1 exposure slots LEDC1..LEDC6 */
#define MAX86141_TAG_PPG1_LEDC1 1
#define MAX86141_TAG_PPG1_LEDC2 2

/* LEDx_PA step of LED range r (0..3): 120 uA * (r + 1); 8-bit code */
#define MAX86141_LED_STEP_UA(r) (120U * ((r) + 1U))
#define MAX86141_LED_MAX_UA     (MAX86141_LED_STEP_UA(3) * 255U)

/** Driver-specific attributes (sensor_attr_get on the PPG channel). */
enum max86141_sensor_attribute {
	/** Samples lost to FIFO overflows since init (OVF_COUNTER sum), val1. */
	MAX86141_ATTR_LOST_SAMPLES = SENSOR_ATTR_PRIV_START,
	/** Number of FIFO overflow events detected since init, val1. */
	MAX86141_ATTR_OVERFLOW_EVENTS,
};

#define MAX86141_MAX_SLOTS 2

struct max86141_config {
	struct spi_dt_spec spi;
	struct gpio_dt_spec int_gpio;
	uint16_t sample_rate_hz;  /* devicetree sample-rate-hz */
	uint16_t adc_range_na;    /* adc-range-nanoamp */
	uint8_t pulse_width_us;   /* pulse-width-us */
	uint8_t averaging;        /* sample-averaging */
	uint8_t watermark;        /* fifo-watermark, items 1..128 */
	uint32_t led_ua[3];       /* ledN-current-microamp */
};

struct max86141_data {
	struct k_mutex lock;
	/* Decoded frames: slot 0 = LED1 (IR), slot 1 = LED2 (RED) */
	int32_t ring[CONFIG_MAX86141_BUFFER_FRAMES][MAX86141_MAX_SLOTS];
	uint16_t head;
	uint16_t count;
	uint8_t n_slots;
	/* Frame under assembly across FIFO reads */
	int32_t partial[MAX86141_MAX_SLOTS];
	uint8_t partial_fill;
	/* Latched by sample_fetch, returned by channel_get */
	int32_t latest[MAX86141_MAX_SLOTS];
	bool have_latest;
	uint16_t sample_rate_hz;
	uint8_t int1_enable;
	uint32_t lost_samples;
	uint32_t overflow_events;
	uint8_t raw[CONFIG_MAX86141_SPI_CHUNK_ITEMS * MAX86141_FIFO_ITEM_BYTES];
#ifdef CONFIG_MAX86141_TRIGGER
	const struct device *dev;
	struct gpio_callback gpio_cb;
	sensor_trigger_handler_t handler;
	const struct sensor_trigger *trigger;
#if defined(CONFIG_MAX86141_TRIGGER_OWN_THREAD)
	struct k_sem gpio_sem;
	struct k_thread thread;
	K_KERNEL_STACK_MEMBER(thread_stack, CONFIG_MAX86141_THREAD_STACK_SIZE);
#elif defined(CONFIG_MAX86141_TRIGGER_GLOBAL_THREAD)
	struct k_work work;
#endif
#endif
};

int max86141_reg_read(const struct device *dev, uint8_t reg, uint8_t *val);
int max86141_reg_write(const struct device *dev, uint8_t reg, uint8_t val);
int max86141_fifo_drain(const struct device *dev);

#ifdef CONFIG_MAX86141_TRIGGER
int max86141_trigger_set(const struct device *dev, const struct sensor_trigger *trig,
			 sensor_trigger_handler_t handler);
int max86141_trigger_init(const struct device *dev);
#endif

#endif /* PPGCOMP_DRIVERS_SENSOR_MAX86141_H_ */
