/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Confirmation of a test image after an update over the air (docs/flash_layout.md).
 *
 * MCUboot boots an uploaded image as a test: unless the image marks itself confirmed, MCUboot swaps
 * the previous image back at the next reset. boot_confirm.c confirms the running image only once the
 * app is known to work: Bluetooth advertising has started (transport_ble.c calls
 * app_boot_confirm_ble_up()) and the model store's boot self-test passes
 * (ppg_model_store_selftest()). If both have not happened within CONFIG_APP_BOOT_CONFIRM_TIMEOUT_S
 * it gives up and logs it: the image stays unconfirmed and the next reset reverts it.
 *
 * Compiled only with MCUboot (CONFIG_APP_BOOT_CONFIRM, which needs CONFIG_BOOTLOADER_MCUBOOT); without
 * it app_boot_confirm_ble_up() is an empty inline function, so callers need no #if.
 */

#ifndef APP_BOOT_CONFIRM_H_
#define APP_BOOT_CONFIRM_H_

#include <stdbool.h>

#if defined(CONFIG_APP_BOOT_CONFIRM)

/** Bluetooth advertising has started. Call from any thread, any number of times. */
void app_boot_confirm_ble_up(void);

/** True once the running image is confirmed (it was already, or boot_confirm.c confirmed it). */
bool app_boot_confirm_done(void);

#else

static inline void app_boot_confirm_ble_up(void)
{
}

static inline bool app_boot_confirm_done(void)
{
	return true;
}

#endif

#endif /* APP_BOOT_CONFIRM_H_ */
