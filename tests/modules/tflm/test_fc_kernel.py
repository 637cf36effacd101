"""Bit-exactness of the PPG FULLY_CONNECTED kernel's arithmetic (CONFIG_TFLM_KERNELS_PPG_FC) on the host.

modules/tflm/src/kernels/ppg_fc/ppg_fc_core.c is compiled with host gcc in its portable form, which emulates
SMLAD / SXTB16 with the same modular arithmetic as the Cortex-M DSP assembly, and run over weights packed by
ppgcomp.export.interleave. Its outputs must equal TFLM's reference int8 FULLY_CONNECTED: per layer against a NumPy
transcription of it (random, extreme and synthetic worst-case layers), and end to end against TFLM's own
Python runtime on the committed model.
"""

from __future__ import annotations

import ctypes
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ppgcomp.constants import FIRMWARE_MODEL_DIR
from ppgcomp.export.interleave import FcLayer, InterleaveError, fc_layers_from_tflite, fnv1a32, interleave_layer

REPO = Path(__file__).resolve().parents[3]
KERNEL_DIR = REPO / "modules" / "tflm" / "src" / "kernels" / "ppg_fc"
INCLUDE_DIR = REPO / "modules" / "tflm" / "include"
MODEL_C = REPO / FIRMWARE_MODEL_DIR / "ppg_encoder_model.c"


class Layer(ctypes.Structure):
    _fields_ = [
        ("rows", ctypes.c_uint16),
        ("rows_padded", ctypes.c_uint16),
        ("cols", ctypes.c_uint16),
        ("input_zero_point", ctypes.c_int16),
        ("filter_hash", ctypes.c_uint32),
        ("bias_hash", ctypes.c_uint32),
        ("bias", ctypes.POINTER(ctypes.c_int32)),
        ("weights", ctypes.POINTER(ctypes.c_uint32)),
    ]


class Requant(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in ("multiplier", "shift", "output_zero_point", "act_min", "act_max")]


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no host C compiler")
    out = tmp_path_factory.mktemp("ppg_fc") / "libppgfc.so"
    subprocess.run(
        [cc, "-O2", "-Wall", "-Wextra", "-Werror", "-std=c11", "-fPIC", "-shared", "-fsanitize=undefined",
         "-fno-sanitize-recover=all", "-DTFLM_PPG_FC_PORTABLE", f"-I{INCLUDE_DIR}",
         str(KERNEL_DIR / "ppg_fc_core.c"), "-o", str(out)],
        check=True,
    )
    lib = ctypes.CDLL(str(out))
    lib.tflm_ppg_fc_eval.argtypes = [ctypes.POINTER(Layer), ctypes.POINTER(Requant), ctypes.c_void_p,
                                     ctypes.c_void_p, ctypes.c_void_p]
    lib.tflm_ppg_fc_eval.restype = None
    lib.tflm_ppg_fc_hash.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.tflm_ppg_fc_hash.restype = ctypes.c_uint32
    lib.tflm_ppg_fc_requantize.argtypes = [ctypes.c_int32, ctypes.c_int32, ctypes.c_int32]
    lib.tflm_ppg_fc_requantize.restype = ctypes.c_int32
    return lib


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = math.floor(q * (1 << 31) + 0.5)  # TfLiteRound: half away from zero (q > 0)
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def requant_params(layer: FcLayer) -> Requant:
    mult, shift = quantize_multiplier(layer.input_scale * layer.filter_scale / layer.output_scale)
    act_min, act_max = -128, 127
    zp, s = layer.output_zero_point, layer.output_scale
    if layer.activation == "RELU":
        act_min = max(act_min, zp)
    elif layer.activation == "RELU6":
        act_min, act_max = max(act_min, zp), min(act_max, zp + round(6.0 / s))
    elif layer.activation == "RELU_N1_TO_1":
        act_min, act_max = max(act_min, zp + round(-1.0 / s)), min(act_max, zp + round(1.0 / s))
    return Requant(mult, shift, zp, act_min, act_max)


