"""Bit-exactness checks: TFLM's Python runtime vs TFLite vs the Keras QAT model, and the TFLM arena size."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from tflite_micro.python.tflite_micro import runtime as tflm_runtime

from ppgcomp.constants import ARENA_BUDGET_BYTES
from ppgcomp.dsp.preprocess import int8_to_float
from ppgcomp.export import tflm_host
from ppgcomp.export.convert import TfliteModel
from ppgcomp.tfenv import keras, tf

log = logging.getLogger(__name__)

ARENA_MARGIN_BYTES = 512  # the device's 32-bit pointers need less than the 64-bit host; keep a margin anyway
ARENA_ALIGN = 16


def emitted_arena(used: int) -> int:
    """The arena the firmware gets (PPG_MODEL_ARENA_BYTES): the host's figure plus a margin, at most the budget.

    The host measures with 64-bit pointers and TFLM's reference kernels: for the conv encoder it needs about
    1.2 KB more than the Cortex-M33 with CMSIS-NN (measured by the encoder cost benchmark on QEMU). So the
    device budget caps it; the firmware's golden tests (native_sim and QEMU) fail if the model does not fit.
    """
    padded = ((used + ARENA_MARGIN_BYTES + ARENA_ALIGN - 1) // ARENA_ALIGN) * ARENA_ALIGN
    return min(padded, ARENA_BUDGET_BYTES)


@dataclass
class Verification:
    windows: int
    tflm_vs_tflite_mismatched_codes: int
    tflm_vs_tflite_mismatched_windows: int
    keras_max_lsb: int
    keras_mismatched_codes: int
    arena_used_bytes: int
    arena_bytes: int


def tflite_codes(model: TfliteModel, q: np.ndarray, reference: bool = False) -> np.ndarray:
    """TFLite's builtin kernels without XNNPACK (it differs by 1 LSB), or with `reference` its reference kernels.

    TFLite's optimized CONV_2D (ruy) and its reference CONV_2D round differently in a few windows; TFLM's
    kernels (reference and CMSIS-NN) follow the reference CONV_2D, and on FULLY_CONNECTED the optimized one.
    """
    kind = tf.lite.experimental.OpResolverType
    interp = tf.lite.Interpreter(
        model_content=model.data,
        experimental_op_resolver_type=kind.BUILTIN_REF if reference else kind.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interp.allocate_tensors()
    i_idx, o_idx = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]
    out = np.empty((q.shape[0], interp.get_output_details()[0]["shape"][-1]), dtype=np.int8)
    x = model.batch(q)
    for k in range(q.shape[0]):
        interp.set_tensor(i_idx, x[k : k + 1])
        interp.invoke()
        out[k] = interp.get_tensor(o_idx)[0]
    return out


def tflite_disagreement(model: TfliteModel, q: np.ndarray, micro: np.ndarray,
                        lite: np.ndarray | None = None) -> np.ndarray:
    """(n, 16) bool: the codes of the windows where TFLM (`micro`) matches neither TFLite's optimized kernels nor
    its reference kernels (see tflite_codes), leaving out the final layer's rounding ties
    (:func:`final_rounding_ties`); `lite` = the optimized kernels' codes when already computed."""
    lite = tflite_codes(model, q) if lite is None else lite
    diff = lite.astype(int) != micro.astype(int)
    if diff.any():
        ref = tflite_codes(model, q, reference=True)
        diff &= (ref.astype(int) != micro.astype(int)).any(axis=1)[:, None]
    if diff.any():
        rows = np.flatnonzero(diff.any(axis=1))
        diff[rows[final_rounding_ties(model, q[rows], micro[rows])]] = False
    return diff


def _every_op_an_output(model: TfliteModel) -> bytes:
    """The model with every op's output tensor as a graph output, in execution order (the last is the codes)."""
    from tensorflow.lite.tools import flatbuffer_utils

    m = flatbuffer_utils.read_model_from_bytearray(bytearray(model.data))
    g = m.subgraphs[0]
    g.outputs = np.array([op.outputs[0] for op in g.operators], dtype=np.int32)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(m))


