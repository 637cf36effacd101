/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/**
 * @file
 * @brief Window geometry for the app, taken from the generated model header.
 *
 * The window length is decided in Python (the ppgcomp package's constants) and emitted by the
 * exporter as PPG_MODEL_WINDOW_LEN in lib/encoder_model/ppg_encoder_model.h, whose folder the
 * model unit puts on the include path. It is never written here by hand: without the generated
 * header, the build must define PPG_MODEL_WINDOW_LEN itself (the host tests pass
 * -DPPG_MODEL_WINDOW_LEN=<WINDOW_LEN>).
 */

#ifndef PPGCOMP_WINDOW_CFG_H_
#define PPGCOMP_WINDOW_CFG_H_

#include <ppgcomp/window.h>

#if !defined(PPG_MODEL_WINDOW_LEN) && defined(__has_include)
#if __has_include(<ppg_encoder_model.h>)
#include <ppg_encoder_model.h>
#endif
#endif

#ifndef PPG_MODEL_WINDOW_LEN
#error "PPG_MODEL_WINDOW_LEN is undefined: generate the model (lib/encoder_model) or define it"
#endif

/** Window length W in samples. */
#define PPG_WINDOW_LEN ((size_t)(PPG_MODEL_WINDOW_LEN))

/**
 * @brief Define a window object @p name with static storage of PPG_WINDOW_LEN samples.
 *
 * Call ppg_window_init(&name, name##_buf, name##_marks, PPG_WINDOW_LEN) before use, or use
 * PPG_WINDOW_INIT(name).
 */
#define PPG_WINDOW_DEFINE(name)                                                                    \
	static int32_t name##_buf[PPG_MODEL_WINDOW_LEN];                                           \
	static uint8_t name##_marks[PPG_MODEL_WINDOW_LEN];                                         \
	static struct ppg_window name

/** @brief Initialise a window defined with PPG_WINDOW_DEFINE(). */
#define PPG_WINDOW_INIT(name) ppg_window_init(&(name), name##_buf, name##_marks, PPG_WINDOW_LEN)

#endif /* PPGCOMP_WINDOW_CFG_H_ */
