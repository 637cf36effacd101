"""The exporter's emit step from committed artefacts, without training (``train_export.py --emit-only``).

It reads the int8 model, its model info and the golden vectors from the artefact folder, checks that they belong
together (the model's SHA-256, the golden codes reproduced by TFLM, the arena figure), and writes the firmware
model sources and blob (:func:`ppgcomp.export.emit.emit_firmware_model`) exactly as a training run would.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from ppgcomp.constants import GOLDEN_VECTORS_FILE, MODEL_INFO_FILE, TFLITE_FILE

log = logging.getLogger(__name__)


class ArtifactError(ValueError):
    """The artefact folder lacks a file, or its files do not belong to one model."""


def load_golden(path: Path, subject: str):
    from ppgcomp.export.emit import GoldenVectors

    with np.load(path) as z:
        return GoldenVectors(subject=subject, sensor_rate_hz=int(z["sensor_rate_hz"]), raw=z["raw"],
                             decimated=z["decimated"], q=z["q"], codes=z["codes"], hop=int(z["hop"]))


def emit_from_artifacts(artifacts: Path, emit_c: Path, command: str) -> list[Path]:
    """Regenerate `emit_c` (lib/encoder_model) from `artifacts`; ArtifactError when they are not consistent."""
    from ppgcomp.export.convert import inspect_tflite
    from ppgcomp.export.emit import emit_firmware_model
    from ppgcomp.export.verify import emitted_arena, measure_arena, tflm_codes

    paths = [artifacts / name for name in (TFLITE_FILE, MODEL_INFO_FILE, GOLDEN_VECTORS_FILE)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ArtifactError(f"missing {', '.join(missing)} (train first: python scripts/train_export.py)")
    model = inspect_tflite(paths[0].read_bytes())
    info = json.loads(paths[1].read_text())
    if info.get("sha256") != model.sha256:
        raise ArtifactError(f"{paths[1]} describes model {info.get('sha256')}, {paths[0]} is {model.sha256}")
    golden = load_golden(paths[2], "artefacts")
    if not np.array_equal(tflm_codes(model, golden.q), golden.codes):
        raise ArtifactError(f"{paths[2]}: TFLM does not give its codes with {paths[0]}")
    used = measure_arena(model, golden.q[0])
    arena = emitted_arena(used)
    if info.get("arena_bytes") != arena:
        raise ArtifactError(f"{paths[1]} says arena {info.get('arena_bytes')} bytes, the measurement gives {arena}")
    log.info("emitting model %s (tag 0x%02x) from %s", model.sha256, model.tag, artifacts)
    return emit_firmware_model(model, used, arena, emit_c, command, golden)