def srdhm(a: np.ndarray, b: int) -> np.ndarray:
    ab = a.astype(np.int64) * np.int64(b)
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    t = ab + nudge
    res = np.where(t >= 0, t // (1 << 31), -((-t) // (1 << 31)))  # C division: towards zero
    return np.where((a == -(1 << 31)) & (b == -(1 << 31)), (1 << 31) - 1, res).astype(np.int64)


def rdbpot(x: np.ndarray, exponent: int) -> np.ndarray:
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def reference_fc(layer: FcLayer, rq: Requant, x: np.ndarray) -> np.ndarray:
    """tflite::reference_integer_ops::FullyConnected (per-tensor, double rounding)."""
    acc = (layer.weights.astype(np.int64) * (x.astype(np.int64) - layer.input_zero_point)).sum(axis=1)
    if layer.bias is not None:
        acc = acc + layer.bias
    acc = ((acc + (1 << 31)) % (1 << 32)) - (1 << 31)  # int32
    left, right = max(rq.shift, 0), max(-rq.shift, 0)
    v = rdbpot(srdhm(acc * (1 << left), rq.multiplier), right) + rq.output_zero_point
    return np.clip(v, rq.act_min, rq.act_max).astype(np.int8)


def run_kernel(lib: ctypes.CDLL, layer: FcLayer, rq: Requant, x: np.ndarray) -> np.ndarray:
    packed = interleave_layer(layer)
    bias = np.ascontiguousarray(packed.bias_eff, dtype=np.int32)
    words = np.ascontiguousarray(packed.words, dtype=np.uint32)
    c_layer = Layer(packed.rows, packed.rows_padded, packed.cols, packed.input_zero_point, packed.filter_hash,
                    packed.bias_hash, bias.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                    words.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32)))
    xin = np.ascontiguousarray(x, dtype=np.int8)
    out = np.zeros(layer.rows, dtype=np.int8)
    scratch = np.zeros(packed.cols // 2, dtype=np.uint32)
    lib.tflm_ppg_fc_eval(ctypes.byref(c_layer), ctypes.byref(rq), xin.ctypes.data, out.ctypes.data,
                         scratch.ctypes.data)
    return out


def model_bytes() -> bytes:
    text = MODEL_C.read_text()
    start = text.index("{", text.index("ppg_encoder_model_data"))
    return bytes(int(v, 16) for v in re.findall(r"0x([0-9a-fA-F]{2})", text[start : text.index("}", start)]))


@pytest.fixture(scope="module")
def model_layers() -> list[FcLayer]:
    return fc_layers_from_tflite(model_bytes())


def synthetic_layer(rng: np.random.Generator, rows: int, cols: int, extreme: bool) -> FcLayer:
    if extreme:  # the worst case for the packed accumulator: full-scale weights of one sign per row
        w = np.where(rng.random((rows, cols)) < 0.5, -127, 127).astype(np.int8)
        w[1::2] = np.where(np.arange(rows // 2)[:, None] % 2 == 0, -127, 127)
    else:
        w = rng.integers(-127, 128, size=(rows, cols), dtype=np.int8)
    return FcLayer(weights=w, bias=rng.integers(-(1 << 16), 1 << 16, size=rows, dtype=np.int32),
                   input_scale=1 / 255, input_zero_point=int(rng.integers(-128, 128)), filter_scale=0.01,
                   output_scale=float(rng.uniform(0.5, 40.0)), output_zero_point=int(rng.integers(-20, 20)),
                   activation="RELU" if rng.random() < 0.5 else "NONE")


def test_hash_matches_exporter(kernel: ctypes.CDLL) -> None:
    data = np.random.default_rng(1).integers(0, 256, size=1000, dtype=np.uint8).tobytes()
    buf = ctypes.create_string_buffer(data, len(data))
    assert kernel.tflm_ppg_fc_hash(buf, len(data)) == fnv1a32(data)


def test_requantize_matches_reference(kernel: ctypes.CDLL) -> None:
    rng = np.random.default_rng(2)
    accs = np.concatenate([rng.integers(-(1 << 31), 1 << 31, size=500), [-(1 << 31), (1 << 31) - 1, 0, -1, 1]])
    for mult, shift in ((1 << 30, -1), (1518500250, -9), (2147483647, 0), (1073741824, 2), (1717986918, -31)):
        for acc in accs:
            want = int(rdbpot(srdhm(np.array([int(acc) * (1 << max(shift, 0))]), mult), max(-shift, 0))[0]) \
                if shift <= 0 else None
            if want is None:  # left shifts: keep within int32 as TFLM assumes
                continue
            assert kernel.tflm_ppg_fc_requantize(int(acc), mult, shift) == want


@pytest.mark.parametrize("extreme", [False, True])
@pytest.mark.parametrize("rows,cols", [(16, 64), (13, 400), (64, 256), (8, 8)])
def test_synthetic_layers_bit_exact(kernel: ctypes.CDLL, rows: int, cols: int, extreme: bool) -> None:
    rng = np.random.default_rng(rows * 1000 + cols + extreme)
    layer = synthetic_layer(rng, rows, cols, extreme)
    rq = requant_params(layer)
    inputs = [rng.integers(-128, 128, size=cols, dtype=np.int8), np.full(cols, -128, np.int8),
              np.full(cols, 127, np.int8)]
    for x in inputs:
        np.testing.assert_array_equal(run_kernel(kernel, layer, rq, x), reference_fc(layer, rq, x))


def test_interleave_rejects_what_the_kernel_cannot_do() -> None:
    rng = np.random.default_rng(3)
    layer = synthetic_layer(rng, 8, 12, False)
    with pytest.raises(InterleaveError):
        interleave_layer(layer)  # 12 columns: not a multiple of 8
    layer = synthetic_layer(rng, 8, 16, False)
    layer.weights[1, 0], layer.weights[0, 0] = -128, -5  # A' = -129
    with pytest.raises(InterleaveError):
        interleave_layer(layer)


def test_model_layers_bit_exact(kernel: ctypes.CDLL, model_layers: list[FcLayer]) -> None:
    rng = np.random.default_rng(4)
    for layer in model_layers:
        rq = requant_params(layer)
        for _ in range(20):
            x = rng.integers(-128, 128, size=layer.cols, dtype=np.int8)
            np.testing.assert_array_equal(run_kernel(kernel, layer, rq, x), reference_fc(layer, rq, x))


def test_model_end_to_end_matches_tflm_runtime(kernel: ctypes.CDLL, model_layers: list[FcLayer]) -> None:
    runtime = pytest.importorskip("tflite_micro.python.tflite_micro.runtime")
    interp = runtime.Interpreter.from_bytes(model_bytes())
    rng = np.random.default_rng(5)
    cols = model_layers[0].cols
    windows = [rng.integers(-128, 128, size=cols, dtype=np.int8) for _ in range(16)]
    golden = REPO / "tests" / "golden" / "ppg_golden_vectors.h"
    text = golden.read_text()
    m = re.search(r"golden_window_q\[[^\]]*\]\[[^\]]*\]\s*=\s*\{(.*?)\};", text, re.DOTALL)
    if m:
        vals = np.array([int(v) for v in re.findall(r"-?\d+", m.group(1))], dtype=np.int8)
        windows += list(vals.reshape(-1, cols))
    for x in windows:
        h = x
        for layer in model_layers:
            h = run_kernel(kernel, layer, requant_params(layer), h)
        interp.set_input(x.reshape(1, cols), 0)
        interp.invoke()
        np.testing.assert_array_equal(h, interp.get_output(0).reshape(-1))
