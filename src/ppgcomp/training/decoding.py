"""Codes -> reconstruction -> HR: the one decoding path shared by the report and scripts/receive.py."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ppgcomp.constants import DECODER_FILE, HR_MODEL_FILE, MODEL_INFO_FILE, TARGET_LEN
from ppgcomp.tfenv import keras, tf

log = logging.getLogger(__name__)


class ArtifactError(RuntimeError):
    """Receiver artefacts are missing or do not belong together."""


@dataclass
class ModelInfo:
    sha256: str
    tag: int
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    sample_rate_hz: int
    window_len: int
    warmup_len: int
    train_hop: int
    code_len: int
    arena_bytes: int

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> ModelInfo:
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError:
            raise ArtifactError(f"{path}: missing; run scripts/train_export.py first") from None
        except (json.JSONDecodeError, TypeError) as e:
            raise ArtifactError(f"{path}: not a model-info file ({e})") from None


class CodeDecoder:
    """Dequantize int8 codes, run the decoder and the HR model. Batch-friendly."""

    def __init__(self, info: ModelInfo, decoder: keras.Model, hr_model: keras.Model) -> None:
        self.info, self.decoder, self.hr_model = info, decoder, hr_model
        self._run = tf.function(lambda c: self._forward(c), reduce_retracing=True)

    def _forward(self, codes_f):
        recon = self.decoder(codes_f, training=False)
        return recon, self.hr_model(recon, training=False)

    @classmethod
    def load(cls, artifacts: Path) -> CodeDecoder:
        info = ModelInfo.load(artifacts / MODEL_INFO_FILE)
        for name in (DECODER_FILE, HR_MODEL_FILE):
            if not (artifacts / name).is_file():
                raise ArtifactError(f"{artifacts / name}: missing; run scripts/train_export.py first")
        decoder = keras.models.load_model(artifacts / DECODER_FILE, compile=False)
        hr_model = keras.models.load_model(artifacts / HR_MODEL_FILE, compile=False)
        return cls(info, decoder, hr_model)

    def dequantize(self, codes: np.ndarray) -> np.ndarray:
        c = np.asarray(codes, dtype=np.float32)
        return ((c - self.info.output_zero_point) * np.float32(self.info.output_scale)).astype(np.float32)

    def decode(self, codes: np.ndarray, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
        """(n, 16) int8 codes -> ((n, 400) reconstruction in [0, 1] units, (n, 200) HR in bpm)."""
        codes = np.atleast_2d(codes)
        recons, hrs = [], []
        for i in range(0, codes.shape[0], batch):
            r, h = self._run(tf.constant(self.dequantize(codes[i : i + batch])))
            recons.append(r.numpy())
            hrs.append(h.numpy())
        if not recons:
            return np.zeros((0, self.info.window_len), np.float32), np.zeros((0, TARGET_LEN), np.float32)
        return np.concatenate(recons), np.concatenate(hrs)
