"""Pre-interleaved weights for the model-specific FULLY_CONNECTED kernel (CONFIG_TFLM_KERNELS_PPG_FC).

The firmware kernel (modules/tflm/src/kernels/ppg_fc, layout in modules/tflm/include/tflm_ppg_fc.h) wants,
for every FULLY_CONNECTED layer of the int8 .tflite:

* weights in 8-row blocks of 4 row pairs (B = row 8b+2q, A = row 8b+2q+1); for input pair p (inputs
  k0 = 4*(p//2) + p%2 and k1 = k0 + 2, the order SXTB16 / SXTB16 ROR #8 expand 4 input bytes into), word
  [b][p][q] = bytes (B[k0], A'[k0], B[k1], A'[k1]) with A' = A - (B < 0), so that each halfword is the int16
  256*A + B;
* an effective bias, bias - input_zero_point * sum_k W[r][k] (the input offset folded in);
* FNV-1a hashes of the original weights and bias, which the kernel checks at init.

Entry point for the exporter: :func:`emit_interleaved` (``.tflite`` bytes -> ``ppg_encoder_fc_interleaved.{h,c}``).
The .tflite is read with TensorFlow's flatbuffer schema module alone (no TensorFlow import).

Command line (:func:`main`: ``ppgcomp-emit-interleaved``, scripts/emit_interleaved.py): the model is read from
--tflite (default artifacts/encoder_int8.tflite) or, when that file does not exist, from the committed C array in
<out>/ppg_encoder_model.c, so that the interleaved weights always belong to the committed model::

    ppgcomp-emit-interleaved                 # -> <FIRMWARE_MODEL_DIR>/ppg_encoder_fc_interleaved.{h,c}
    ppgcomp-emit-interleaved --tflite artifacts/encoder_int8.tflite --out DIR
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np

from ppgcomp.constants import ARTIFACTS_DIR, FIRMWARE_MODEL_DIR, REPO_ROOT, TFLITE_FILE
from ppgcomp.export.cgen import INTERLEAVED_HEADER, INTERLEAVED_SOURCE, MODEL_SOURCE, c_lines, provenance, render

log = logging.getLogger(__name__)

BLOCK_ROWS = 8
COL_MULTIPLE = 8
#: |acc_A| must stay below 2^23 so that (P - Q) >> 8 is exact.
ACC_A_LIMIT = 1 << 23

#: tflite ActivationFunctionType -> name
_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


class InterleaveError(ValueError):
    """The model cannot use the PPG FC kernel (shape, type or range)."""


@cache
def _schema() -> ModuleType:
    """TensorFlow's generated flatbuffer schema module, loaded without importing TensorFlow."""
    spec = importlib.util.find_spec("tensorflow")
    if spec is None or not spec.submodule_search_locations:
        raise InterleaveError("tensorflow (for its tflite schema module) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "lite" / "python" / "schema_py_generated.py"
    mod_spec = importlib.util.spec_from_file_location("_ppgcomp_tflite_schema", path)
    assert mod_spec is not None and mod_spec.loader is not None
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return module


@dataclass
class FcLayer:
    """One int8 FULLY_CONNECTED layer as stored in the .tflite."""

    weights: np.ndarray  # (N, K) int8
    bias: np.ndarray | None  # (N,) int32
    input_scale: float
    input_zero_point: int
    filter_scale: float
    output_scale: float
    output_zero_point: int
    activation: str

    @property
    def rows(self) -> int:
        return int(self.weights.shape[0])

    @property
    def cols(self) -> int:
        return int(self.weights.shape[1])


def fc_layers_from_tflite(data: bytes) -> list[FcLayer]:
    """The FULLY_CONNECTED layers of an int8 .tflite, in execution order."""
    fb = _schema()
    model = fb.Model.GetRootAsModel(data, 0)
    if model.SubgraphsLength() != 1:
        raise InterleaveError("expected one subgraph")
    sg = model.Subgraphs(0)

    def tensor(i: int):
        return sg.Tensors(i)

    def buffer_array(i: int, dtype) -> np.ndarray:
        t = tensor(i)
        buf = model.Buffers(t.Buffer())
        if buf.DataLength() > 0:
            raw = buf.DataAsNumpy().tobytes()
        elif buf.Offset() > 1:  # large models: data after the flatbuffer
            raw = data[buf.Offset() : buf.Offset() + buf.Size()]
        else:
            raise InterleaveError(f"tensor {i} has no constant data")
        return np.frombuffer(raw, dtype=dtype).reshape(t.ShapeAsNumpy())

    def quant(i: int) -> tuple[np.ndarray, np.ndarray]:
        q = tensor(i).Quantization()
        if q is None or q.ScaleLength() == 0:
            raise InterleaveError(f"tensor {i} is not quantized")
        return q.ScaleAsNumpy(), q.ZeroPointAsNumpy()

    layers = []
    for oi in range(sg.OperatorsLength()):
        op = sg.Operators(oi)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin != fb.BuiltinOperator.FULLY_CONNECTED:
            raise InterleaveError(f"operator {oi} is builtin {builtin}, not FULLY_CONNECTED")
        ins = op.InputsAsNumpy()
        out = int(op.OutputsAsNumpy()[0])
        if tensor(int(ins[0])).Type() != fb.TensorType.INT8 or tensor(int(ins[1])).Type() != fb.TensorType.INT8:
            raise InterleaveError(f"operator {oi}: not int8")
        opts = fb.FullyConnectedOptions()
        table = op.BuiltinOptions()
        opts.Init(table.Bytes, table.Pos)
        s_in, z_in = quant(int(ins[0]))
        s_w, z_w = quant(int(ins[1]))
        s_out, z_out = quant(out)
        if s_w.size != 1 or int(z_w[0]) != 0:
            raise InterleaveError(f"operator {oi}: per-channel or asymmetric weights")
        bias = buffer_array(int(ins[2]), np.int32) if len(ins) > 2 and ins[2] >= 0 else None
        layers.append(
            FcLayer(
                weights=buffer_array(int(ins[1]), np.int8),
                bias=None if bias is None else bias.reshape(-1),
                input_scale=float(s_in[0]),
                input_zero_point=int(z_in[0]),
                filter_scale=float(s_w[0]),
                output_scale=float(s_out[0]),
                output_zero_point=int(z_out[0]),
                activation=_ACTIVATIONS.get(opts.FusedActivationFunction(), "UNSUPPORTED"),
            )
        )
    return layers


def fnv1a32(data: bytes) -> int:
    """FNV-1a 32 (tflm_ppg_fc_hash)."""
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def pair_inputs(cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Input indices (k0, k1) of every input pair p, in the SXTB16 expansion order."""
    p = np.arange(cols // 2)
    k0 = 4 * (p // 2) + p % 2
    return k0, k0 + 2


@dataclass
class InterleavedLayer:
    rows: int
    rows_padded: int
    cols: int
    input_zero_point: int
    filter_hash: int
    bias_hash: int
    bias_eff: np.ndarray  # (rows_padded,) int32
    words: np.ndarray  # (rows_padded // 8 * cols // 2 * 4,) uint32


def interleave_layer(layer: FcLayer) -> InterleavedLayer:
    """Pack one layer for the kernel; raises InterleaveError if the kernel cannot run it bit-exactly."""
    w = np.asarray(layer.weights, dtype=np.int8)
    n, k = w.shape
    if k % COL_MULTIPLE:
        raise InterleaveError(f"{n}x{k}: input size not a multiple of {COL_MULTIPLE}")
    if layer.activation not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
        raise InterleaveError(f"{n}x{k}: activation {layer.activation}")
    np_ = -(-n // BLOCK_ROWS) * BLOCK_ROWS
    wp = np.zeros((np_, k), dtype=np.int32)
    wp[:n] = w
    blocks = wp.reshape(np_ // BLOCK_ROWS, 4, 2, k)  # [b][q][j] -> row 8b + 2q + j
    low, high = blocks[:, :, 0, :], blocks[:, :, 1, :]  # B rows, A rows
    # A' = A - (B < 0): the halfword (A' << 8) | (B & 0xff) is then the int16 256*A + B.
    high_adj = high - (low < 0)
    if high_adj.min() < -128:
        raise InterleaveError(f"{n}x{k}: weight -128 above a negative weight (use narrow-range int8 weights)")
    # |acc_A| <= 128 * sum|A| must stay below 2^23 for the exact (P - Q) >> 8.
    worst = 128 * np.abs(high).sum(axis=-1).max()
    if worst >= ACC_A_LIMIT:
        raise InterleaveError(f"{n}x{k}: accumulator bound {worst} >= 2^23")
    k0, k1 = pair_inputs(k)
    b0, a0, b1, a1 = (v[:, :, idx] & 0xFF for v, idx in ((low, k0), (high_adj, k0), (low, k1), (high_adj, k1)))
    words = (b0 | (a0 << 8) | (b1 << 16) | (a1 << 24)).astype(np.uint32)  # [b][q][p]
    words = np.ascontiguousarray(words.transpose(0, 2, 1)).reshape(-1)  # [b][p][q]

    bias = np.zeros(n, dtype=np.int64) if layer.bias is None else layer.bias.astype(np.int64)
    bias_eff = np.zeros(np_, dtype=np.int64)
    bias_eff[:n] = bias - layer.input_zero_point * w.astype(np.int64).sum(axis=1)
    if np.abs(bias_eff).max() >= 1 << 31:
        raise InterleaveError(f"{n}x{k}: effective bias overflows int32")
    return InterleavedLayer(
        rows=n,
        rows_padded=np_,
        cols=k,
        input_zero_point=layer.input_zero_point,
        filter_hash=fnv1a32(w.tobytes()),
        bias_hash=0 if layer.bias is None else fnv1a32(layer.bias.astype("<i4").tobytes()),
        bias_eff=bias_eff.astype(np.int32),
        words=words,
    )


def emit_interleaved(tflite: bytes, out_dir: Path, command: str) -> list[Path]:
    """Write ``ppg_encoder_fc_interleaved.{h,c}`` for the int8 encoder ``tflite`` into ``out_dir``.

    Call it next to ``emit_firmware_model`` (same ``out_dir``, e.g. lib/encoder_model). Raises
    :class:`InterleaveError` when a layer cannot use the kernel.
    """
    import hashlib

    layers = [interleave_layer(layer) for layer in fc_layers_from_tflite(tflite)]
    ctx = provenance(command, hashlib.sha256(tflite).hexdigest()) | {
        "max_k": max(layer.cols for layer in layers),
        "layers": [
            {
                "rows": layer.rows,
                "rows_padded": layer.rows_padded,
                "cols": layer.cols,
                "input_zero_point": layer.input_zero_point,
                "filter_hash": f"0x{layer.filter_hash:08x}U",
                "bias_hash": f"0x{layer.bias_hash:08x}U",
                "n_words": layer.words.size,
                "bias_lines": c_lines(layer.bias_eff, 8, "{}"),
                "word_lines": c_lines(layer.words, 8, "0x{:08x}U"),
            }
            for layer in layers
        ],
    }
    written = render((INTERLEAVED_HEADER, INTERLEAVED_SOURCE), ctx, out_dir)
    log.info("emitted interleaved FC weights for %d layers into %s", len(layers), out_dir)
    return written


def model_from_c(path: Path) -> bytes:
    """The bytes of ppg_encoder_model_data in a generated ppg_encoder_model.c."""
    text = path.read_text()
    start = text.index("{", text.index("ppg_encoder_model_data"))
    body = text[start : text.index("}", start)]
    return bytes(int(x, 16) for x in re.findall(r"0x([0-9a-fA-F]{2})", body))


def main(argv: list[str] | None = None) -> int:
    """Write ppg_encoder_fc_interleaved.{h,c} (weights for CONFIG_TFLM_KERNELS_PPG_FC) from the int8 encoder."""
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--tflite", type=Path, default=REPO_ROOT / ARTIFACTS_DIR / TFLITE_FILE,
                    help=f"int8 encoder .tflite (default {ARTIFACTS_DIR / TFLITE_FILE})")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / FIRMWARE_MODEL_DIR,
                    help=f"output directory (default {FIRMWARE_MODEL_DIR})")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s")

    if args.tflite.is_file():
        data, src = args.tflite.read_bytes(), args.tflite
    else:
        src = args.out / MODEL_SOURCE
        log.info("%s not found: using the committed model in %s", args.tflite, src)
        data = model_from_c(src)
    try:
        rel = src.resolve().relative_to(REPO_ROOT)
    except ValueError:
        rel = src
    command = f"python scripts/emit_interleaved.py  # from {rel}"
    try:
        for path in emit_interleaved(data, args.out, command):
            print(path)
    except InterleaveError as exc:
        log.error("the PPG FC kernel cannot run this model: %s", exc)
        return 1
    return 0


__all__ = [
    "FcLayer",
    "InterleaveError",
    "InterleavedLayer",
    "emit_interleaved",
    "fc_layers_from_tflite",
    "fnv1a32",
    "interleave_layer",
    "main",
    "model_from_c",
    "pair_inputs",
]

if __name__ == "__main__":
    sys.exit(main())
