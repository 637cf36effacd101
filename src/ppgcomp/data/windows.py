"""Slicing recordings into 16 s model windows with the HR target of their last 8 s.

A NaN label marks a sample without a usable HR reference (a gap, an implausible stretch: ppgcomp.data.validate);
every window whose 16 s span touches one is left out, of training and of scoring alike."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ppgcomp.constants import TARGET_LEN, TRAIN_HOP, WINDOW_LEN
from ppgcomp.data.recording import Recording
from ppgcomp.dsp.preprocess import int8_to_float, preprocess_windows


@dataclass
class WindowSet:
    """Windows of raw counts, their int8 preprocessed form, the float model input and the HR target."""

    raw: np.ndarray  # (n, 400) int32
    q: np.ndarray  # (n, 400) int8, docs/preprocessing.md
    hr_bpm: np.ndarray  # (n, 200) float32, labels of the last 8 s
    subject: np.ndarray  # (n,) subject name per window
    start: np.ndarray  # (n,) first sample index of each window in its recording

    @property
    def x(self) -> np.ndarray:
        """The float network input, exactly what the int8 input dequantizes to."""
        return int8_to_float(self.q)

    def __len__(self) -> int:
        return int(self.raw.shape[0])


def window_starts(n_samples: int, hop: int = TRAIN_HOP, window: int = WINDOW_LEN) -> np.ndarray:
    """Start indices of every full window: 0, hop, 2*hop, ... while start + window <= n_samples."""
    if n_samples < window:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_samples - window + 1, hop, dtype=np.int64)


def usable_window_starts(hr_bpm: np.ndarray, hop: int = TRAIN_HOP, window: int = WINDOW_LEN) -> np.ndarray:
    """The starts of :func:`window_starts` whose whole window has usable (finite) HR labels."""
    hr_bpm = np.asarray(hr_bpm)
    s = window_starts(hr_bpm.size, hop, window)
    bad = ~np.isfinite(hr_bpm)
    if not bad.any():
        return s
    csum = np.concatenate([[0], np.cumsum(bad, dtype=np.int64)])
    return s[csum[s + window] == csum[s]]


def make_windows(recordings: list[Recording], hop: int = TRAIN_HOP) -> WindowSet:
    raws, hrs, subjects, starts = [], [], [], []
    for rec in recordings:
        s = usable_window_starts(rec.hr_bpm, hop)
        if s.size == 0:
            continue
        idx = s[:, None] + np.arange(WINDOW_LEN)[None, :]
        raws.append(rec.ppg[idx])
        hrs.append(rec.hr_bpm[idx[:, WINDOW_LEN - TARGET_LEN :]])
        subjects.append(np.full(s.size, rec.subject))
        starts.append(s)
    if not raws:
        empty = np.zeros((0, WINDOW_LEN), dtype=np.int32)
        return WindowSet(empty, empty.astype(np.int8), np.zeros((0, TARGET_LEN), np.float32), np.array([]), np.array([]))
    raw = np.concatenate(raws).astype(np.int32)
    return WindowSet(
        raw=raw,
        q=preprocess_windows(raw),
        hr_bpm=np.concatenate(hrs).astype(np.float32),
        subject=np.concatenate(subjects),
        start=np.concatenate(starts),
    )
