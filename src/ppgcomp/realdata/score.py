"""Scoring HR estimators on the development set's windows: per recording, pooled at rest, and the motion line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ppgcomp.constants import (
    DECODER_FILE,
    ENCODER_FLOAT_FILE,
    HR_MODEL_FILE,
    HR_MODEL_RAW_FILE,
    MODEL_INFO_FILE,
    TFLITE_FILE,
)
from ppgcomp.dsp.preprocess import int8_to_float, preprocess_windows
from ppgcomp.realdata.baselines import beat_hr, spectral_hr
from ppgcomp.realdata.recordings import RealRecording, RealWindows, windows

DEFAULT_HOP = 50  # 2 s: the training hop and PPG-DaLiA's label shift (--hop 200 is the device's)

# A predictor maps (raw (n, 400) int32, q (n, 400) int8) to (n,) HR in bpm for each window's last 8 s.
Predictor = Callable[[np.ndarray, np.ndarray], np.ndarray]
BASELINES: dict[str, Predictor] = {
    "spectral peak": lambda raw, q: spectral_hr(raw),
    "beat detector": lambda raw, q: beat_hr(raw),
}


@dataclass
class Scores:
    hop: int
    recordings: list[dict]  # name, condition, signal, reference, source, windows scored / total
    mae: dict[str, dict[str, float]]  # predictor -> recording name | "pooled rest" | "pooled all" -> MAE bpm
    predictions: dict[str, dict[str, np.ndarray]]  # predictor -> recording -> per-window HR
    references: dict[str, np.ndarray]  # recording -> per-window reference
    end_s: dict[str, np.ndarray]

    def to_dict(self) -> dict:
        return {"hop_samples": self.hop, "recordings": self.recordings, "hr_mae_bpm": self.mae}


def _tail_mean(hr: np.ndarray) -> np.ndarray:
    return np.asarray(hr, dtype=np.float64).reshape(len(hr), -1).mean(axis=1)


def keras_predictors(
    label: str, *, hr_model_raw=None, encoder=None, decoder=None, hr_model=None, tflite=None, code_decoder=None
) -> dict[str, Predictor]:
    """Predictors for one model set: int8 codes (TFLM, the receiver's chain), float AE, raw-PPG model."""
    from ppgcomp.training.train import predict

    out: dict[str, Predictor] = {}
    if tflite is not None and code_decoder is not None:
        from ppgcomp.export.verify import tflm_codes

        out[f"{label} int8 codes"] = lambda raw, q: _tail_mean(code_decoder.decode(tflm_codes(tflite, q))[1])
    if encoder is not None and decoder is not None and hr_model is not None:
        out[f"{label} float AE"] = lambda raw, q: _tail_mean(
            predict(hr_model, predict(decoder, predict(encoder, int8_to_float(q))))
        )
    if hr_model_raw is not None:
        out[f"{label} raw-PPG model"] = lambda raw, q: _tail_mean(predict(hr_model_raw, int8_to_float(q)))
    return out


def artifact_predictors(art: Path, label: str) -> dict[str, Predictor]:
    """The predictors of a train_export output folder (the float AE only where it saved the float encoder)."""
    from ppgcomp.export.convert import inspect_tflite
    from ppgcomp.tfenv import keras
    from ppgcomp.training import models as _models  # noqa: F401  (registers the custom layers for loading)
    from ppgcomp.training.decoding import ArtifactError, CodeDecoder

    for name in (TFLITE_FILE, MODEL_INFO_FILE, DECODER_FILE, HR_MODEL_FILE, HR_MODEL_RAW_FILE):
        if not (art / name).is_file():
            raise ArtifactError(f"{art / name}: missing; run scripts/train_export.py first")

    def load(name: str):
        return keras.models.load_model(art / name, compile=False)

    cd = CodeDecoder.load(art)
    enc = load(ENCODER_FLOAT_FILE) if (art / ENCODER_FLOAT_FILE).is_file() else None
    return keras_predictors(
        label,
        hr_model_raw=load(HR_MODEL_RAW_FILE),
        encoder=enc,
        decoder=cd.decoder,
        hr_model=cd.hr_model,
        tflite=inspect_tflite((art / TFLITE_FILE).read_bytes()),
        code_decoder=cd,
    )


def score(recs: list[RealRecording], predictors: dict[str, Predictor], hop: int = DEFAULT_HOP) -> Scores:
    wins: list[RealWindows] = [windows(r, hop) for r in recs]
    preds: dict[str, dict[str, np.ndarray]] = {}
    for name, fn in predictors.items():
        preds[name] = {}
        for w in wins:
            q = preprocess_windows(w.raw) if len(w.ref_bpm) else np.zeros((0, w.raw.shape[1]), np.int8)
            preds[name][w.recording] = np.asarray(fn(w.raw, q), np.float64) if len(w.ref_bpm) else np.zeros(0)
    mae: dict[str, dict[str, float]] = {}
    for name in predictors:
        row: dict[str, float] = {}
        errs_rest, errs_all = [], []
        for w in wins:
            e = np.abs(preds[name][w.recording] - w.ref_bpm)
            row[w.recording] = float(e.mean()) if e.size else float("nan")
            errs_all.append(e)
            if w.condition == "rest":
                errs_rest.append(e)
        row["pooled rest"] = float(np.concatenate(errs_rest).mean())
        row["pooled all"] = float(np.concatenate(errs_all).mean())
        mae[name] = row
    info = [
        {
            "name": r.name,
            "condition": r.condition,
            "signal": r.signal,
            "reference": r.reference,
            "source": r.source,
            "rate_path": r.rate_path,
            "windows_scored": len(w.ref_bpm),
            "windows_total": w.windows_total,
            "reference_bpm": [float(w.ref_bpm.min()), float(w.ref_bpm.max())] if len(w.ref_bpm) else None,
        }
        for r, w in zip(recs, wins)
    ]
    return Scores(hop, info, mae, preds, {w.recording: w.ref_bpm for w in wins}, {w.recording: w.end_s for w in wins})


def markdown(s: Scores) -> str:
    """One row per predictor; columns: pooled at rest, each recording, the motion recording last."""
    rest = [r["name"] for r in s.recordings if r["condition"] == "rest"]
    motion = [r["name"] for r in s.recordings if r["condition"] != "rest"]
    cols = ["pooled rest", *rest, *motion]
    n = {r["name"]: r["windows_scored"] for r in s.recordings}
    n["pooled rest"] = sum(n[r] for r in rest)
    head = "| HR MAE, bpm | " + " | ".join(f"{c} ({n[c]})" + (" motion" if c in motion else "") for c in cols) + " |"
    lines = [head, "|---|" + "---:|" * len(cols)]
    for name, row in s.mae.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:.2f}" for c in cols) + " |")
    return "\n".join(lines) + "\n"


def plot(s: Scores, path: Path, names: list[str] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = [r["name"] for r in s.recordings]
    names = names or list(s.mae)
    fig, axes = plt.subplots(len(recs), 1, figsize=(9, 2.4 * len(recs)), squeeze=False)
    for ax, rec in zip(axes[:, 0], recs):
        ax.plot(s.end_s[rec], s.references[rec], "k.-", lw=1.5, label="reference")
        for name in names:
            ax.plot(s.end_s[rec], s.predictions[name][rec], ".", ms=3, label=f"{name} ({s.mae[name][rec]:.2f})")
        ax.set_title(rec, fontsize=9)
        ax.set_ylabel("bpm")
        ax.legend(fontsize=6, ncol=3)
    axes[-1, 0].set_xlabel("window end, s")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
