/*
 * Copyright (c) 2025 The ppgcomp authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * MAX86141 driver tests through its SPI emulator on native_sim.
 */

#include <errno.h>
#include <zephyr/device.h>
#include <zephyr/devicetree.h>
#include <zephyr/drivers/emul.h>
#include <zephyr/drivers/sensor.h>
#include <zephyr/kernel.h>
#include <zephyr/ztest.h>

#include "max86141.h"
#include "max86141_emul.h"

static const struct device *const dev = DEVICE_DT_GET(DT_NODELABEL(max86141));
static const struct emul *const emul = EMUL_DT_GET(DT_NODELABEL(max86141));
static const struct device *const dual = DEVICE_DT_GET(DT_NODELABEL(max86141_dual));
static const struct emul *const dual_emul = EMUL_DT_GET(DT_NODELABEL(max86141_dual));
static const struct device *const badid = DEVICE_DT_GET(DT_NODELABEL(max86141_badid));
static const struct emul *const badid_emul = EMUL_DT_GET(DT_NODELABEL(max86141_badid));
static const struct device *const busfail = DEVICE_DT_GET(DT_NODELABEL(max86141_busfail));
static const struct emul *const busfail_emul = EMUL_DT_GET(DT_NODELABEL(max86141_busfail));

static int32_t attr(const struct device *d, int a)
{
	struct sensor_value v;

	zassert_ok(sensor_attr_get(d, SENSOR_CHAN_IR, (enum sensor_attribute)a, &v));
	return v.val1;
}

/* Fetch one frame and return its LED1 counts. */
static int32_t fetch_ir(const struct device *d)
{
	struct sensor_value v;

	zassert_ok(sensor_sample_fetch(d));
	zassert_ok(sensor_channel_get(d, SENSOR_CHAN_IR, &v));
	zassert_equal(v.val2, 0);
	return v.val1;
}

/* Take everything the driver and the emulated FIFO hold. */
static void drain(const struct device *d)
{
	int ret;

	do {
		ret = sensor_sample_fetch(d);
	} while (ret == 0);
	zassert_equal(ret, -EAGAIN, "drain ended with %d", ret);
}

static void before(void *f)
{
	ARG_UNUSED(f);
	max86141_emul_set_bus_fault(emul, 0);
	max86141_emul_set_bus_fault(dual_emul, 0);
	zassert_true(device_is_ready(dev));
	drain(dev);
	zassert_equal(max86141_emul_fifo_count(emul), 0);
}

ZTEST_SUITE(max86141, NULL, NULL, before, NULL, NULL);

ZTEST(max86141, test_init_config)
{
	/* Register values the devicetree asks for (see boards/native_sim.overlay). */
	zassert_equal(max86141_emul_get_reg(emul, MAX86141_REG_PART_ID), MAX86141_PART_ID);
	zassert_equal(max86141_emul_get_reg(emul, MAX86141_REG_PPG_CONFIG_2), 0x03 << 3,
		      "100 Hz, no averaging");
	zassert_equal(max86141_emul_get_reg(emul, MAX86141_REG_PPG_CONFIG_1), (2 << 2) | 3,
		      "16 uA ADC range, 117 us");
	zassert_equal(max86141_emul_get_reg(emul, MAX86141_REG_LED1_PA), 128, "15.36 mA");
	zassert_equal(max86141_emul_get_reg(emul, MAX86141_REG_LED_RANGE_1), 0);
	zassert_equal(max86141_emul_get_reg(emul, MAX86141_REG_LED_SEQ_1), MAX86141_LEDC_LED1);
	zassert_equal(max86141_emul_get_reg(emul, MAX86141_REG_FIFO_CONFIG_1), 128 - 32);
	zassert_equal(max86141_emul_get_reg(emul, MAX86141_REG_FIFO_CONFIG_2),
		      MAX86141_FIFO2_RO);
	zassert_equal(max86141_emul_get_reg(emul, MAX86141_REG_SYS_CTRL),
		      MAX86141_SYS_SINGLE_PPG, "out of shutdown");

	zassert_equal(max86141_emul_get_reg(dual_emul, MAX86141_REG_LED_SEQ_1),
		      MAX86141_LEDC_LED1 | (MAX86141_LEDC_LED2 << 4));
	zassert_equal(max86141_emul_get_reg(dual_emul, MAX86141_REG_LED_RANGE_1), 0x01);
	zassert_equal(max86141_emul_get_reg(dual_emul, MAX86141_REG_LED1_PA), 167, "40 mA");
	zassert_equal(max86141_emul_get_reg(dual_emul, MAX86141_REG_LED2_PA), 83, "10 mA");

	zassert_equal(attr(dev, SENSOR_ATTR_SAMPLING_FREQUENCY), 100);
	zassert_equal(attr(dev, SENSOR_ATTR_FULL_SCALE), 524287);
}

