"""Full-integer TFLite conversion of the QAT encoder, and the checks of the firmware's contract.

The firmware's op resolver (modules/tflm/src/tflm_encoder.cc) registers the ops of FIRMWARE_OPS only, with
CMSIS-NN's int8 kernels on Cortex-M. A converted model that uses another op, or a weight layout those kernels
cannot take, is refused here with one line (ConversionError), so that no model the firmware would reject at run
time is ever emitted.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

import numpy as np

from ppgcomp.constants import CODE_LEN, INPUT_SCALE, INPUT_ZERO_POINT, WINDOW_LEN
from ppgcomp.export.fold import fold_reshapes
from ppgcomp.tfenv import keras, tf

log = logging.getLogger(__name__)

#: TFLite builtin op -> the MicroMutableOpResolver method suffix the firmware registers it with (add_<suffix> in
#: modules/tflm/src/tflm_encoder.cc). The exporter refuses every other op.
FIRMWARE_OPS = {"ABS": "Abs", "CONV_2D": "Conv2D", "FULLY_CONNECTED": "FullyConnected", "RESHAPE": "Reshape"}
#: Ops with weights: their weights must be int8 with zero point 0, their bias int32 (CMSIS-NN's s8 kernels).
WEIGHTED_OPS = ("CONV_2D", "FULLY_CONNECTED")
#: Fused activations the int8 kernels clamp to (0 none, 1 ReLU, 3 ReLU6).
FUSED_ACTIVATIONS = (0, 1, 3)


class ConversionError(RuntimeError):
    """The converted model breaks the contract the firmware relies on."""


@dataclass
class TfliteModel:
    data: bytes
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    ops: list[str]  # distinct op names, sorted
    sha256: str
    input_shape: tuple[int, ...] = (1, WINDOW_LEN)  # (1, 400), or the conv encoder's (1, 1, 50, 8): 400 int8
    op_list: list[str] = field(default_factory=list)  # every op, in execution order
    macs: int = 0  # multiply-accumulates per inference (FULLY_CONNECTED and CONV_2D)

    @property
    def tag(self) -> int:
        """The packet's model tag: the first byte of the SHA-256."""
        return int(self.sha256[:2], 16)

    def batch(self, q: np.ndarray) -> np.ndarray:
        """int8 windows (n, 400) in the input tensor's layout: (n, *input_shape[1:]); x[k : k + 1] is one input."""
        return np.asarray(q, np.int8).reshape((-1, *self.input_shape[1:]))


def convert_encoder(qat_encoder: keras.Model, representative: np.ndarray) -> TfliteModel:
    """The QAT encoder as the firmware's int8 .tflite: converted, RESHAPEs folded (export.fold), checked."""
    # The converter keeps the conv encoder's two RESHAPEs (copies on the device): fold them into their consumers.
    return inspect_tflite(fold_reshapes(convert_to_tflite(qat_encoder, representative)))


def convert_to_tflite(qat_encoder: keras.Model, representative: np.ndarray) -> bytes:
    """The TFLite converter's full-integer model (int8 in and out), as it comes out of the converter."""
    from ppgcomp.training.models import CONV_INPUT_SHAPE, encoder_arch

    rep = representative[:256].astype(np.float32)
    if encoder_arch(qat_encoder) == "conv":
        # A batch-1 function of the window declared [1, 1, 50, 8]: every shape is a constant (a Keras Reshape with a
        # free batch dimension converts to SHAPE + STRIDED_SLICE + PACK + RESHAPE), and the converter folds the
        # input reshapes away, so the first op is the decimator (no 400-byte copy on the device).
        shape = (1, *CONV_INPUT_SHAPE)
        fn = tf.function(lambda t: qat_encoder(tf.reshape(t, [1, WINDOW_LEN]), training=False)).get_concrete_function(
            tf.TensorSpec(shape, tf.float32))
        conv = tf.lite.TFLiteConverter.from_concrete_functions([fn], qat_encoder)
        conv.representative_dataset = lambda: ([r.reshape(shape)] for r in rep)
    else:
        conv = tf.lite.TFLiteConverter.from_keras_model(qat_encoder)
        conv.representative_dataset = lambda: ([r[None, :]] for r in rep)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return bytes(conv.convert())


