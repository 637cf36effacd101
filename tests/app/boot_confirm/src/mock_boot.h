/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#ifndef MOCK_BOOT_H_
#define MOCK_BOOT_H_

#include <zephyr/sys/atomic.h>

extern atomic_t mock_selftest_calls;
extern atomic_t mock_confirm_writes;

#endif /* MOCK_BOOT_H_ */
