"""Folding the conv encoder's RESHAPE ops into their consumers, in the converted .tflite.

Each RESHAPE is a copy on the device (about 4.5 instructions per byte on the Cortex-M33) and costs TFLM arena
for its node, its output tensor and its bookkeeping. The converter keeps the two of the conv encoder:

* RESHAPE [1,1,W,C] -> [1,1,W/k,kC] before a CONV_2D with weights [O,1,KW,kC], stride 1 x S: the same
  convolution reads the [1,1,W,C] tensor with weights [O,1,k*KW,C] (the same bytes, row-major) and stride k*S.
* RESHAPE [1,1,4,32] -> [1,128] before FULLY_CONNECTED: TFLite's and TFLM's FULLY_CONNECTED flatten their
  input themselves (keep_num_dims false), so it reads the RESHAPE's input directly.

Both are integer-exact: every output is the same sum of the same int8 products. Tensors left unused are removed.
"""

from __future__ import annotations

import numpy as np

# TFLite BuiltinOperator codes (tensorflow/lite/schema/schema.fbs).
CONV_2D, FULLY_CONNECTED, RESHAPE = 3, 9, 22
VALID = 1  # Padding.VALID


def fold_reshapes(data: bytes) -> bytes:
    """The model with every foldable RESHAPE removed (unchanged bytes when there is none)."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(data))
    graph = model.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    folded = False
    while True:
        pair = _foldable(graph, codes)
        if pair is None:
            break
        reshape, consumer = pair
        graph.operators.remove(reshape)
        consumer.inputs[0] = reshape.inputs[0]
        folded = True
    if not folded:
        return data
    _drop_unused_tensors(model, graph)
    _drop_unused_opcodes(model, graph)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _consumers(graph, tensor: int) -> list:
    return [op for op in graph.operators if tensor in op.inputs]


def _foldable(graph, codes: list[int]):
    """(RESHAPE op, its consumer) of the first RESHAPE that can be folded, after adjusting the consumer."""
    for op in graph.operators:
        if codes[op.opcodeIndex] != RESHAPE or op.outputs[0] in graph.outputs:
            continue
        users = _consumers(graph, op.outputs[0])
        if len(users) != 1:
            continue
        user, src, dst = users[0], graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        if user.inputs[0] != op.outputs[0]:
            continue
        if codes[user.opcodeIndex] == FULLY_CONNECTED and not user.builtinOptions.keepNumDims:
            return op, user
        if codes[user.opcodeIndex] == CONV_2D and _refold_conv(graph, user, list(src.shape), list(dst.shape)):
            return op, user
    return None


def _refold_conv(graph, conv, src: list[int], dst: list[int]) -> bool:
    """Make `conv` read `src` ([1,1,W,C]) instead of `dst` ([1,1,W/k,kC]); False (unchanged) if it cannot."""
    opts = conv.builtinOptions
    weights = graph.tensors[conv.inputs[1]]
    o, kh, kw, cin = (int(n) for n in weights.shape)
    if (len(src) != 4 or len(dst) != 4 or src[:2] != [1, 1] or dst[:2] != [1, 1] or kh != 1 or cin != dst[3]
            or dst[3] % src[3] or opts.padding != VALID or opts.strideH != 1
            or (opts.dilationWFactor, opts.dilationHFactor) != (1, 1)):
        return False
    k = dst[3] // src[3]
    if src[2] != dst[2] * k:
        return False
    weights.shape = np.array([o, 1, kw * k, src[3]], np.int32)
    weights.shapeSignature = None
    opts.strideW *= k
    return True


def _drop_unused_opcodes(model, graph) -> None:
    """TFLM checks every operator code against the resolver, used or not: keep only the used ones."""
    used = sorted({int(op.opcodeIndex) for op in graph.operators})
    new_index = {old: new for new, old in enumerate(used)}
    model.operatorCodes = [model.operatorCodes[i] for i in used]
    for op in graph.operators:
        op.opcodeIndex = new_index[int(op.opcodeIndex)]


def _drop_unused_tensors(model, graph) -> None:
    used = sorted({int(t) for op in graph.operators for t in (*op.inputs, *op.outputs) if t >= 0}
                  | {int(t) for t in (*graph.inputs, *graph.outputs)})
    new_index = {old: new for new, old in enumerate(used)}
    for t in range(len(graph.tensors)):
        if t not in new_index and graph.tensors[t].buffer > 0:
            model.buffers[graph.tensors[t].buffer].data = None  # a constant nobody reads (RESHAPE's shape)
    graph.tensors = [graph.tensors[t] for t in used]

    def remap(idx):
        return np.array([new_index[int(t)] if t >= 0 else -1 for t in idx], np.int32)

    for op in graph.operators:
        op.inputs, op.outputs = remap(op.inputs), remap(op.outputs)
    graph.inputs, graph.outputs = remap(graph.inputs), remap(graph.outputs)