def _macs(op: str, out_shape: tuple[int, ...], w_shape: tuple[int, ...]) -> int:
    out = int(np.prod(out_shape))
    if op == "FULLY_CONNECTED":  # weights [out, in]
        return out * w_shape[1]
    if op == "CONV_2D":  # weights [out_ch, kh, kw, in_ch]
        return out * w_shape[1] * w_shape[2] * w_shape[3]
    return 0


def _layout_problems(data: bytes, tensors: dict[int, dict], details: list[dict]) -> list[str]:
    """What CMSIS-NN's int8 kernels (and the reference ones) need of each weighted op."""
    from tensorflow.lite.tools import flatbuffer_utils

    problems = []
    graph = flatbuffer_utils.read_model_from_bytearray(bytearray(data)).subgraphs[0]
    for d, op in zip(details, graph.operators, strict=True):
        name = d["op_name"]
        opts = op.builtinOptions
        act = getattr(opts, "fusedActivationFunction", 0)
        if act not in FUSED_ACTIVATIONS:
            problems.append(f"{name} #{d['index']} fuses activation {act}")
        if name == "CONV_2D" and (opts.dilationWFactor, opts.dilationHFactor) != (1, 1):
            problems.append(f"CONV_2D #{d['index']} is dilated")
        if name not in WEIGHTED_OPS:
            continue
        w = tensors[d["inputs"][1]]
        zps = np.asarray(w["quantization_parameters"]["zero_points"])
        if w["dtype"] != np.int8 or zps.size == 0 or np.any(zps != 0):
            problems.append(f"{name} #{d['index']} weights are not symmetric int8 (zero point 0)")
        n_scales = np.asarray(w["quantization_parameters"]["scales"]).size
        if name == "CONV_2D" and n_scales not in (1, int(w["shape"][0])):
            problems.append(f"CONV_2D #{d['index']} has {n_scales} weight scales for {int(w['shape'][0])} channels")
        if len(d["inputs"]) > 2 and d["inputs"][2] >= 0 and tensors[d["inputs"][2]]["dtype"] != np.int32:
            problems.append(f"{name} #{d['index']} bias is not int32")
        if tensors[d["inputs"][0]]["dtype"] != np.int8 or tensors[d["outputs"][0]]["dtype"] != np.int8:
            problems.append(f"{name} #{d['index']} activations are not int8")
    return problems


def inspect_tflite(data: bytes) -> TfliteModel:
    """Read the quantization parameters, op list and MACs, and check the firmware's contract."""
    interp = tf.lite.Interpreter(model_content=data)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    details = interp._get_ops_details()
    tensors = {t["index"]: t for t in interp.get_tensor_details()}
    op_list = [d["op_name"] for d in details]
    macs = sum(_macs(d["op_name"], tuple(tensors[d["outputs"][0]]["shape"]), tuple(tensors[d["inputs"][1]]["shape"]))
               for d in details if d["op_name"] in WEIGHTED_OPS)
    model = TfliteModel(
        data=data,
        input_scale=float(inp["quantization"][0]),
        input_zero_point=int(inp["quantization"][1]),
        output_scale=float(out["quantization"][0]),
        output_zero_point=int(out["quantization"][1]),
        ops=sorted(set(op_list)),
        sha256=hashlib.sha256(data).hexdigest(),
        input_shape=tuple(int(n) for n in inp["shape"]),
        op_list=op_list,
        macs=int(macs),
    )
    problems = []
    if inp["dtype"] != np.int8 or out["dtype"] != np.int8:
        problems.append(f"input/output types are {inp['dtype'].__name__}/{out['dtype'].__name__}, want int8/int8")
    if model.input_shape[0] != 1 or int(np.prod(model.input_shape)) != WINDOW_LEN or tuple(out["shape"]) != (1, CODE_LEN):
        problems.append(f"shapes are {model.input_shape} -> {tuple(out['shape'])}, want {WINDOW_LEN} int8 -> (1, {CODE_LEN})")
    unknown = sorted(set(op_list) - set(FIRMWARE_OPS))
    if unknown:
        problems.append(f"ops {unknown} are not registered by the firmware (it registers {sorted(FIRMWARE_OPS)})")
    if model.input_zero_point != INPUT_ZERO_POINT or not np.isclose(model.input_scale, INPUT_SCALE, rtol=1e-6):
        problems.append(f"input quantization ({model.input_scale}, {model.input_zero_point}) is not (1/255, -128)")
    if not unknown:
        problems += _layout_problems(data, tensors, details)
    if problems:
        raise ConversionError("converted encoder breaks the firmware contract: " + "; ".join(problems))
    return model
