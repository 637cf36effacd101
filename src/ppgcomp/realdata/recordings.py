"""The development set's recordings at 25 Hz with their HR reference, ready to window.

| recording | signal | reference |
|---|---|---|
| dalia_s6_stairs | PPG-DaLiA S6 climbing stairs, wrist BVP, 32 Hz, 436 s (motion) | ECG-derived HR per 8 s window |
| biopeaks_finger | finger pleth, 125 Hz, 8 min at rest, one artifact burst | its clean-span beats |
| peakdet_pulse | pulse sensor, 50 Hz, 8 min at rest | its clean-span beats |
| physiokit2_ear | ear PPG, 250 Hz, 2 min at rest | its clean-span beats |
| physiokit2_finger | finger PPG (clipped), 250 Hz, same 2 min | the ear channel's clean-span beats |
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ppgcomp.constants import MODEL_RATE_HZ, TARGET_LEN, WINDOW_LEN
from ppgcomp.data.hr_labels import beats_to_hr_at
from ppgcomp.data.public import read_pickle
from ppgcomp.data.rate import rate_path, to_model_rate
from ppgcomp.data.windows import window_starts
from ppgcomp.realdata import beats as beatmod
from ppgcomp.realdata.sources import SOURCES, fetch

COUNTS_SPAN = 2**14  # float signals are scaled so that their 0.1-99.9 % range spans this many counts
DALIA_WINDOW_S, DALIA_SHIFT_S = 8.0, 2.0


@dataclass
class RealRecording:
    name: str
    condition: str  # "rest" or "motion"
    signal: str
    reference: str
    source: str  # the pinned requirement and member
    rate_path: str
    ppg: np.ndarray  # int32 counts at 25 Hz
    hr_ref: np.ndarray  # float64 per 25 Hz sample: reference HR (NaN where there is none)
    clean: np.ndarray  # bool per 25 Hz sample: inside a clean span (all True with an ECG reference)


@dataclass
class RealWindows:
    recording: str
    condition: str
    raw: np.ndarray  # (n, 400) int32
    ref_bpm: np.ndarray  # (n,) reference HR of each window's last 8 s (mean of the per-sample reference)
    end_s: np.ndarray  # (n,) window end time in s
    windows_total: int  # full windows in the recording, scored or not


def to_counts(x: np.ndarray) -> np.ndarray:
    """A float signal as int32 counts spanning about COUNTS_SPAN levels (the model is scale invariant)."""
    x = np.asarray(x, dtype=np.float64)
    lo, hi = np.percentile(x, [0.1, 99.9])
    return np.round((x - np.median(x)) * (COUNTS_SPAN / max(hi - lo, 1e-12))).astype(np.int64)


def _at_25hz(counts: np.ndarray, fs: float):
    path = rate_path(fs)
    ppg = to_model_rate(counts, path)
    return ppg.astype(np.int32), path.out_times(ppg.size), path.describe()


def _beat_reference(
    name: str,
    condition: str,
    sig: str,
    src: str,
    x: np.ndarray,
    fs: float,
    beat_signal: np.ndarray | None = None,
    ref_text: str = "its clean-span beats",
) -> RealRecording:
    ppg, t, describe = _at_25hz(to_counts(x), fs)
    bsig = x if beat_signal is None else beat_signal
    beats, slopes = beatmod.detect_beats(bsig, fs)
    ok = beatmod.clean_ibis(beats, slopes, fs)
    mask = beatmod.clean_samples(beats, ok, bsig.size)
    clean = mask[np.minimum(np.round(t * fs).astype(np.int64), bsig.size - 1)]
    hr = beats_to_hr_at(beats / fs, t)
    return RealRecording(name, condition, sig, ref_text, src, describe, ppg, hr, clean)


def _src(name: str) -> tuple[str, str]:
    s = next(s for s in SOURCES if s.name == name)
    return s.name, f"{s.requirement}: {s.member}"


def load_dalia(path: Path) -> RealRecording:
    d = read_pickle(path)
    x = np.asarray(d["X"], dtype=np.float64)  # (windows, 4 channels: BVP, acc x/y/z, 256 samples = 8 s at 32 Hz)
    y = np.asarray(d["y"], dtype=np.float64).reshape(-1)
    fs = x.shape[2] / DALIA_WINDOW_S
    shift = round(DALIA_SHIFT_S * fs)
    bvp = np.concatenate([x[0, 0], x[1:, 0, -shift:].reshape(-1)])
    ppg, t, describe = _at_25hz(to_counts(bvp), fs)
    label_t = DALIA_WINDOW_S + DALIA_SHIFT_S * np.arange(y.size)  # each label at its window's end
    hr = np.interp(t, label_t, y, left=np.nan, right=np.nan)
    return RealRecording(
        "dalia_s6_stairs",
        "motion",
        "PPG-DaLiA S6 climbing stairs, wrist BVP, 32 Hz",
        "ECG-derived HR per 8 s window (the data set's label)",
        _src("kidppg_dalia_s6_stairs")[1],
        describe,
        ppg,
        hr,
        np.ones(ppg.size, dtype=bool),
    )


def load_biopeaks(path: Path) -> RealRecording:
    rows = [ln.split("\t") for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    x = np.array([float(r[5]) for r in rows])
    return _beat_reference(
        "biopeaks_finger", "rest", "finger pleth (OpenSignals PPG), 125 Hz", _src("biopeaks_osmontage_ppg")[1], x, 125.0
    )


def load_peakdet(path: Path) -> RealRecording:
    x = np.array([float(v) for v in path.read_text().split()])
    return _beat_reference("peakdet_pulse", "rest", "pulse sensor, 50 Hz", _src("peakdet_ppg")[1], x, 50.0)


def load_physiokit(path: Path) -> list[RealRecording]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    finger = np.array([float(r["PPG Finger"]) for r in rows])
    ear = np.array([float(r["PPG Ear"]) for r in rows])
    src = _src("physiokit2_p1_s1_baseline")[1]
    return [
        _beat_reference("physiokit2_ear", "rest", "ear PPG, 250 Hz", src, ear, 250.0),
        _beat_reference(
            "physiokit2_finger",
            "rest",
            "finger PPG (clipped), 250 Hz",
            src,
            finger,
            250.0,
            beat_signal=ear,
            ref_text="the ear channel's clean-span beats",
        ),
    ]


def load_all(folder: Path | None = None) -> list[RealRecording]:
    """Every recording of the development set (fetched into the cache on first use)."""
    files = {s.name: fetch(s, folder) for s in SOURCES}
    return [
        load_biopeaks(files["biopeaks_osmontage_ppg"]),
        load_peakdet(files["peakdet_ppg"]),
        *load_physiokit(files["physiokit2_p1_s1_baseline"]),
        load_dalia(files["kidppg_dalia_s6_stairs"]),
    ]


def windows(rec: RealRecording, hop: int) -> RealWindows:
    """The recording's windows every `hop` samples that lie wholly in clean spans and have a reference."""
    starts = window_starts(rec.ppg.size, hop)
    keep, refs = [], []
    for s in starts:
        tail = rec.hr_ref[s + WINDOW_LEN - TARGET_LEN : s + WINDOW_LEN]
        if rec.clean[s : s + WINDOW_LEN].all() and np.isfinite(tail).all():
            keep.append(s)
            refs.append(float(tail.mean()))
    idx = np.asarray(keep, dtype=np.int64)
    raw = rec.ppg[idx[:, None] + np.arange(WINDOW_LEN)[None, :]] if idx.size else np.zeros((0, WINDOW_LEN), np.int32)
    return RealWindows(
        rec.name,
        rec.condition,
        raw.astype(np.int32),
        np.asarray(refs, np.float64),
        (idx + WINDOW_LEN) / MODEL_RATE_HZ,
        int(starts.size),
    )
