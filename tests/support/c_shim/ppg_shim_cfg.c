/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* Test-only: the window length that <ppgcomp/window_cfg.h> resolves to. */

#include <stddef.h>
#include <stdint.h>

#include <ppgcomp/window_cfg.h>

PPG_WINDOW_DEFINE(shim_cfg_window);

size_t shim_cfg_window_len(void)
{
	return PPG_WINDOW_LEN;
}

int shim_cfg_window_init(void)
{
	return PPG_WINDOW_INIT(shim_cfg_window);
}
