/*
 * FULLY_CONNECTED registration for CONFIG_TFLM_KERNELS_PPG_FC: the model-specific
 * int8 kernel (ppg_fc_core.c, ppg_fc_dot8_dsp.S) over the weights the exporter
 * pre-interleaved (ppg_encoder_fc_interleaved.{h,c} of the model unit, lib/encoder_model).
 *
 * Prepare matches each FULLY_CONNECTED node with a generated layer: same shape,
 * input zero point, and FNV-1a hashes of the node's own int8 weights and int32 bias
 * (so interleaved weights from another model are never used). A node without a
 * match, or one the kernel does not handle (per-channel, batched, other types), runs
 * TFLM's reference int8 code: always correct, only slower.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>

#include "tensorflow/lite/c/builtin_op_data.h"
#include "tensorflow/lite/c/common.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/fully_connected.h"
#include "tensorflow/lite/kernels/kernel_util.h"
#include "tensorflow/lite/micro/kernels/fully_connected.h"
#include "tensorflow/lite/micro/kernels/kernel_util.h"
#include "tensorflow/lite/micro/micro_log.h"

#include "ppg_encoder_fc_interleaved.h"
#include "tflm_ppg_fc.h"

LOG_MODULE_DECLARE(tflm_encoder, CONFIG_TFLM_ENCODER_LOG_LEVEL);

BUILD_ASSERT(PPG_FC_LAYER_COUNT <= TFLM_PPG_FC_MAX_LAYERS, "too many generated layers");

namespace tflite {
namespace {

struct OpDataPpgFc {
	OpDataFullyConnected fc;
	const tflm_ppg_fc_layer *layer; /* nullptr: reference fallback */
	int index;
};

/* Input pairs of the widest generated layer (int16 x2 per word). */
__aligned(8) uint32_t ppg_fc_x16[PPG_FC_MAX_K / 2];

#ifdef CONFIG_TFLM_PPG_FC_PROFILE
uint32_t layer_cycles[TFLM_PPG_FC_MAX_LAYERS];
#endif

void *PpgFcInit(TfLiteContext *context, const char *buffer, size_t length)
{
	ARG_UNUSED(buffer);
	ARG_UNUSED(length);
	return context->AllocatePersistentBuffer(context, sizeof(OpDataPpgFc));
}

const tflm_ppg_fc_layer *MatchLayer(const TfLiteTensor *input, const TfLiteTensor *filter,
				    const TfLiteTensor *bias, const TfLiteTensor *output,
				    const OpDataFullyConnected &fc, int *index)
{
	if (input->type != kTfLiteInt8 || filter->type != kTfLiteInt8 || fc.is_per_channel ||
	    fc.filter_zero_point != 0 || filter->dims->size != 2 || filter->data.int8 == nullptr) {
		return nullptr;
	}
	const int rows = filter->dims->data[0];
	const int cols = filter->dims->data[1];

	if (NumElements(input) != cols || NumElements(output) != rows) {
		return nullptr; /* batched */
	}
	const uint32_t fh = tflm_ppg_fc_hash(filter->data.int8, (size_t)rows * (size_t)cols);
	const uint32_t bh = (bias != nullptr && bias->data.i32 != nullptr)
				    ? tflm_ppg_fc_hash(bias->data.i32, (size_t)rows * sizeof(int32_t))
				    : 0U;

	for (int i = 0; i < PPG_FC_LAYER_COUNT; i++) {
		const tflm_ppg_fc_layer *l = &ppg_fc_layers[i];

		if (l->rows == rows && l->cols == cols && l->input_zero_point == fc.input_zero_point &&
		    l->filter_hash == fh && l->bias_hash == bh &&
		    (l->cols % TFLM_PPG_FC_COL_MULTIPLE) == 0 && l->cols / 2 <= PPG_FC_MAX_K / 2) {
			*index = i;
			return l;
		}
	}
	return nullptr;
}

