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
#include "tensorflow/lite/core/c/builtin_op_data.h"
#include "tensorflow/lite/micro/kernels/fully_connected.h"
#include "tensorflow/lite/micro/memory_planner/greedy_memory_planner.h"
#include "tensorflow/lite/micro/arena_allocator/single_arena_buffer_allocator.h"
#include "tensorflow/lite/micro/compatibility.h"
#include "tensorflow/lite/micro/micro_allocator.h"
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
BUILD_ASSERT(CONFIG_TFLM_ARENA_HEADROOM % 16 == 0, "the headroom keeps the arena's end aligned");

extern "C" {
__aligned(16) uint8_t tflm_tensor_arena[CONFIG_TFLM_ARENA_SIZE + CONFIG_TFLM_ARENA_HEADROOM];
}

namespace {

using OpResolver = tflite::MicroMutableOpResolver<PPG_MODEL_OP_COUNT>;

/*
 * The arena's allocator, which records the most the arena held at any time (persistent plus
 * non-persistent, temporaries included: arena_used_bytes() gives only what remains after loading).
 *
 * Why the arena has headroom (CONFIG_TFLM_ARENA_HEADROOM beyond CONFIG_TFLM_ARENA_SIZE): TFLM does not
 * check every allocation it makes while AllocateTensors() initialises and prepares the kernels.
 * ConvPrepare() (conv_common.cc; cmsis_nn/conv.cc Prepare() likewise) writes the per-channel
 * multipliers through the pointer AllocatePersistentBuffer() returned, null when the arena is full; a
 * null OpData from a kernel's Init() trips TFLITE_DCHECK(node->user_data != nullptr); a temporary
 * tensor that does not fit in CalculateOpDataConv() trips TFLITE_DCHECK(result != nullptr) in
 * InitializeTfLiteTensorFromFlatbuffer() (micro_allocator.cc). So with an arena a few bytes too small
 * the device aborts instead of AllocateTensors() returning an error; only planning the activations
 * afterwards (CommitStaticMemoryPlan()) fails cleanly. Hence a model is loaded twice: first in the arena
 * with its headroom, which a model whose bound of those allocations (prepare_bound()) exceeds never
 * reaches; refused there when the most the arena held before planning is more than the arena size it
 * may use; and only then in that size, where the same allocations (the same sequence, the arena's end
 * equally aligned) fit, so only the planning step can fail, and it fails cleanly.
 */
class PeakArena : public tflite::SingleArenaBufferAllocator {
public:
	PeakArena(uint8_t *buffer, size_t size) : tflite::SingleArenaBufferAllocator(buffer, size)
	{
	}

	uint8_t *AllocatePersistentBuffer(size_t size, size_t alignment) override
	{
		return note(tflite::SingleArenaBufferAllocator::AllocatePersistentBuffer(size,
											   alignment));
	}

	uint8_t *AllocateTemp(size_t size, size_t alignment) override
	{
		/* CommitStaticMemoryPlan() lends the memory planner all that is left: not a need. */
		bool planner_scratch = size == GetAvailableMemory(alignment);
		uint8_t *p = tflite::SingleArenaBufferAllocator::AllocateTemp(size, alignment);

		if (planner_scratch) {
			planner_scratch_ = p;
			return p;
		}
		return note(p);
	}

	TfLiteStatus ResetTempAllocations() override
	{
		planner_scratch_ = nullptr;
		return tflite::SingleArenaBufferAllocator::ResetTempAllocations();
	}

	uint8_t *AllocateResizableBuffer(size_t size, size_t alignment) override
	{
		return note(tflite::SingleArenaBufferAllocator::AllocateResizableBuffer(size,
											  alignment));
	}

	TfLiteStatus ResizeBuffer(uint8_t *buf, size_t size, size_t alignment) override
	{
		TfLiteStatus s = tflite::SingleArenaBufferAllocator::ResizeBuffer(buf, size, alignment);

		(void)note(buf);
		return s;
	}

	TfLiteStatus ReserveNonPersistentOverlayMemory(size_t size, size_t alignment) override
	{
		TfLiteStatus s = tflite::SingleArenaBufferAllocator::ReserveNonPersistentOverlayMemory(
			size, alignment);

		if (s == kTfLiteOk) {
			overlay_ = size;
		}
		(void)note(nullptr);
		return s;
	}

