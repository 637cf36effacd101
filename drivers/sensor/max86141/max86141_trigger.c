/*
 * Copyright (c) 2025 The ppgcomp authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * MAX86141 interrupt handling: the INT pin (active low) fires when the FIFO
 * reaches the watermark (A_FULL) or on every sample (DATA_RDY). The handler
 * runs in a work item or a driver thread: it reads INT_STATUS_1 (which clears
 * it and releases the pin), drains the FIFO into the driver's frame ring and
 * then calls the application's trigger handler, which takes the frames with
 * sensor_sample_fetch()/sensor_channel_get() without further bus traffic.
 */

#define DT_DRV_COMPAT maxim_max86141

#include <zephyr/drivers/gpio.h>
#include <zephyr/drivers/sensor.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>

#include "max86141.h"

LOG_MODULE_DECLARE(MAX86141, CONFIG_SENSOR_LOG_LEVEL);

static void max86141_kick(struct max86141_data *data)
{
#if defined(CONFIG_MAX86141_TRIGGER_OWN_THREAD)
	k_sem_give(&data->gpio_sem);
#elif defined(CONFIG_MAX86141_TRIGGER_GLOBAL_THREAD)
	k_work_submit(&data->work);
#endif
}

static void max86141_gpio_callback(const struct device *port, struct gpio_callback *cb,
				   uint32_t pins)
{
	struct max86141_data *data = CONTAINER_OF(cb, struct max86141_data, gpio_cb);

	ARG_UNUSED(port);
	ARG_UNUSED(pins);
	max86141_kick(data);
}

static void max86141_handle_int(const struct device *dev)
{
	const struct max86141_config *cfg = dev->config;
	struct max86141_data *data = dev->data;
	sensor_trigger_handler_t handler;
	const struct sensor_trigger *trig;
	uint8_t status = 0;
	int ret;

	k_mutex_lock(&data->lock, K_FOREVER);
	ret = max86141_reg_read(dev, MAX86141_REG_INT_STATUS_1, &status);
	if (ret == 0 && (status & (MAX86141_INT1_A_FULL | MAX86141_INT1_DATA_RDY)) != 0U) {
		ret = max86141_fifo_drain(dev);
	}
	handler = data->handler;
	trig = data->trigger;
	k_mutex_unlock(&data->lock);

	if (ret < 0) {
		LOG_ERR("%s: interrupt handling failed (%d)", dev->name, ret);
		return;
	}
	if (handler != NULL && (status & data->int1_enable) != 0U) {
		handler(dev, trig);
	}
	/* Edge-triggered input: if INT is still asserted, go round again. */
	if (gpio_pin_get_dt(&cfg->int_gpio) > 0) {
		max86141_kick(data);
	}
}

#if defined(CONFIG_MAX86141_TRIGGER_OWN_THREAD)
static void max86141_thread(void *p1, void *p2, void *p3)
{
	const struct device *dev = p1;
	struct max86141_data *data = dev->data;

	ARG_UNUSED(p2);
	ARG_UNUSED(p3);
	while (true) {
		k_sem_take(&data->gpio_sem, K_FOREVER);
		max86141_handle_int(dev);
	}
}
#elif defined(CONFIG_MAX86141_TRIGGER_GLOBAL_THREAD)
static void max86141_work_cb(struct k_work *work)
{
	struct max86141_data *data = CONTAINER_OF(work, struct max86141_data, work);

	max86141_handle_int(data->dev);
}
#endif

int max86141_trigger_set(const struct device *dev, const struct sensor_trigger *trig,
			 sensor_trigger_handler_t handler)
{
	const struct max86141_config *cfg = dev->config;
	struct max86141_data *data = dev->data;
	uint8_t mask;
	int ret;

	if (cfg->int_gpio.port == NULL) {
		return -ENOTSUP;
	}
	if (trig->chan != SENSOR_CHAN_ALL && trig->chan != SENSOR_CHAN_IR &&
	    trig->chan != SENSOR_CHAN_RED) {
		return -ENOTSUP;
	}
	switch (trig->type) {
	case SENSOR_TRIG_FIFO_WATERMARK:
		mask = MAX86141_INT1_A_FULL;
		break;
	case SENSOR_TRIG_DATA_READY:
		mask = MAX86141_INT1_DATA_RDY;
		break;
	default:
		return -ENOTSUP;
	}

	k_mutex_lock(&data->lock, K_FOREVER);
	data->handler = handler;
	data->trigger = trig;
	data->int1_enable = (handler != NULL) ? mask : 0U;
	ret = max86141_reg_write(dev, MAX86141_REG_INT_ENABLE_1, data->int1_enable);
	k_mutex_unlock(&data->lock);
	if (ret < 0) {
		return ret;
	}

	ret = gpio_pin_interrupt_configure_dt(&cfg->int_gpio, handler != NULL
								     ? GPIO_INT_EDGE_TO_ACTIVE
								     : GPIO_INT_DISABLE);
	if (ret < 0) {
		return ret;
	}
	if (handler != NULL && gpio_pin_get_dt(&cfg->int_gpio) > 0) {
		max86141_kick(data);
	}
	return 0;
}

int max86141_trigger_init(const struct device *dev)
{
	const struct max86141_config *cfg = dev->config;
	struct max86141_data *data = dev->data;
	int ret;

	if (!gpio_is_ready_dt(&cfg->int_gpio)) {
		LOG_ERR("%s: INT GPIO port %s not ready", dev->name, cfg->int_gpio.port->name);
		return -ENODEV;
	}
	data->dev = dev;

#if defined(CONFIG_MAX86141_TRIGGER_OWN_THREAD)
	k_sem_init(&data->gpio_sem, 0, K_SEM_MAX_LIMIT);
	k_thread_create(&data->thread, data->thread_stack, CONFIG_MAX86141_THREAD_STACK_SIZE,
			max86141_thread, (void *)dev, NULL, NULL,
			K_PRIO_COOP(CONFIG_MAX86141_THREAD_PRIORITY), 0, K_NO_WAIT);
	k_thread_name_set(&data->thread, dev->name);
#elif defined(CONFIG_MAX86141_TRIGGER_GLOBAL_THREAD)
	k_work_init(&data->work, max86141_work_cb);
#endif

	ret = gpio_pin_configure_dt(&cfg->int_gpio, GPIO_INPUT);
	if (ret < 0) {
		return ret;
	}
	gpio_init_callback(&data->gpio_cb, max86141_gpio_callback, BIT(cfg->int_gpio.pin));
	ret = gpio_add_callback(cfg->int_gpio.port, &data->gpio_cb);
	if (ret < 0) {
		return ret;
	}
	return gpio_pin_interrupt_configure_dt(&cfg->int_gpio, GPIO_INT_DISABLE);
}
