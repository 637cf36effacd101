/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Confirm an MCUboot test image once the app works (boot_confirm.h): a thread of its own waits for
 * Bluetooth advertising, then runs the model store's self-test (which may block while the processing
 * thread runs the golden windows), then writes the confirmation. Any failure, or the deadline
 * CONFIG_APP_BOOT_CONFIRM_TIMEOUT_S, leaves the image unconfirmed, and MCUboot reverts it at the next
 * reset.
 */

#include <errno.h>

#include <zephyr/dfu/mcuboot.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>

#include <ppgcomp/model_store.h>

#include "boot_confirm.h"

LOG_MODULE_REGISTER(app_boot_confirm, CONFIG_APP_LOG_LEVEL);

static K_SEM_DEFINE(ble_up, 0, 1);
static atomic_t confirmed;

void app_boot_confirm_ble_up(void)
{
	k_sem_give(&ble_up);
}

bool app_boot_confirm_done(void)
{
	return atomic_get(&confirmed) != 0;
}

static k_timeout_t until(int64_t deadline)
{
	int64_t left = deadline - k_uptime_get();

	return left > 0 ? K_MSEC(left) : K_NO_WAIT;
}

/* 0 once the self-test passes; a negative errno when it fails or the deadline passes. */
static int run_selftest(int64_t deadline)
{
	for (;;) {
		int err = ppg_model_store_selftest();

		if (err == 0) {
			return 0;
		}
		/* Not ready yet (the store or the processing thread still starting): try again. */
		if ((err != -EAGAIN && err != -EBUSY) || k_uptime_get() >= deadline) {
			LOG_ERR("boot self-test failed (%d)", err);
			return err < 0 ? err : -EIO;
		}
		k_sleep(K_MSEC(CONFIG_APP_BOOT_CONFIRM_RETRY_MS));
	}
}

static void boot_confirm_thread(void *p1, void *p2, void *p3)
{
	ARG_UNUSED(p1);
	ARG_UNUSED(p2);
	ARG_UNUSED(p3);

	if (boot_is_img_confirmed()) {
		atomic_set(&confirmed, 1);
		return;
	}
	LOG_INF("test image: confirming after BLE and the self-test (%d s)", CONFIG_APP_BOOT_CONFIRM_TIMEOUT_S);
	int64_t deadline = k_uptime_get() + (int64_t)CONFIG_APP_BOOT_CONFIRM_TIMEOUT_S * MSEC_PER_SEC;

	if (k_sem_take(&ble_up, until(deadline)) != 0) {
		LOG_ERR("not confirmed: no BLE advertising within %d s; the next reset reverts",
			CONFIG_APP_BOOT_CONFIRM_TIMEOUT_S);
		return;
	}
	if (run_selftest(deadline) != 0) {
		LOG_ERR("not confirmed: self-test failed; the next reset reverts");
		return;
	}
	int err = boot_write_img_confirmed();

	if (err != 0) {
		LOG_ERR("not confirmed: writing the confirmation failed (%d)", err);
		return;
	}
	atomic_set(&confirmed, 1);
	LOG_INF("image confirmed");
}

K_THREAD_DEFINE(boot_confirm_tid, CONFIG_APP_BOOT_CONFIRM_STACK_SIZE, boot_confirm_thread, NULL, NULL, NULL,
		CONFIG_APP_BOOT_CONFIRM_PRIORITY, 0, 0);