	size_t peak() const
	{
		return peak_;
	}

private:
	uint8_t *note(uint8_t *p)
	{
		/* From the planner's loan of the rest of the arena to the next reset of the temporaries
		 * (the temporaries' end stays there), the head in use is the planned overlay. */
		size_t used = planner_scratch_ != nullptr ? GetPersistentUsedBytes() + overlay_
							  : GetUsedBytes();

		peak_ = MAX(peak_, used);
		return p;
	}

	size_t peak_ = 0;
	size_t overlay_ = 0;
	uint8_t *planner_scratch_ = nullptr;

	TF_LITE_REMOVE_VIRTUAL_DELETE
};

alignas(PeakArena) uint8_t arena_alloc_storage[sizeof(PeakArena)];
alignas(tflite::GreedyMemoryPlanner) uint8_t planner_storage[sizeof(tflite::GreedyMemoryPlanner)];
PeakArena *arena_alloc;
tflite::GreedyMemoryPlanner *planner;

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
size_t arena_bound;
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
	if (planner != nullptr) {
		planner->~GreedyMemoryPlanner();
		planner = nullptr;
	}
	if (arena_alloc != nullptr) {
		arena_alloc->~PeakArena();
		arena_alloc = nullptr;
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

int ensure_resolver(void)
{
	if (resolver == nullptr) {
		resolver = new (resolver_storage) OpResolver();
		if (register_ops(*resolver) != kTfLiteOk) {
			resolver->~OpResolver();
			resolver = nullptr;
			return -ENOTSUP;
		}
	}
	return 0;
}

/* Temporary TfLiteTensor of a flatbuffer tensor (MicroAllocator::AllocateTempTfLiteTensor()). */
size_t temp_tensor_bytes(const tflite::Tensor *t)
{
	size_t n = sizeof(TfLiteTensor) + alignof(TfLiteTensor) - 1;
	const tflite::QuantizationParameters *q = t->quantization();

	if (q != nullptr && q->scale() != nullptr && q->scale()->size() > 0 &&
	    q->zero_point() != nullptr && q->zero_point()->size() > 0) {
		n += sizeof(TfLiteAffineQuantization) + alignof(TfLiteAffineQuantization) - 1 +
		     (size_t)TfLiteIntArrayGetSizeInBytes((int)q->scale()->size()) +
		     alignof(TfLiteIntArray) - 1;
	}
	return n;
}

/* Output channels of an op's filter (input 1): the length of the per-channel arrays its Prepare takes. */
size_t filter_channels(const tflite::Operator *op,
		       const flatbuffers::Vector<flatbuffers::Offset<tflite::Tensor>> *tensors)
{
	size_t channels = 0;

	if (op->inputs() == nullptr || op->inputs()->size() < 2) {
		return 0;
	}
	int32_t f = op->inputs()->Get(1);

	if (f < 0 || (uint32_t)f >= tensors->size()) {
		return 0;
	}
	const tflite::Tensor *filter = tensors->Get(f);

	/* CONV_2D: dims[0] (kConvQuantizedDimension); FULLY_CONNECTED: the scale's length, and dims[0]
	 * for CMSIS-NN's kernel sums (its output depth). */
	if (filter->shape() != nullptr && filter->shape()->size() > 0) {
		channels = (size_t)MAX(filter->shape()->Get(0), 0);
	}
	if (filter->quantization() != nullptr && filter->quantization()->scale() != nullptr) {
		channels = MAX(channels, (size_t)filter->quantization()->scale()->size());
	}
	return channels;
}

/*
 * An upper bound of the arena bytes that AllocateTensors() takes before it plans the tensors, from
 * TFLM's allocations (tensorflow/lite/micro/micro_allocator.cc and the registered kernels):
 *   tail: the allocator objects, the TfLiteEvalTensor and NodeAndRegistration arrays, each op's builtin
 *         data, its kernel's OpData (Init) and the per-channel arrays of CONV_2D / FULLY_CONNECTED
 *         (Prepare: multipliers and shifts, CMSIS-NN's kernel sums), each padded to its alignment;
 *   head: the scratch buffer requests, and the temporary tensors of the op whose Prepare holds the most
 *         (every input and output counted twice: ConvPrepare() holds three while CalculateOpDataConv()
 *         takes four more; they are freed after each op).
 * The flatbuffer was verified before this walk.
 */
size_t prepare_bound(const tflite::Model *m)
{
	constexpr size_t kernel_align = 16; /* MicroArenaBufferAlignment(): kernels' persistent buffers */
	constexpr size_t pad = 7;           /* alignof() of the framework's structures, minus 1 */
	const tflite::SubGraph *sg = m->subgraphs()->Get(0);
	const auto *tensors = sg->tensors();
	const auto *ops = sg->operators();
	const auto *codes = m->operator_codes();
	size_t n_tensors = tensors == nullptr ? 0 : tensors->size();
	size_t n_ops = ops == nullptr ? 0 : ops->size();
	size_t tail = sizeof(tflite::SingleArenaBufferAllocator) + sizeof(tflite::MicroAllocator) +
		      sizeof(tflite::GreedyMemoryPlanner) + sizeof(tflite::SubgraphAllocations) +
		      16 /* MicroBuiltinDataAllocator */ + 5 * pad;
	size_t head = sizeof(tflite::internal::ScratchBufferRequest) * 12 /* kMaxScratchBuffersPerOp */ +
		      pad;
	size_t temp_peak = 0;

	tail += sizeof(TfLiteEvalTensor) * n_tensors + pad;
	tail += sizeof(tflite::NodeAndRegistration) * n_ops + pad;

	for (size_t i = 0; i < n_ops; i++) {
		const tflite::Operator *op = ops->Get(i);
		uint32_t ci = op->opcode_index();
		tflite::BuiltinOperator code = (codes != nullptr && ci < codes->size())
						       ? tflite::GetBuiltinCode(codes->Get(ci))
						       : tflite::BuiltinOperator_CUSTOM;
		size_t temp = 0;

		for (const auto *io : {op->inputs(), op->outputs()}) {
			if (io == nullptr || tensors == nullptr) {
				continue;
			}
			for (int32_t t : *io) {
				if (t >= 0 && (size_t)t < n_tensors) {
					temp += 2 * temp_tensor_bytes(tensors->Get(t));
				}
			}
		}
		temp_peak = MAX(temp_peak, temp);

		switch (code) {
		case tflite::BuiltinOperator_CONV_2D: {
			size_t ch = tensors == nullptr ? 0 : filter_channels(op, tensors);

			tail += sizeof(TfLiteConvParams) + pad;
			tail += sizeof(tflite::OpDataConv) + 8 + kernel_align - 1;
			tail += 2 * (4 * ch + kernel_align - 1);
			break;
		}
		case tflite::BuiltinOperator_FULLY_CONNECTED: {
			size_t ch = tensors == nullptr ? 0 : filter_channels(op, tensors);

			tail += sizeof(TfLiteFullyConnectedParams) + pad;
			tail += sizeof(tflite::OpDataFullyConnected) + 32 + kernel_align - 1;
			tail += 3 * (4 * ch + kernel_align - 1);
			break;
		}
		default:
			/* RESHAPE's params, ABS's OpData (elementwise.cc), or any other registered op. */
			tail += 64 + kernel_align - 1;
			break;
		}
	}
	return tail + head + temp_peak;
}

/* An interpreter over the first arena_size bytes of the arena; *peak: the most it held before planning. */
int load(const tflite::Model *m, size_t arena_size, size_t *peak)
{
	arena_alloc = new (arena_alloc_storage) PeakArena(tflm_tensor_arena, arena_size);
	planner = new (planner_storage) tflite::GreedyMemoryPlanner();
	tflite::MicroAllocator *allocator = tflite::MicroAllocator::Create(arena_alloc, planner);

	if (allocator == nullptr) {
		return -ENOMEM;
	}
	interpreter = new (interpreter_storage) tflite::MicroInterpreter(m, *resolver, allocator);

	TfLiteStatus status = interpreter->AllocateTensors();

	*peak = arena_alloc->peak();
	return status == kTfLiteOk ? 0 : -ENOMEM;
}

int init_locked(const uint8_t *model, size_t model_len, size_t arena_limit)
{
	const tflite::Model *m = nullptr;
	int ret;

	teardown();
	arena_bound = 0;

	if (arena_limit > CONFIG_TFLM_ARENA_SIZE) {
		return -EINVAL;
	}
	ret = check_schema(model, model_len, &m);
	if (ret != 0) {
		return ret;
	}
	ret = ensure_resolver();
	if (ret != 0) {
		return ret;
	}
	ret = check_graph(m, *resolver);
	if (ret != 0) {
		return ret;
	}

	/* The arena, with its headroom, for this load: arena_limit bytes are the model's to use. */
	size_t arena_size = arena_limit + CONFIG_TFLM_ARENA_HEADROOM;

	arena_bound = prepare_bound(m);
	if (arena_bound > arena_size) {
		LOG_ERR("model needs up to %zu arena bytes before planning its tensors; the arena has "
			"%zu (+%u headroom): refused before AllocateTensors",
			arena_bound, arena_limit, (unsigned int)CONFIG_TFLM_ARENA_HEADROOM);
		return -ENOMEM;
	}

	/* Pass 1: in the arena with its headroom, measuring what the kernels take before planning. */
	size_t peak = 0;
	int ret1 = load(m, arena_size, &peak);

	if (ret1 == 0 && peak > arena_limit) {
		LOG_ERR("model needs %zu arena bytes before planning its tensors; the arena has %zu",
			peak, arena_limit);
		ret1 = -ENOMEM;
	}
	teardown();
	if (ret1 != 0) {
		return ret1;
	}
	/* Pass 2: in the arena size itself. */
	TfLiteStatus alloc_status = load(m, arena_limit, &peak) == 0 ? kTfLiteOk : kTfLiteError;

	if (alloc_status != kTfLiteOk) {
		LOG_ERR("AllocateTensors failed: arena of %zu bytes (CONFIG_TFLM_ARENA_SIZE %u) "
			"too small; the built-in model's measured default is %u",
			arena_limit, (unsigned int)CONFIG_TFLM_ARENA_SIZE,
			(unsigned int)PPG_MODEL_ARENA_BYTES);
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
	/* What the model needs: the most the arena held, the kernels' temporaries in Prepare included
	 * (more than arena_used_bytes(), which is what remains once loaded). */
	arena_used = MAX(peak, interpreter->arena_used_bytes());
	LOG_INF("encoder ready: %u ops, arena %zu/%zu bytes (bound before planning %zu)",
		(unsigned int)PPG_MODEL_OP_COUNT, arena_used,
		arena_limit, arena_bound);
	return 0;
}

} /* namespace */

extern "C" int tflm_encoder_init(const uint8_t *model, size_t model_len)
{
	return tflm_encoder_init_limited(model, model_len, CONFIG_TFLM_ARENA_SIZE);
}

extern "C" int tflm_encoder_init_limited(const uint8_t *model, size_t model_len, size_t arena_limit)
{
	k_mutex_lock(&encoder_lock, K_FOREVER);
	int ret = init_locked(model, model_len, arena_limit);
	k_mutex_unlock(&encoder_lock);
	return ret;
}

extern "C" bool tflm_encoder_op_registered(int32_t builtin_code)
{
	bool found = false;

	k_mutex_lock(&encoder_lock, K_FOREVER);
	if (ensure_resolver() == 0 && builtin_code >= tflite::BuiltinOperator_MIN &&
	    builtin_code <= tflite::BuiltinOperator_MAX &&
	    builtin_code != tflite::BuiltinOperator_CUSTOM) {
		found = resolver->FindOp((tflite::BuiltinOperator)builtin_code) != nullptr;
	}
	k_mutex_unlock(&encoder_lock);
	return found;
}

extern "C" size_t tflm_encoder_arena_bound(void)
{
	return arena_bound;
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

extern "C" int tflm_encoder_io_quant(float *in_scale, int32_t *in_zero_point, float *out_scale,
				     int32_t *out_zero_point)
{
	if (in_scale == nullptr || in_zero_point == nullptr || out_scale == nullptr ||
	    out_zero_point == nullptr) {
		return -EINVAL;
	}
	if (input_tensor == nullptr || output_tensor == nullptr) {
		return -EAGAIN;
	}
	*in_scale = input_tensor->params.scale;
	*in_zero_point = input_tensor->params.zero_point;
	*out_scale = output_tensor->params.scale;
	*out_zero_point = output_tensor->params.zero_point;
	return 0;
}
