"""Emitting what the firmware and the receiver need: model C source, Kconfig defaults and golden vectors."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from ppgcomp import __version__
from ppgcomp.constants import CODE_LEN, DETREND_HALF, MODEL_RATE_HZ, TRAIN_HOP, WARMUP_LEN, WINDOW_LEN
from ppgcomp.convert import TfliteModel
from ppgcomp.models import ENCODER_UNITS

log = logging.getLogger(__name__)

MODEL_HEADER = "ppg_encoder_model.h"
MODEL_SOURCE = "ppg_encoder_model.c"
MODEL_KCONFIG = "Kconfig.model"
GOLDEN_HEADER = "ppg_golden_vectors.h"

# TFLite builtin op name -> MicroMutableOpResolver method suffix.
RESOLVER_NAMES = {"FULLY_CONNECTED": "FullyConnected"}


def encoder_macs() -> int:
    dims = (WINDOW_LEN, *ENCODER_UNITS)
    return int(sum(a * b for a, b in itertools.pairwise(dims)))


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _c_lines(values, per_line: int, fmt: str) -> list[str]:
    vals = [fmt.format(int(v)) for v in np.asarray(values).reshape(-1)]
    return [", ".join(vals[i : i + per_line]) + "," for i in range(0, len(vals), per_line)]


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
    return {
        "command": command,
        "generator": f"ppgcomp {__version__}",
        "sha256": model.sha256,
        "tag": f"{model.tag:02x}",
    }


def emit_firmware_model(model: TfliteModel, arena_used: int, arena: int, out_dir: Path, command: str) -> list[Path]:
    """Write ppg_encoder_model.{h,c} and Kconfig.model into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    unknown = [op for op in model.ops if op not in RESOLVER_NAMES]
    if unknown:
        raise ValueError(f"no TFLM resolver name for ops {unknown}")
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
        "ops": [RESOLVER_NAMES[op] for op in model.ops],
        "arena": arena,
        "arena_used": arena_used,
        "macs": encoder_macs(),
        "length": len(model.data),
        "data_lines": _c_lines(np.frombuffer(model.data, dtype=np.uint8), 16, "0x{:02x}"),
    }
    env = _env()
    written = []
    for template, name in (("ppg_encoder_model.h.j2", MODEL_HEADER), ("ppg_encoder_model.c.j2", MODEL_SOURCE),
                           ("Kconfig.model.j2", MODEL_KCONFIG)):
        path = out_dir / name
        path.write_text(env.get_template(template).render(ctx))
        written.append(path)
    log.info("emitted the firmware model into %s (%d bytes, tag 0x%02x)", out_dir, len(model.data), model.tag)
    return written


def emit_golden(model: TfliteModel, golden: GoldenVectors, out_dir: Path, command: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = _common(model, command) | {
        "subject": golden.subject,
        "sensor_rate": golden.sensor_rate_hz,
        "raw_len": golden.raw.size,
        "dec_len": golden.decimated.size,
        "n": golden.q.shape[0],
        "hop": golden.hop,
        "window": WINDOW_LEN,
        "code_len": CODE_LEN,
        "raw_lines": _c_lines(golden.raw, 8, "{:d}"),
        "dec_lines": _c_lines(golden.decimated, 8, "{:d}"),
        "q_lines": [_c_lines(w, 16, "{:d}") for w in golden.q],
        "code_lines": [", ".join(str(int(c)) for c in row) for row in golden.codes],
    }
    path = out_dir / GOLDEN_HEADER
    path.write_text(_env().get_template("ppg_golden_vectors.h.j2").render(ctx))
    return path