ZTEST(max86141, test_read_waveform)
{
	size_t pos = max86141_emul_wave_pos(emul);
	struct sensor_value v;

	/* More than the driver's ring (64 frames): two FIFO bursts. */
	zassert_equal(max86141_emul_push_samples(emul, 100), 100);
	for (size_t i = 0; i < 100; i++) {
		zassert_equal(fetch_ir(dev), max86141_emul_wave_sample(emul, pos + i),
			      "sample %u", (unsigned int)i);
	}
	zassert_equal(sensor_sample_fetch(dev), -EAGAIN, "no new sample yet");

	/* The app's raw-counts and green channels read LED1 as well. */
	zassert_equal(max86141_emul_push_samples(emul, 1), 1);
	zassert_ok(sensor_sample_fetch(dev));
	zassert_ok(sensor_channel_get(dev, SENSOR_CHAN_PRIV_START, &v));
	zassert_equal(v.val1, max86141_emul_wave_sample(emul, pos + 100));
	zassert_ok(sensor_channel_get(dev, SENSOR_CHAN_GREEN, &v));
	zassert_equal(v.val1, max86141_emul_wave_sample(emul, pos + 100));
	zassert_equal(sensor_channel_get(dev, SENSOR_CHAN_RED, &v), -ENOTSUP,
		      "LED2 not sequenced");
}

ZTEST(max86141, test_read_two_leds)
{
	size_t pos = max86141_emul_wave_pos(dual_emul);
	struct sensor_value ir, red;

	zassert_equal(max86141_emul_push_samples(dual_emul, 10), 10);
	for (size_t i = 0; i < 10; i++) {
		int32_t expect = max86141_emul_wave_sample(dual_emul, pos + i);

		zassert_ok(sensor_sample_fetch(dual));
		zassert_ok(sensor_channel_get(dual, SENSOR_CHAN_IR, &ir));
		zassert_ok(sensor_channel_get(dual, SENSOR_CHAN_RED, &red));
		zassert_equal(ir.val1, expect);
		zassert_equal(red.val1, expect / 2);
	}
	zassert_equal(sensor_sample_fetch(dual), -EAGAIN);
}

ZTEST(max86141, test_fifo_overflow_and_recovery)
{
	uint32_t lost0 = attr(dev, MAX86141_ATTR_LOST_SAMPLES);
	uint32_t events0 = attr(dev, MAX86141_ATTR_OVERFLOW_EVENTS);
	size_t pos = max86141_emul_wave_pos(emul);

	/* 128 + 20 samples without a read: the FIFO rolls over, 20 are lost. */
	max86141_emul_inject_overflow(emul, 20);
	zassert_equal(max86141_emul_fifo_count(emul), 128);
	zassert_equal(max86141_emul_get_reg(emul, MAX86141_REG_OVF_COUNTER), 20);

	/* The FIFO keeps the newest 128 samples: continuity after the gap. */
	for (size_t i = 0; i < 128; i++) {
		zassert_equal(fetch_ir(dev), max86141_emul_wave_sample(emul, pos + 20 + i),
			      "sample %u", (unsigned int)i);
	}
	zassert_equal(sensor_sample_fetch(dev), -EAGAIN);
	zassert_equal(attr(dev, MAX86141_ATTR_LOST_SAMPLES), lost0 + 20);
	zassert_equal(attr(dev, MAX86141_ATTR_OVERFLOW_EVENTS), events0 + 1);
	zassert_equal(max86141_emul_get_reg(emul, MAX86141_REG_OVF_COUNTER), 0);

	/* Recovered: normal reads, no further loss counted. */
	pos = max86141_emul_wave_pos(emul);
	zassert_equal(max86141_emul_push_samples(emul, 10), 10);
	for (size_t i = 0; i < 10; i++) {
		zassert_equal(fetch_ir(dev), max86141_emul_wave_sample(emul, pos + i));
	}
	zassert_equal(attr(dev, MAX86141_ATTR_LOST_SAMPLES), lost0 + 20);
	zassert_equal(attr(dev, MAX86141_ATTR_OVERFLOW_EVENTS), events0 + 1);
}

