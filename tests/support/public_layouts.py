"""Small recordings written in the exact upstream layouts (a test helper module): PPG-DaLiA and WESAD pickles,
PhysioNet WFDB records (wfdb.wrsamp + wfdb.wrann). Nothing is downloaded."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np


def beat_times(duration_s: float, hr_start: float, hr_end: float, start_s: float = 0.3) -> np.ndarray:
    """Beats whose rate moves linearly from hr_start to hr_end bpm over the recording."""
    times, t = [], start_s
    while t < duration_s:
        times.append(t)
        t += 60.0 / (hr_start + (hr_end - hr_start) * t / duration_s)
    return np.asarray(times)


def pulse_wave(beats: np.ndarray, fs: float, n: int, amp: float = 80.0, seed: int = 0) -> np.ndarray:
    """A float PPG: a systolic and a dicrotic Gaussian per beat, slow baseline, a little noise."""
    t = np.arange(n) / fs
    x = np.zeros(n)
    for b in beats:
        lo, hi = int((b - 0.1) * fs), int((b + 0.9) * fs)
        tt = t[max(lo, 0) : min(hi, n)]
        x[max(lo, 0) : min(hi, n)] += np.exp(-0.5 * ((tt - b - 0.2) / 0.07) ** 2) + 0.4 * np.exp(
            -0.5 * ((tt - b - 0.48) / 0.09) ** 2)
    rng = np.random.default_rng(seed)
    return amp * (x - 0.5) + 10 * np.sin(2 * np.pi * 0.05 * t) + rng.normal(0, 0.5, n)


def ecg_wave(beats: np.ndarray, fs: float, n: int, seed: int = 1) -> np.ndarray:
    """A float ECG in mV: narrow QRS spikes at the beats, P and T waves, baseline wander and noise."""
    t = np.arange(n) / fs
    x = np.zeros(n)
    for b in beats:
        lo, hi = int((b - 0.3) * fs), int((b + 0.5) * fs)
        sl = slice(max(lo, 0), min(hi, n))
        tt = t[sl]
        x[sl] += (1.2 * np.exp(-0.5 * ((tt - b) / 0.01) ** 2) - 0.2 * np.exp(-0.5 * ((tt - b - 0.03) / 0.01) ** 2)
                  + 0.15 * np.exp(-0.5 * ((tt - b + 0.16) / 0.025) ** 2)
                  + 0.3 * np.exp(-0.5 * ((tt - b - 0.3) / 0.05) ** 2))
    rng = np.random.default_rng(seed)
    return x + 0.2 * np.sin(2 * np.pi * 0.3 * t) + rng.normal(0, 0.02, n)


def dalia_labels(beats: np.ndarray, duration_s: float) -> np.ndarray:
    """HR per 8 s window, 2 s shift (PPG-DaLiA's `label`): 60 / mean RR of the beats in each window."""
    out = []
    for start in np.arange(0.0, duration_s - 8.0 + 1e-9, 2.0):
        b = beats[(beats >= start) & (beats < start + 8.0)]
        out.append(60.0 * (b.size - 1) / (b[-1] - b[0]))
    return np.asarray(out, dtype=np.float64)


def _pickle(path: Path, obj: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=2)  # the upstream files are Python 2 pickles
    return path


def _signals(beats: np.ndarray, duration_s: float, seed: int) -> dict:
    """signal/chest (700 Hz) and signal/wrist (ACC 32, BVP 64, EDA and TEMP 4 Hz) as PPG-DaLiA/WESAD hold them."""
    n700, n64, n32, n4 = (round(duration_s * f) for f in (700, 64, 32, 4))
    rng = np.random.default_rng(seed)
    ecg = ecg_wave(beats, 700.0, n700, seed)
    return {
        "chest": {"ACC": rng.normal(0, 0.05, (n700, 3)), "ECG": ecg[:, None], "EMG": rng.normal(0, 0.01, (n700, 1)),
                  "EDA": np.full((n700, 1), 2.5), "Temp": np.full((n700, 1), 33.5, dtype=np.float32),
                  "Resp": rng.normal(0, 1, (n700, 1))},
        "wrist": {"ACC": rng.normal(0, 5, (n32, 3)), "BVP": pulse_wave(beats, 64.0, n64, seed=seed)[:, None],
                  "EDA": np.full((n4, 1), 0.4), "TEMP": np.full((n4, 1), 32.1)},
    }


def write_dalia(root: Path, subject: str = "S1", duration_s: float = 150.0, hr=(70.0, 95.0), seed: int = 0) -> Path:
    """root/S1/S1.pkl in the PPG-DaLiA layout; returns the file."""
    beats = beat_times(duration_s, *hr)
    obj = {
        "rpeaks": np.round(beats * 700).astype(np.int64),
        "signal": _signals(beats, duration_s, seed),
        "label": dalia_labels(beats, duration_s),
        "activity": np.zeros((round(duration_s * 4), 1)),
        "questionnaire": {"WEIGHT": 78.0, "Gender": " m", "AGE": 34, "HEIGHT": 182.0, "SKIN": 3, "SPORT": 6},
        "subject": subject,
    }
    return _pickle(root / subject / f"{subject}.pkl", obj)


def write_wesad(root: Path, subject: str = "S2", duration_s: float = 150.0, hr: float = 75.0, seed: int = 0) -> Path:
    """root/S2/S2.pkl in the WESAD layout (label = study condition per 700 Hz sample, no HR)."""
    beats = beat_times(duration_s, hr, hr)
    signals = _signals(beats, duration_s, seed)
    n700 = signals["chest"]["ECG"].shape[0]
    label = np.zeros(n700, dtype=np.int32)
    label[n700 // 3 :] = 1
    obj = {"signal": signals, "label": label, "subject": subject}
    return _pickle(root / subject / f"{subject}.pkl", obj)


def write_wfdb(root: Path, name: str = "rec", duration_s: float = 150.0, fs: int = 125, hr=(65.0, 85.0),
               annotate: bool = True, seed: int = 0) -> tuple[Path, np.ndarray]:
    """A BIDMC-like record (RESP, PLETH, II at 125 Hz, BIDMC's trailing commas in the names) written with
    wfdb.wrsamp, and beat annotations (.atr) with wfdb.wrann when `annotate`. Returns the record path and beats."""
    import wfdb

    root.mkdir(parents=True, exist_ok=True)
    beats = beat_times(duration_s, *hr)
    n = round(duration_s * fs)
    t = np.arange(n) / fs
    pleth = 0.5 + pulse_wave(beats, fs, n, amp=0.3, seed=seed) / 100.0
    sig = np.stack([np.sin(2 * np.pi * 0.25 * t), pleth, ecg_wave(beats, fs, n, seed)], axis=1)
    wfdb.wrsamp(name, fs=fs, units=["pm", "NU", "mV"], sig_name=["RESP,", "PLETH,", "II,"], p_signal=sig,
                fmt=["16", "16", "16"], write_dir=str(root))
    if annotate:
        samples = np.round(beats * fs).astype(np.int64)
        samples = samples[samples < n]
        wfdb.wrann(name, "atr", samples, symbol=["N"] * samples.size, write_dir=str(root), fs=fs)
    return root / name, beats
