/*
 * PPG encoder on TensorFlow Lite Micro: a small C API over a trimmed TFLM build
 * (modules/tflm). The model is the generated int8 encoder (ppg_encoder_model.h):
 * one int8 input of PPG_MODEL_WINDOW_LEN values, one int8 output of
 * PPG_MODEL_CODE_LEN codes.
 *
 * Not reentrant across threads by design, but calls are serialised by an
 * internal mutex, so init/run from different threads are safe.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#ifndef TFLM_ENCODER_H_
#define TFLM_ENCODER_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Load a model and allocate its tensors in the static arena
 *        tflm_tensor_arena (CONFIG_TFLM_ARENA_SIZE bytes).
 *
 * May be called again to load another model; a failed call leaves the encoder
 * uninitialised (tflm_encoder_run() then returns -EAGAIN).
 *
 * @param model     TFLite flatbuffer (e.g. ppg_encoder_model_data), 4-byte
 *                  aligned at least; must stay valid while the encoder is used.
 * @param model_len Its size in bytes.
 *
 * @retval 0        Ready.
 * @retval -EINVAL  NULL/short buffer, not a TFLite flatbuffer, wrong schema
 *                  version, or (CONFIG_TFLM_VERIFY_MODEL) a corrupt buffer.
 * @retval -ENOTSUP An operator the resolver does not hold, or input/output
 *                  tensors that are not one int8 [.., PPG_MODEL_WINDOW_LEN] input
 *                  and one int8 [.., PPG_MODEL_CODE_LEN] output.
 * @retval -ENOMEM  AllocateTensors() failed: the arena is too small (logged).
 */
int tflm_encoder_init(const uint8_t *model, size_t model_len);

/**
 * @brief Encode one preprocessed window.
 *
 * The input is copied into the input tensor before every Invoke() (TFLM's
 * memory planner may reuse the input buffer for activations).
 *
 * @param in      int8 window, in_len == PPG_MODEL_WINDOW_LEN.
 * @param out     Receives the int8 codes, out_len == PPG_MODEL_CODE_LEN.
 *
 * @retval 0       Codes written to out.
 * @retval -EAGAIN tflm_encoder_init() has not succeeded.
 * @retval -EINVAL NULL pointer or a length that is not the tensor's size.
 * @retval -EIO    Invoke() failed.
 */
int tflm_encoder_run(const int8_t *in, size_t in_len, int8_t *out, size_t out_len);

/** @brief Arena bytes the interpreter uses (arena_used_bytes()), 0 before init. */
size_t tflm_encoder_arena_used(void);

/** @brief Duration of the last Invoke() in microseconds (0 before the first run). */
uint32_t tflm_encoder_last_inference_us(void);

#ifdef __cplusplus
}
#endif

#endif /* TFLM_ENCODER_H_ */