ZTEST(max86141, test_two_led_overflow_resync)
{
	size_t pos;
	struct sensor_value ir, red;

	drain(dual);
	/* 65 frames = 130 items into a 128-item FIFO: the oldest frame is lost. */
	max86141_emul_inject_overflow(dual_emul, 2);
	pos = max86141_emul_wave_pos(dual_emul) - 64;
	for (size_t i = 0; i < 64; i++) {
		zassert_ok(sensor_sample_fetch(dual));
		zassert_ok(sensor_channel_get(dual, SENSOR_CHAN_IR, &ir));
		zassert_ok(sensor_channel_get(dual, SENSOR_CHAN_RED, &red));
		zassert_equal(ir.val1, max86141_emul_wave_sample(dual_emul, pos + i));
		zassert_equal(red.val1, ir.val1 / 2, "frames stay aligned");
	}
	zassert_equal(sensor_sample_fetch(dual), -EAGAIN);
	zassert_equal(attr(dual, MAX86141_ATTR_LOST_SAMPLES), 2);
}

ZTEST(max86141, test_bus_error_fetch_and_recovery)
{
	size_t pos = max86141_emul_wave_pos(emul);

	zassert_equal(max86141_emul_push_samples(emul, 10), 10);

	/* Bus down: every fetch that needs the bus reports -EIO. */
	max86141_emul_set_bus_fault(emul, -1);
	zassert_equal(sensor_sample_fetch(dev), -EIO);
	zassert_equal(sensor_sample_fetch(dev), -EIO);

	/* Bus back: nothing was lost. */
	max86141_emul_set_bus_fault(emul, 0);
	zassert_equal(fetch_ir(dev), max86141_emul_wave_sample(emul, pos));

	/* A single failed transfer: the next fetch succeeds. */
	drain(dev);
	pos = max86141_emul_wave_pos(emul);
	zassert_equal(max86141_emul_push_samples(emul, 3), 3);
	max86141_emul_set_bus_fault(emul, 1);
	zassert_equal(sensor_sample_fetch(dev), -EIO);
	for (size_t i = 0; i < 3; i++) {
		zassert_equal(fetch_ir(dev), max86141_emul_wave_sample(emul, pos + i));
	}
}

ZTEST(max86141, test_bus_error_attr_set)
{
	struct sensor_value rate = {.val1 = 25};

	max86141_emul_set_bus_fault(emul, -1);
	zassert_equal(sensor_attr_set(dev, SENSOR_CHAN_IR, SENSOR_ATTR_SAMPLING_FREQUENCY, &rate),
		      -EIO);
	max86141_emul_set_bus_fault(emul, 0);
	zassert_equal(attr(dev, SENSOR_ATTR_SAMPLING_FREQUENCY), 100, "unchanged");
}

ZTEST(max86141, test_set_sample_rate)
{
	struct sensor_value rate = {.val1 = 25};

	zassert_ok(sensor_attr_set(dev, SENSOR_CHAN_IR, SENSOR_ATTR_SAMPLING_FREQUENCY, &rate));
	zassert_equal(max86141_emul_get_reg(emul, MAX86141_REG_PPG_CONFIG_2), 0x00);
	zassert_equal(attr(dev, SENSOR_ATTR_SAMPLING_FREQUENCY), 25);
	rate.val1 = 30;
	zassert_equal(sensor_attr_set(dev, SENSOR_CHAN_IR, SENSOR_ATTR_SAMPLING_FREQUENCY, &rate),
		      -EINVAL);
	rate.val1 = 100;
	zassert_ok(sensor_attr_set(dev, SENSOR_CHAN_IR, SENSOR_ATTR_SAMPLING_FREQUENCY, &rate));
	zassert_equal(max86141_emul_get_reg(emul, MAX86141_REG_PPG_CONFIG_2), 0x03 << 3);
}

