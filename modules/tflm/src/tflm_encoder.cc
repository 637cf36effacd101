/*
 * PPG encoder on TensorFlow Lite Micro (see tflm_encoder.h and ../README.md).
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <errno.h>
#include <string.h>

#include <new>

#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/sys/byteorder.h>
#include <zephyr/sys/util.h>

#include "tensorflow/compiler/mlir/lite/schema/schema_utils.h"
#include "tensorflow/lite/micro/kernels/conv.h"
#include "tensorflow/lite/micro/kernels/fully_connected.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

#include "ppg_encoder_model.h"
#include "tflm_encoder.h"

LOG_MODULE_REGISTER(tflm_encoder, CONFIG_TFLM_ENCODER_LOG_LEVEL);

/*
 * The tensor arena. C linkage and this exact name: the ELF size tool
 * attributes the arena by the symbol tflm_tensor_arena.
 */
extern "C" {
__aligned(16) uint8_t tflm_tensor_arena[CONFIG_TFLM_ARENA_SIZE];
}

namespace {

using OpResolver = tflite::MicroMutableOpResolver<PPG_MODEL_OP_COUNT>;

/*
 * Interpreter and resolver live in static storage and are constructed with
 * placement new in tflm_encoder_init(): no heap, and no dependency on C++
 * global constructors.
 */
alignas(OpResolver) uint8_t resolver_storage[sizeof(OpResolver)];
alignas(tflite::MicroInterpreter) uint8_t interpreter_storage[sizeof(tflite::MicroInterpreter)];

OpResolver *resolver;
tflite::MicroInterpreter *interpreter;
TfLiteTensor *input_tensor;
TfLiteTensor *output_tensor;
size_t arena_used;
uint32_t last_inference_us;

K_MUTEX_DEFINE(encoder_lock);

/*
 * One add_<Op>() per operator the generated model may list, each defined only when the
 * model uses it (CONFIG_PPG_MODEL_OP_<OP> from the generated Kconfig.model, which also
 * makes CMakeLists.txt compile that kernel), so that a build whose model lacks an operator
 * never references its kernel. The model is int8 throughout (int8 input and output,
 * checked in tflm_encoder_init(); int8 weights), so an operator with an int8-only
 * registration uses it: with CMSIS-NN, Register_FULLY_CONNECTED_INT8() and
 * Register_CONV_2D_INT8() link only the s8 paths (no float, int4 or int16 kernels:
 * several KB of flash); with the reference kernels they are Register_FULLY_CONNECTED()
 * and Register_CONV_2D(). A new operator in PPG_MODEL_FOR_EACH_OP needs its add_<Op>()
 * here, its PPG_MODEL_OP_<OP> in ../Kconfig and its kernel in ../CMakeLists.txt (the
 * build fails until it has them: add_<Op> not declared).
 */
#if defined(CONFIG_PPG_MODEL_OP_FULLY_CONNECTED)
inline TfLiteStatus add_FullyConnected(OpResolver &r)
{
	return r.AddFullyConnected(tflite::Register_FULLY_CONNECTED_INT8());
}
#endif

#if defined(CONFIG_PPG_MODEL_OP_CONV_2D)
inline TfLiteStatus add_Conv2D(OpResolver &r)
{
	return r.AddConv2D(tflite::Register_CONV_2D_INT8());
}
#endif

#if defined(CONFIG_PPG_MODEL_OP_RESHAPE)
inline TfLiteStatus add_Reshape(OpResolver &r)
{
	return r.AddReshape();
}
#endif

#if defined(CONFIG_PPG_MODEL_OP_ABS)
inline TfLiteStatus add_Abs(OpResolver &r)
{
	return r.AddAbs();
}
#endif

/* Registers exactly the model's operators (X-macro from ppg_encoder_model.h). */
TfLiteStatus register_ops(OpResolver &r)
{
#define TFLM_ENCODER_ADD_OP(op)                                                                \
	if (add_##op(r) != kTfLiteOk) {                                                        \
		LOG_ERR("cannot register op %s", #op);                                         \
		return kTfLiteError;                                                           \
	}
	PPG_MODEL_FOR_EACH_OP(TFLM_ENCODER_ADD_OP)
#undef TFLM_ENCODER_ADD_OP
	return kTfLiteOk;
}

void teardown(void)
{
	if (interpreter != nullptr) {
		interpreter->~MicroInterpreter();
		interpreter = nullptr;
	}
	input_tensor = nullptr;
	output_tensor = nullptr;
	arena_used = 0;
	last_inference_us = 0;
}

/* File identifier, schema version and (optionally) the flatbuffers verifier. */
int check_schema(const uint8_t *model, size_t model_len, const tflite::Model **out)
{
	/* Root offset + "TFL3" identifier. */
	if (model == nullptr || model_len < 8) {
		LOG_ERR("model: no buffer (%zu bytes)", model_len);
		return -EINVAL;
	}
	if (!tflite::ModelBufferHasIdentifier(model)) {
		LOG_ERR("model: not a TFLite flatbuffer (no TFL3 identifier)");
		return -EINVAL;
	}
	if (sys_get_le32(model) >= model_len) {
		LOG_ERR("model: root offset outside the buffer");
		return -EINVAL;
	}
#ifdef CONFIG_TFLM_VERIFY_MODEL
	flatbuffers::Verifier verifier(model, model_len);
	if (!tflite::VerifyModelBuffer(verifier)) {
		LOG_ERR("model: flatbuffer verification failed");
		return -EINVAL;
	}
#endif
	const tflite::Model *m = tflite::GetModel(model);

	if (m->version() != TFLITE_SCHEMA_VERSION) {
		LOG_ERR("model: schema version %u, expected %d", (unsigned int)m->version(),
			TFLITE_SCHEMA_VERSION);
		return -EINVAL;
	}
	if (m->subgraphs() == nullptr || m->subgraphs()->size() != 1 ||
	    m->operator_codes() == nullptr || m->buffers() == nullptr) {
		LOG_ERR("model: expected exactly one subgraph, operator codes and buffers");
		return -EINVAL;
	}
	*out = m;
	return 0;
}

/*
 * Operator and tensor type names for the log lines below. TFLM's name tables (every builtin
 * operator's name: about 4.3 KB of flash) are linked only while TFLM keeps its own strings; with
 * CONFIG_TFLM_STRIP_ERROR_STRINGS the lines give the schema's enum value alone (BuiltinOperator /
 * TensorType in tensorflow/lite/schema/schema_generated.h).
 */
const char *op_name(tflite::BuiltinOperator op)
{
	return IS_ENABLED(CONFIG_TFLM_STRIP_ERROR_STRINGS) ? "name stripped"
							   : tflite::EnumNameBuiltinOperator(op);
}

const char *tensor_type_name(tflite::TensorType type)
{
	return IS_ENABLED(CONFIG_TFLM_STRIP_ERROR_STRINGS) ? "name stripped"
							   : tflite::EnumNameTensorType(type);
}

/* One int8 tensor of `elements` values (any leading dimensions of 1). */
int check_io_tensor(const tflite::SubGraph *sg, const flatbuffers::Vector<int32_t> *io,
		    size_t elements, const char *what)
{
	if (io == nullptr || io->size() != 1) {
		LOG_ERR("model: expected one %s tensor, got %u", what,
			io == nullptr ? 0U : (unsigned int)io->size());
		return -ENOTSUP;
	}
	int32_t idx = io->Get(0);

	if (sg->tensors() == nullptr || idx < 0 || (uint32_t)idx >= sg->tensors()->size()) {
		LOG_ERR("model: bad %s tensor index %d", what, (int)idx);
		return -EINVAL;
	}
	const tflite::Tensor *t = sg->tensors()->Get(idx);

	if (t->type() != tflite::TensorType_INT8) {
		LOG_ERR("model: %s tensor type %d (%s), expected INT8", what, (int)t->type(),
			tensor_type_name(t->type()));
		return -ENOTSUP;
	}
	size_t n = 1;

	if (t->shape() == nullptr || t->shape()->size() == 0) {
		n = 0;
	} else {
		for (int32_t d : *t->shape()) {
			n *= (d > 0) ? (size_t)d : 0U;
		}
	}
	if (n != elements) {
		LOG_ERR("model: %s tensor has %zu elements, expected %zu", what, n, elements);
		return -ENOTSUP;
	}
	return 0;
}

/* Every operator must be in the resolver; one int8 input, one int8 output. */
int check_graph(const tflite::Model *m, const OpResolver &r)
{
	const auto *codes = m->operator_codes();

	for (uint32_t i = 0; i < codes->size(); i++) {
		const tflite::OperatorCode *code = codes->Get(i);
		tflite::BuiltinOperator op = tflite::GetBuiltinCode(code);

		if (op == tflite::BuiltinOperator_CUSTOM) {
			LOG_ERR("model: custom op %s not supported",
				code->custom_code() ? code->custom_code()->c_str() : "?");
			return -ENOTSUP;
		}
		if (r.FindOp(op) == nullptr) {
			LOG_ERR("model: op %d (%s) not in the resolver (PPG_MODEL_FOR_EACH_OP)",
				(int)op, op_name(op));
			return -ENOTSUP;
		}
	}

	const tflite::SubGraph *sg = m->subgraphs()->Get(0);
	int ret = check_io_tensor(sg, sg->inputs(), PPG_MODEL_WINDOW_LEN, "input");

	if (ret == 0) {
		ret = check_io_tensor(sg, sg->outputs(), PPG_MODEL_CODE_LEN, "output");
	}
	return ret;
}

int init_locked(const uint8_t *model, size_t model_len)
{
	const tflite::Model *m = nullptr;
	int ret;

	teardown();

	ret = check_schema(model, model_len, &m);
	if (ret != 0) {
		return ret;
	}

	if (resolver == nullptr) {
		resolver = new (resolver_storage) OpResolver();
		if (register_ops(*resolver) != kTfLiteOk) {
			resolver->~OpResolver();
			resolver = nullptr;
			return -ENOTSUP;
		}
	}

	ret = check_graph(m, *resolver);
	if (ret != 0) {
		return ret;
	}

	interpreter = new (interpreter_storage)
		tflite::MicroInterpreter(m, *resolver, tflm_tensor_arena, sizeof(tflm_tensor_arena));

	if (interpreter->AllocateTensors() != kTfLiteOk) {
		LOG_ERR("AllocateTensors failed: arena of %u bytes (CONFIG_TFLM_ARENA_SIZE) "
			"too small; the model's measured default is %u",
			(unsigned int)sizeof(tflm_tensor_arena), (unsigned int)PPG_MODEL_ARENA_BYTES);
		teardown();
		return -ENOMEM;
	}

	TfLiteTensor *in = interpreter->input(0);
	TfLiteTensor *out = interpreter->output(0);

	if (in == nullptr || out == nullptr || in->type != kTfLiteInt8 ||
	    out->type != kTfLiteInt8 || in->bytes != PPG_MODEL_WINDOW_LEN ||
	    out->bytes != PPG_MODEL_CODE_LEN) {
		LOG_ERR("unexpected input/output tensors after allocation");
		teardown();
		return -ENOTSUP;
	}

	input_tensor = in;
	output_tensor = out;
	arena_used = interpreter->arena_used_bytes();
	LOG_INF("encoder ready: %u ops, arena %zu/%u bytes", (unsigned int)PPG_MODEL_OP_COUNT,
		arena_used, (unsigned int)sizeof(tflm_tensor_arena));
	return 0;
}

} /* namespace */

extern "C" int tflm_encoder_init(const uint8_t *model, size_t model_len)
{
	k_mutex_lock(&encoder_lock, K_FOREVER);
	int ret = init_locked(model, model_len);
	k_mutex_unlock(&encoder_lock);
	return ret;
}

extern "C" int tflm_encoder_run(const int8_t *in, size_t in_len, int8_t *out, size_t out_len)
{
	int ret = 0;

	k_mutex_lock(&encoder_lock, K_FOREVER);

	if (interpreter == nullptr) {
		ret = -EAGAIN;
	} else if (in == nullptr || out == nullptr || in_len != input_tensor->bytes ||
		   out_len != output_tensor->bytes) {
		ret = -EINVAL;
	} else {
		/* Refill every time: the planner may reuse the input buffer. */
		memcpy(input_tensor->data.int8, in, in_len);

		uint32_t start = k_cycle_get_32();
		TfLiteStatus status = interpreter->Invoke();
		uint32_t cycles = k_cycle_get_32() - start;

		last_inference_us = k_cyc_to_us_floor32(cycles);
		if (status != kTfLiteOk) {
			LOG_ERR("Invoke failed (%d)", (int)status);
			ret = -EIO;
		} else {
			memcpy(out, output_tensor->data.int8, out_len);
		}
	}

	k_mutex_unlock(&encoder_lock);
	return ret;
}

extern "C" size_t tflm_encoder_arena_used(void)
{
	return arena_used;
}

extern "C" uint32_t tflm_encoder_last_inference_us(void)
{
	return last_inference_us;
}
