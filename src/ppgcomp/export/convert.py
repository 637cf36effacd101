"""Full-integer TFLite conversion of the QAT encoder (int8 in, int8 out, FULLY_CONNECTED only)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import numpy as np

from ppgcomp.constants import CODE_LEN, INPUT_SCALE, INPUT_ZERO_POINT, WINDOW_LEN
from ppgcomp.tfenv import keras, tf

log = logging.getLogger(__name__)

ALLOWED_OPS = ("FULLY_CONNECTED",)


class ConversionError(RuntimeError):
    """The converted model breaks the contract the firmware relies on."""


@dataclass
class TfliteModel:
    data: bytes
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    ops: list[str]
    sha256: str

    @property
    def tag(self) -> int:
        """The packet's model tag: the first byte of the SHA-256."""
        return int(self.sha256[:2], 16)


def convert_encoder(qat_encoder: keras.Model, representative: np.ndarray) -> TfliteModel:
    conv = tf.lite.TFLiteConverter.from_keras_model(qat_encoder)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    rep = representative[:256].astype(np.float32)
    conv.representative_dataset = lambda: ([r[None, :]] for r in rep)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    data = bytes(conv.convert())
    return inspect_tflite(data)


def inspect_tflite(data: bytes) -> TfliteModel:
    """Read the quantization parameters and op list, and check the firmware's contract."""
    interp = tf.lite.Interpreter(model_content=data)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    ops = sorted({d["op_name"] for d in interp._get_ops_details()})
    model = TfliteModel(
        data=data,
        input_scale=float(inp["quantization"][0]),
        input_zero_point=int(inp["quantization"][1]),
        output_scale=float(out["quantization"][0]),
        output_zero_point=int(out["quantization"][1]),
        ops=ops,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    problems = []
    if inp["dtype"] != np.int8 or out["dtype"] != np.int8:
        problems.append(f"input/output types are {inp['dtype'].__name__}/{out['dtype'].__name__}, want int8/int8")
    if tuple(inp["shape"]) != (1, WINDOW_LEN) or tuple(out["shape"]) != (1, CODE_LEN):
        problems.append(f"shapes are {tuple(inp['shape'])} -> {tuple(out['shape'])}")
    if set(ops) - set(ALLOWED_OPS):
        problems.append(f"ops {ops}, want only {list(ALLOWED_OPS)}")
    if model.input_zero_point != INPUT_ZERO_POINT or not np.isclose(model.input_scale, INPUT_SCALE, rtol=1e-6):
        problems.append(f"input quantization ({model.input_scale}, {model.input_zero_point}) is not (1/255, -128)")
    if problems:
        raise ConversionError("converted encoder breaks the firmware contract: " + "; ".join(problems))
    return model
