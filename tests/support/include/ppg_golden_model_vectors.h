/*
 * The exporter's golden vectors (tests/golden/ppg_golden_vectors.h) for test apps that
 * run the committed encoder: includes them quietly (the header also carries the raw
 * and decimated streams, which such an app does not use) and fails the build when
 * they belong to another model than the one in lib/encoder_model.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#ifndef PPG_GOLDEN_MODEL_VECTORS_H_
#define PPG_GOLDEN_MODEL_VECTORS_H_

#include <zephyr/toolchain.h>

#include "ppg_encoder_model.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-const-variable"
#pragma GCC diagnostic ignored "-Wunused-variable"
#include "ppg_golden_vectors.h"
#pragma GCC diagnostic pop

BUILD_ASSERT(GOLDEN_WINDOW_LEN == PPG_MODEL_WINDOW_LEN, "golden vectors of another model");
BUILD_ASSERT(GOLDEN_CODE_LEN == PPG_MODEL_CODE_LEN, "golden vectors of another model");
BUILD_ASSERT(GOLDEN_MODEL_TAG == PPG_MODEL_TAG, "golden vectors of another model");

#endif /* PPG_GOLDEN_MODEL_VECTORS_H_ */
