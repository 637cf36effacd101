/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* Preprocessing of one window to the encoder input, with the signal-quality flags. */

#ifndef APP_QUALITY_H_
#define APP_QUALITY_H_

#include <stddef.h>
#include <stdint.h>

/**
 * @brief Quantise a window (docs/preprocessing.md, section 3) and derive its quality flags
 *        (section 4): FLAT when the range is below CONFIG_APP_FLAT_RANGE_MIN, LOWRES when the int8
 *        window's quality spread is below PPG_QUALITY_MIN_SPREAD, SATURATED and GAP
 *        from the window's sample marks. Counts and logs a quality fault when any flag is set.
 *
 * @return PPG_PKT_FLAG_* bits for the packet.
 */
uint8_t app_quality_preprocess(const int32_t *x, size_t n, uint8_t win_marks, int8_t *q);

#endif /* APP_QUALITY_H_ */
