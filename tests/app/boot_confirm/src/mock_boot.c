/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Mocks for the boot_confirm test: MCUboot's image state (zephyr/dfu/mcuboot.h) and the model store's
 * boot self-test (ppgcomp/model_store.h), each counting its calls; behaviour from the test's Kconfig.
 */

#include <errno.h>

#include <zephyr/dfu/mcuboot.h>
#include <zephyr/sys/atomic.h>

#include <ppgcomp/model_store.h>

#include "mock_boot.h"

atomic_t mock_selftest_calls;
atomic_t mock_confirm_writes;
static atomic_t confirmed = ATOMIC_INIT(IS_ENABLED(CONFIG_TEST_MOCK_ALREADY_CONFIRMED));

bool boot_is_img_confirmed(void)
{
	return atomic_get(&confirmed) != 0;
}

int boot_write_img_confirmed(void)
{
	atomic_inc(&mock_confirm_writes);
	atomic_set(&confirmed, 1);
	return 0;
}

int ppg_model_store_selftest(void)
{
	atomic_val_t n = atomic_inc(&mock_selftest_calls);

	if (n < CONFIG_TEST_MOCK_SELFTEST_NOT_READY) {
		return -EAGAIN;
	}
	return CONFIG_TEST_MOCK_SELFTEST_ERR;
}