TfLiteStatus PpgFcPrepare(TfLiteContext *context, TfLiteNode *node)
{
	MicroContext *micro_context = GetMicroContext(context);
	auto *data = static_cast<OpDataPpgFc *>(node->user_data);
	const auto *params = static_cast<const TfLiteFullyConnectedParams *>(node->builtin_data);

	TfLiteTensor *input = micro_context->AllocateTempInputTensor(node, kFullyConnectedInputTensor);
	TF_LITE_ENSURE(context, input != nullptr);
	TfLiteTensor *filter =
		micro_context->AllocateTempInputTensor(node, kFullyConnectedWeightsTensor);
	TF_LITE_ENSURE(context, filter != nullptr);
	TfLiteTensor *bias = micro_context->AllocateTempInputTensor(node, kFullyConnectedBiasTensor);
	TfLiteTensor *output =
		micro_context->AllocateTempOutputTensor(node, kFullyConnectedOutputTensor);
	TF_LITE_ENSURE(context, output != nullptr);
	TF_LITE_ENSURE_TYPES_EQ(context, input->type, output->type);
	if (input->type != kTfLiteInt8 || filter->type != kTfLiteInt8) {
		MicroPrintf("PPG FC kernel: only int8 input and weights, got %s / %s",
			    TfLiteTypeGetName(input->type), TfLiteTypeGetName(filter->type));
		return kTfLiteError;
	}
	TF_LITE_ENSURE_OK(context, CalculateOpDataFullyConnected(context, params->activation,
								 input->type, input, filter, bias,
								 output, &data->fc));
	data->index = -1;
	data->layer = MatchLayer(input, filter, bias, output, data->fc, &data->index);
	if (data->layer == nullptr) {
		LOG_WRN("FULLY_CONNECTED %dx%d: no interleaved weights for it, reference kernel",
			filter->dims->size == 2 ? filter->dims->data[0] : -1,
			filter->dims->size == 2 ? filter->dims->data[1] : -1);
	}

	micro_context->DeallocateTempTfLiteTensor(input);
	micro_context->DeallocateTempTfLiteTensor(filter);
	if (bias != nullptr) {
		micro_context->DeallocateTempTfLiteTensor(bias);
	}
	micro_context->DeallocateTempTfLiteTensor(output);
	return kTfLiteOk;
}

TfLiteStatus PpgFcEval(TfLiteContext *context, TfLiteNode *node)
{
	const auto &data = *static_cast<const OpDataPpgFc *>(node->user_data);
	const TfLiteEvalTensor *input =
		tflite::micro::GetEvalInput(context, node, kFullyConnectedInputTensor);
	TfLiteEvalTensor *output =
		tflite::micro::GetEvalOutput(context, node, kFullyConnectedOutputTensor);

	if (data.layer != nullptr) {
#ifdef CONFIG_TFLM_PPG_FC_PROFILE
		uint32_t t0 = k_cycle_get_32();
#endif
		const tflm_ppg_fc_requant rq = {
			.multiplier = data.fc.output_multiplier,
			.shift = data.fc.output_shift,
			.output_zero_point = data.fc.output_zero_point,
			.act_min = data.fc.output_activation_min,
			.act_max = data.fc.output_activation_max,
		};

		tflm_ppg_fc_eval(data.layer, &rq, tflite::micro::GetTensorData<int8_t>(input),
				 tflite::micro::GetTensorData<int8_t>(output), ppg_fc_x16);
#ifdef CONFIG_TFLM_PPG_FC_PROFILE
		layer_cycles[data.index] = k_cycle_get_32() - t0;
#endif
		return kTfLiteOk;
	}

	const TfLiteEvalTensor *filter =
		tflite::micro::GetEvalInput(context, node, kFullyConnectedWeightsTensor);
	const TfLiteEvalTensor *bias =
		tflite::micro::GetEvalInput(context, node, kFullyConnectedBiasTensor);

	if (data.fc.is_per_channel) {
		reference_integer_ops::FullyConnectedPerChannel(
			FullyConnectedParamsQuantized(data.fc), data.fc.per_channel_output_multiplier,
			reinterpret_cast<const int *>(data.fc.per_channel_output_shift),
			tflite::micro::GetTensorShape(input), tflite::micro::GetTensorData<int8_t>(input),
			tflite::micro::GetTensorShape(filter),
			tflite::micro::GetTensorData<int8_t>(filter), tflite::micro::GetTensorShape(bias),
			tflite::micro::GetOptionalTensorData<int32_t>(bias),
			tflite::micro::GetTensorShape(output),
			tflite::micro::GetTensorData<int8_t>(output));
	} else {
		reference_integer_ops::FullyConnected(
			FullyConnectedParamsQuantized(data.fc), tflite::micro::GetTensorShape(input),
			tflite::micro::GetTensorData<int8_t>(input), tflite::micro::GetTensorShape(filter),
			tflite::micro::GetTensorData<int8_t>(filter), tflite::micro::GetTensorShape(bias),
			tflite::micro::GetOptionalTensorData<int32_t>(bias),
			tflite::micro::GetTensorShape(output),
			tflite::micro::GetTensorData<int8_t>(output));
	}
	return kTfLiteOk;
}

} /* namespace */

TFLMRegistration Register_FULLY_CONNECTED()
{
	return tflite::micro::RegisterOp(PpgFcInit, PpgFcPrepare, PpgFcEval);
}

} /* namespace tflite */

extern "C" uint32_t tflm_ppg_fc_layer_cycles(int index)
{
#ifdef CONFIG_TFLM_PPG_FC_PROFILE
	if (index >= 0 && index < TFLM_PPG_FC_MAX_LAYERS) {
		return tflite::layer_cycles[index];
	}
#else
	ARG_UNUSED(index);
#endif
	return 0U;
}