def final_rounding_ties(model: TfliteModel, q: np.ndarray, micro: np.ndarray) -> np.ndarray:
    """(n,) bool: TFLM computes every intermediate tensor exactly as TFLite's reference kernels, and its codes (the
    given `micro`, which must be what TFLM computes) are within 1 LSB of theirs. TFLM's FULLY_CONNECTED requantizes a product that falls on a rounding tie differently
    from both of TFLite's kernels (the last layer's input is identical and its output differs by 1), so such a
    window agrees."""
    data = _every_op_an_output(model)
    runtime = tflm_runtime.Interpreter.from_bytes(data)
    lite = tf.lite.Interpreter(model_content=data,
                               experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    lite.allocate_tensors()
    outs = lite.get_output_details()
    x = model.batch(q)
    ok = np.zeros(q.shape[0], dtype=bool)
    for k in range(q.shape[0]):
        runtime.set_input(x[k : k + 1], 0)
        runtime.invoke()
        lite.set_tensor(lite.get_input_details()[0]["index"], x[k : k + 1])
        lite.invoke()
        a = [np.asarray(runtime.get_output(i)).astype(int) for i in range(len(outs))]
        b = [lite.get_tensor(d["index"]).astype(int) for d in outs]
        codes = np.asarray(micro[k], dtype=int).reshape(a[-1].shape)
        ok[k] = (np.array_equal(codes, a[-1]) and all(np.array_equal(u, v) for u, v in zip(a[:-1], b[:-1]))
                 and np.abs(codes - b[-1]).max() <= 1)
    return ok


def tflm_codes(model: TfliteModel, q: np.ndarray) -> np.ndarray:
    """TFLite Micro's Python runtime, the same kernels the firmware's reference build runs."""
    if q.shape[0] == 0:
        return np.zeros((0, 16), np.int8)
    return tflm_host.codes(model.data, q)


def keras_codes(model: TfliteModel, qat_encoder: keras.Model, q: np.ndarray) -> np.ndarray:
    """The QAT model's float output quantized with the TFLite output parameters."""
    y = np.asarray(qat_encoder.predict(int8_to_float(q), batch_size=256, verbose=0))
    codes = np.round(y / model.output_scale) + model.output_zero_point
    return np.clip(codes, -128, 127).astype(np.int8)


def measure_arena(model: TfliteModel, probe: np.ndarray) -> int:
    """Smallest arena (bytes) with which TFLM allocates and invokes the model, by bisection."""
    used = tflm_host.arena_used(model.data, probe)
    if used is None:
        raise RuntimeError("TFLM could not allocate the model in 16 MiB")
    return used


def verify(model: TfliteModel, qat_encoder: keras.Model, q: np.ndarray) -> tuple[Verification, np.ndarray]:
    """Run all three on `q` (int8 windows); returns the figures and the TFLM codes."""
    log.info("verifying on %d windows: TFLite vs TFLM vs Keras QAT", q.shape[0])
    lite = tflite_codes(model, q)
    micro = tflm_codes(model, q)
    kq = keras_codes(model, qat_encoder, q)
    diff = tflite_disagreement(model, q, micro, lite)
    lsb = np.abs(kq.astype(int) - lite.astype(int))
    used = measure_arena(model, q[0])
    arena = emitted_arena(used)
    v = Verification(
        windows=int(q.shape[0]),
        tflm_vs_tflite_mismatched_codes=int(diff.sum()),
        tflm_vs_tflite_mismatched_windows=int(diff.any(axis=1).sum()),
        keras_max_lsb=int(lsb.max()) if lsb.size else 0,
        keras_mismatched_codes=int((lsb > 0).sum()),
        arena_used_bytes=int(used),
        arena_bytes=int(arena),
    )
    log.info("TFLM vs TFLite: %d differing codes; Keras QAT max %d LSB; TFLM arena %d bytes used",
             v.tflm_vs_tflite_mismatched_codes, v.keras_max_lsb, v.arena_used_bytes)
    return v, micro
