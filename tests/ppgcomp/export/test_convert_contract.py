"""The exporter's contract with the firmware: only ops the resolver registers, only weight layouts its int8
kernels take, each refused with one line before anything is emitted."""

import re

import numpy as np
import pytest

from ppgcomp.constants import CODE_LEN, REPO_ROOT, WINDOW_LEN
from ppgcomp.export.convert import FIRMWARE_OPS, ConversionError, inspect_tflite
from ppgcomp.tfenv import keras, set_seed, tf


def _tiny_int8_model(activation: str) -> bytes:
    """Dense 400 -> 16 converted to full int8, its input quantized as the preprocessing spec (1/255, -128)."""
    set_seed(0)
    inp = keras.Input((WINDOW_LEN,))
    model = keras.Model(inp, keras.layers.Dense(CODE_LEN, activation=activation)(inp))
    rng = np.random.default_rng(0)
    rep = rng.uniform(0, 1, (32, WINDOW_LEN)).astype(np.float32)
    rep[0], rep[1] = 0.0, 1.0
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([r[None, :]] for r in rep)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    return bytes(conv.convert())


def test_a_model_of_registered_ops_passes():
    model = inspect_tflite(_tiny_int8_model("relu"))
    assert model.ops == ["FULLY_CONNECTED"] and model.macs == WINDOW_LEN * CODE_LEN
    assert model.input_shape == (1, WINDOW_LEN)


def test_an_op_the_resolver_cannot_register_is_refused_in_one_line():
    with pytest.raises(ConversionError) as e:
        inspect_tflite(_tiny_int8_model("tanh"))
    msg = str(e.value)
    assert "TANH" in msg and "not registered by the firmware" in msg and "\n" not in msg


def test_weights_with_a_nonzero_zero_point_are_refused():
    """CMSIS-NN's s8 FULLY_CONNECTED and CONV_2D take symmetric weights only."""
    from tensorflow.lite.tools import flatbuffer_utils

    m = flatbuffer_utils.read_model_from_bytearray(bytearray(_tiny_int8_model("relu")))
    graph = m.subgraphs[0]
    fc = next(op for op in graph.operators if m.operatorCodes[op.opcodeIndex].builtinCode == 9)  # FULLY_CONNECTED
    quant = graph.tensors[fc.inputs[1]].quantization
    quant.zeroPoint = np.full(len(quant.scale), 3, np.int64)
    data = bytes(flatbuffer_utils.convert_object_to_bytearray(m))
    with pytest.raises(ConversionError, match=r"weights are not symmetric int8") as e:
        inspect_tflite(data)
    assert "\n" not in str(e.value)


def test_every_op_the_exporter_allows_is_registered_by_the_firmware():
    """FIRMWARE_OPS' resolver names are the add_<Name> functions of modules/tflm/src/tflm_encoder.cc."""
    src = (REPO_ROOT / "modules/tflm/src/tflm_encoder.cc").read_text()
    registered = set(re.findall(r"\badd_(\w+)\s*\(", src))
    assert set(FIRMWARE_OPS.values()) <= registered, registered
