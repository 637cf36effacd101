/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* The int8 encoder (modules/tflm) over the active model, with init retry and backoff. */

#ifndef APP_ENCODER_H_
#define APP_ENCODER_H_

#include <stdint.h>

/** First init attempt; a failure is logged, counted and retried later (never fatal). */
int app_encoder_init(void);

/**
 * @brief Encode one preprocessed window into PPG_MODEL_CODE_LEN codes.
 *
 * When the encoder is not initialised, retries the init once its backoff delay has passed.
 *
 * @retval 0 on success.
 * @retval -EAGAIN the encoder is not ready (init failed, waiting for the next retry).
 * @retval other negative errno from tflm_encoder_run().
 */
int app_encoder_run(const int8_t *q, int8_t *codes);

/** The packet's model tag: the active model's (the model store's, else the built-in PPG_MODEL_TAG). */
uint8_t app_encoder_model_tag(void);

#endif /* APP_ENCODER_H_ */
