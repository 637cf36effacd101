/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * app/src/boot_confirm.c against mocks (mock_boot.c): one scenario per build (testcase.yaml). The
 * confirmation thread starts at boot; the test reports BLE as up (or not), waits for the thread to
 * end, and checks what it did.
 */

#include <zephyr/kernel.h>
#include <zephyr/ztest.h>

#include "boot_confirm.h"
#include "mock_boot.h"

extern const k_tid_t boot_confirm_tid;

ZTEST(boot_confirm, test_outcome)
{
	int64_t start = k_uptime_get();

	if (IS_ENABLED(CONFIG_TEST_BLE_UP)) {
		app_boot_confirm_ble_up();
	}
	/* The thread ends by the deadline in every scenario (the retry sleeps included). */
	zassert_ok(k_thread_join(boot_confirm_tid, K_SECONDS(CONFIG_APP_BOOT_CONFIRM_TIMEOUT_S + 1)),
		   "the confirmation thread did not end");
	zassert_equal(atomic_get(&mock_selftest_calls), CONFIG_TEST_EXPECT_SELFTEST_CALLS, "self-test calls");
	zassert_equal(atomic_get(&mock_confirm_writes), CONFIG_TEST_EXPECT_CONFIRM_WRITES, "confirm writes");
	zassert_equal(app_boot_confirm_done(), IS_ENABLED(CONFIG_TEST_EXPECT_DONE), "done");
	if (!IS_ENABLED(CONFIG_TEST_BLE_UP)) {
		/* It waited for advertising until the deadline, not less. */
		zassert_true(k_uptime_get() - start >= CONFIG_APP_BOOT_CONFIRM_TIMEOUT_S * MSEC_PER_SEC - 50,
			     "gave up early");
	}
}

ZTEST_SUITE(boot_confirm, NULL, NULL, NULL, NULL, NULL);