static K_SEM_DEFINE(trig_sem, 0, 10);
static volatile int trig_frames;

static void watermark_handler(const struct device *d, const struct sensor_trigger *trig)
{
	zassert_equal(trig->type, SENSOR_TRIG_FIFO_WATERMARK);
	/* Take what the interrupt burst buffered. */
	while (sensor_sample_fetch(d) == 0) {
		trig_frames++;
	}
	k_sem_give(&trig_sem);
}

ZTEST(max86141, test_watermark_trigger)
{
	static const struct sensor_trigger trig = {
		.type = SENSOR_TRIG_FIFO_WATERMARK,
		.chan = SENSOR_CHAN_IR,
	};

	k_sem_reset(&trig_sem);
	trig_frames = 0;
	zassert_ok(sensor_trigger_set(dev, &trig, watermark_handler));
	zassert_equal(max86141_emul_get_reg(emul, MAX86141_REG_INT_ENABLE_1),
		      MAX86141_INT1_A_FULL);

	/* Below the watermark (32): no interrupt. */
	zassert_equal(max86141_emul_push_samples(emul, 31), 31);
	zassert_equal(k_sem_take(&trig_sem, K_MSEC(50)), -EAGAIN);

	/* At the watermark: the INT pin fires, the driver reads the FIFO. */
	zassert_equal(max86141_emul_push_samples(emul, 1), 1);
	zassert_ok(k_sem_take(&trig_sem, K_MSEC(500)));
	zassert_true(trig_frames >= 32, "handler got %d frames", trig_frames);
	zassert_equal(max86141_emul_fifo_count(emul), 0, "FIFO read by the interrupt");

	/* Again, with the frames taken after the handler without bus traffic. */
	zassert_ok(sensor_trigger_set(dev, &trig, NULL));
	zassert_equal(max86141_emul_get_reg(emul, MAX86141_REG_INT_ENABLE_1), 0);
	zassert_equal(max86141_emul_push_samples(emul, 40), 40);
	zassert_equal(k_sem_take(&trig_sem, K_MSEC(50)), -EAGAIN, "disabled");
}

ZTEST(max86141, test_trigger_reads_fifo_before_handler)
{
	static const struct sensor_trigger trig = {
		.type = SENSOR_TRIG_FIFO_WATERMARK,
		.chan = SENSOR_CHAN_ALL,
	};
	size_t pos = max86141_emul_wave_pos(emul);

	k_sem_reset(&trig_sem);
	trig_frames = 0;
	zassert_ok(sensor_trigger_set(dev, &trig, watermark_handler));
	/* The interrupt work reads the FIFO, then the handler takes exactly the burst. */
	zassert_equal(max86141_emul_push_samples(emul, 32), 32);
	zassert_ok(k_sem_take(&trig_sem, K_MSEC(500)));
	zassert_equal(trig_frames, 32);
	zassert_ok(sensor_trigger_set(dev, &trig, NULL));

	zassert_equal(max86141_emul_push_samples(emul, 1), 1);
	zassert_equal(fetch_ir(dev), max86141_emul_wave_sample(emul, pos + 32));
}

ZTEST(max86141, test_bad_part_id)
{
	zassert_false(device_is_ready(badid), "deferred: not initialised yet");
	max86141_emul_set_part_id(badid_emul, 0x24); /* a MAX86140 */
	zassert_equal(device_init(badid), -ENODEV);
	zassert_false(device_is_ready(badid), "init must fail on a wrong PART_ID");
}

ZTEST(max86141, test_bus_error_at_init)
{
	zassert_false(device_is_ready(busfail));
	max86141_emul_set_bus_fault(busfail_emul, -1);
	zassert_equal(device_init(busfail), -EIO);
	zassert_false(device_is_ready(busfail));
	max86141_emul_set_bus_fault(busfail_emul, 0);
}
