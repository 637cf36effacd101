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

#include <stdbool.h>
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
 * @retval -ENOMEM  The arena is too small (logged): either the bound of what AllocateTensors() takes
 *                  before planning the tensors (tflm_encoder_arena_bound()) exceeds it, so the model is
 *                  refused without running TFLM (whose kernels fault on some allocation failures in
 *                  Prepare, see src/tflm_encoder.cc), or AllocateTensors() failed.
 *
 * Any model is taken (e.g. a blob from the model store), checked as above: with
 * CONFIG_TFLM_VERIFY_MODEL the whole flatbuffer is verified first, which an untrusted model needs.
 */
int tflm_encoder_init(const uint8_t *model, size_t model_len);

/**
 * @brief tflm_encoder_init() with only the first arena_limit bytes of the arena (at most
 *        CONFIG_TFLM_ARENA_SIZE; -EINVAL beyond): checks how a model behaves with a smaller arena.
 */
int tflm_encoder_init_limited(const uint8_t *model, size_t model_len, size_t arena_limit);

/** @brief Whether the op resolver registers this TFLite BuiltinOperator code. */
bool tflm_encoder_op_registered(int32_t builtin_code);

/** @brief The last init's bound of the arena taken before tensor planning (0 when not computed). */
size_t tflm_encoder_arena_bound(void);

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

/**
 * @brief Arena bytes the model needs, 0 before init: the most the arena held while it loaded (the
 *        kernels' temporary tensors in Prepare included), at least arena_used_bytes().
 */
size_t tflm_encoder_arena_used(void);

/** @brief Duration of the last Invoke() in microseconds (0 before the first run). */
uint32_t tflm_encoder_last_inference_us(void);

/**
 * @brief The loaded model's input and output quantization (scale, zero point).
 *
 * @retval 0       Written.
 * @retval -EAGAIN tflm_encoder_init() has not succeeded.
 * @retval -EINVAL NULL pointer.
 */
int tflm_encoder_io_quant(float *in_scale, int32_t *in_zero_point, float *out_scale,
			  int32_t *out_zero_point);

#ifdef __cplusplus
}
#endif

#endif /* TFLM_ENCODER_H_ */
