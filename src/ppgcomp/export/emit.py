"""Emitting what the firmware and the receiver need: model C source, Kconfig defaults, the model's over-the-air
blob and golden vectors."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ppgcomp.constants import (
    ARENA_BUDGET_BYTES,
    BLOB_FILE,
    BLOB_GOLDEN_WINDOWS,
    CODE_LEN,
    DETREND_HALF,
    MODEL_RATE_HZ,
    TRAIN_HOP,
    WARMUP_LEN,
    WINDOW_LEN,
)
from ppgcomp.export import model_blob
from ppgcomp.export.cgen import GOLDEN_HEADER, MODEL_HEADER, MODEL_KCONFIG, MODEL_SOURCE, c_lines, provenance, render
from ppgcomp.export.convert import FIRMWARE_OPS, TfliteModel

log = logging.getLogger(__name__)


@dataclass
class GoldenVectors:
    subject: str
    sensor_rate_hz: int
    raw: np.ndarray  # int32 at the sensor rate
    decimated: np.ndarray  # int32 at 25 Hz
    q: np.ndarray  # (n, 400) int8
    codes: np.ndarray  # (n, 16) int8
    hop: int


def _common(model: TfliteModel, command: str) -> dict:
    return provenance(command, model.sha256) | {"tag": f"{model.tag:02x}"}


def model_blob_of(model: TfliteModel, golden: GoldenVectors, arena: int) -> bytes:
    """The model as an over-the-air blob (docs/model_blob.md) with the first BLOB_GOLDEN_WINDOWS golden windows."""
    n = min(BLOB_GOLDEN_WINDOWS, golden.q.shape[0])
    if n == 0 or golden.codes.shape[0] < n:
        raise ValueError("the blob needs golden windows with their codes")
    return model_blob.build_blob(model.data, golden.q[:n], golden.codes[:n], arena)


def emit_firmware_model(model: TfliteModel, arena_used: int, arena: int, out_dir: Path, command: str,
                        golden: GoldenVectors) -> list[Path]:
    """Write ppg_encoder_model.{h,c}, Kconfig.model and the model's blob (ppg_encoder_model.blob) into `out_dir`.

    The C golden arrays (the built-in model's boot self-test) are read back from the blob's bytes: one source.
    """
    unknown = [op for op in model.ops if op not in FIRMWARE_OPS]
    if unknown:
        raise ValueError(f"no TFLM resolver name for ops {unknown}")
    blob = model_blob_of(model, golden, arena)
    if len(blob) <= model_blob.MAX_TOTAL_LEN:
        model_blob.parse(blob, allowed_ops=set(model_blob.tflite_op_codes(model.data)))
    else:  # the dense encoder: a C model, but too large for a model slot
        log.warning("the model's blob (%d bytes) does not fit a model slot (%d bytes): it cannot go over the air",
                    len(blob), model_blob.MAX_TOTAL_LEN)
    parsed = model_blob.unpack(blob)
    ctx = _common(model, command) | {
        "rate": MODEL_RATE_HZ,
        "window": WINDOW_LEN,
        "warmup": WARMUP_LEN,
        "hop": TRAIN_HOP,
        "code_len": CODE_LEN,
        "detrend_half": DETREND_HALF,
        "input_scale": repr(float(np.float32(model.input_scale))),
        "input_zero_point": model.input_zero_point,
        "output_scale": repr(float(np.float32(model.output_scale))),
        "output_zero_point": model.output_zero_point,
        "sha256_bytes": ", ".join(f"0x{model.sha256[i:i + 2]}" for i in range(0, 64, 2)),
        "ops": [FIRMWARE_OPS[op] for op in model.ops],
        "tflite_ops": model.ops,
        "op_list": model.op_list,
        "arena": arena,
        "arena_used": arena_used,
        "arena_budget": ARENA_BUDGET_BYTES,
        "macs": model.macs,
        "length": len(model.data),
        "data_lines": c_lines(np.frombuffer(model.data, dtype=np.uint8), 16, "0x{:02x}"),
        "blob_file": BLOB_FILE,
        "blob_len": len(blob),
        "golden_count": parsed.golden_in.shape[0],
        "golden_in_lines": [c_lines(w, 16, "{:d}") for w in parsed.golden_in],
        "golden_code_lines": [", ".join(str(int(c)) for c in row) for row in parsed.golden_codes],
    }
    written = render((MODEL_HEADER, MODEL_SOURCE, MODEL_KCONFIG), ctx, out_dir)
    (out_dir / BLOB_FILE).write_bytes(blob)
    written.append(out_dir / BLOB_FILE)
    log.info("emitted the firmware model into %s (%d bytes, tag 0x%02x)", out_dir, len(model.data), model.tag)
    return written


def emit_golden(model: TfliteModel, golden: GoldenVectors, out_dir: Path, command: str) -> Path:
    ctx = _common(model, command) | {
        "subject": golden.subject,
        "sensor_rate": golden.sensor_rate_hz,
        "raw_len": golden.raw.size,
        "dec_len": golden.decimated.size,
        "n": golden.q.shape[0],
        "hop": golden.hop,
        "window": WINDOW_LEN,
        "code_len": CODE_LEN,
        "raw_lines": c_lines(golden.raw, 8, "{:d}"),
        "dec_lines": c_lines(golden.decimated, 8, "{:d}"),
        "q_lines": [c_lines(w, 16, "{:d}") for w in golden.q],
        "code_lines": [", ".join(str(int(c)) for c in row) for row in golden.codes],
    }
    return render((GOLDEN_HEADER,), ctx, out_dir)[0]
