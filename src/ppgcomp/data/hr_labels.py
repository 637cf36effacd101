"""HR labels from R-peaks, the way the original tutorial's `Rpeak2HR` derives them, but in bpm.

`Rpeak2HR` counts the R-peaks in an 8 s window at every sample and low-pass filters the curve. We use a
trailing window (the beats in the 8 s up to each sample), so every label of a window's last 8 s depends only on
beats the 16 s input window contains, and report the count as bpm: count / 8 s * 60.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from ppgcomp.constants import MODEL_RATE_HZ

HR_WINDOW_S = 8.0
SMOOTH_CUTOFF_HZ = 0.15
MAX_RR_S = 60.0 / 25.0  # a stretch without beats longer than this (below 25 bpm) is a gap in the reference
# The zero-phase low-pass's step response settles to 0.15 % within 8 s: labels this far from a gap are its own.
SMOOTH_MARGIN_S = 8.0


def rpeak_count_bpm(rpeak_flags: np.ndarray, rate_hz: float, window_s: float = HR_WINDOW_S) -> np.ndarray:
    """Per-sample count of R-peaks in the trailing `window_s` seconds, converted to bpm (unsmoothed)."""
    flags = (np.asarray(rpeak_flags) > 0).astype(np.int64)
    win = round(window_s * rate_hz)
    csum = np.concatenate([[0], np.cumsum(flags)])
    idx = np.arange(flags.size)
    start = np.maximum(idx + 1 - win, 0)
    count = csum[idx + 1] - csum[start]
    bpm = count / window_s * 60.0
    # Before a full window has elapsed the count is incomplete: hold the first full-window value.
    if flags.size >= win:
        bpm[: win - 1] = bpm[win - 1]
    return bpm.astype(np.float64)


def smooth_hr(hr_bpm: np.ndarray, rate_hz: float) -> np.ndarray:
    """Zero-phase low-pass of the count curve, as the original's `filtr_HR` does."""
    if hr_bpm.size < 32:
        return hr_bpm
    sos = signal.butter(2, SMOOTH_CUTOFF_HZ, fs=rate_hz, output="sos")
    return signal.sosfiltfilt(sos, hr_bpm, padtype="even")


def rpeaks_to_hr(rpeak_flags: np.ndarray, rate_hz: float, n_out: int) -> np.ndarray:
    """HR in bpm at 25 Hz, one value per model-rate sample, from R-peak flags sampled at `rate_hz`."""
    hr = smooth_hr(rpeak_count_bpm(rpeak_flags, rate_hz), rate_hz)
    # The 25 Hz sample k covers input samples up to (k+1)*M - 1 (the decimator's output instant).
    step = rate_hz / MODEL_RATE_HZ
    pick = np.minimum(np.round((np.arange(n_out) + 1) * step - 1).astype(np.int64), hr.size - 1)
    return hr[pick].astype(np.float32)


def rpeak_times_to_flags(times_s: np.ndarray, rate_hz: float, n: int) -> np.ndarray:
    """R-peak times in seconds to 0/1 flags at `rate_hz` over `n` samples."""
    flags = np.zeros(n, dtype=np.int8)
    idx = np.round(np.asarray(times_s, dtype=np.float64) * rate_hz).astype(np.int64)
    idx = idx[(idx >= 0) & (idx < n)]
    flags[idx] = 1
    return flags


def rpeaks_to_hr_at(rpeak_flags: np.ndarray, rate_hz: float, times_s: np.ndarray) -> np.ndarray:
    """The same HR labels as :func:`rpeaks_to_hr`, read at any times (s): for recordings on the resample path."""
    hr = smooth_hr(rpeak_count_bpm(rpeak_flags, rate_hz), rate_hz)
    return np.interp(np.asarray(times_s) * rate_hz, np.arange(hr.size), hr).astype(np.float32)


def beats_to_hr_at(beat_times_s: np.ndarray, times_s: np.ndarray, window_s: float = HR_WINDOW_S) -> np.ndarray:
    """HR (bpm) at each time from the beats in the trailing `window_s`: 60 / mean RR = 60 (n - 1) / (last - first),
    the definition of PPG-DaLiA's ECG labels (8 s windows). Used for beat annotations and ECG R-peaks (WESAD,
    WFDB). Before the first full window the first full window's value is held; fewer than two beats give NaN."""
    beats = np.sort(np.asarray(beat_times_s, dtype=np.float64))
    t = np.maximum(np.asarray(times_s, dtype=np.float64), window_s)
    hi = np.searchsorted(beats, t, side="left")  # beats < t
    lo = np.searchsorted(beats, t - window_s, side="left")  # beats >= t - window
    n = hi - lo
    ok = n >= 2
    first = beats[np.minimum(lo, beats.size - 1)] if beats.size else np.zeros_like(t)
    last = beats[np.clip(hi - 1, 0, beats.size - 1)] if beats.size else np.zeros_like(t)
    span = np.where(ok, last - first, 1.0)
    return np.where(ok & (span > 0), 60.0 * (n - 1) / np.where(span > 0, span, 1.0), np.nan)


def beat_reference(beat_times_s: np.ndarray, duration_s: float, step_s: float = 2.0,
                   window_s: float = HR_WINDOW_S) -> tuple[np.ndarray, np.ndarray]:
    """A file's own HR reference from its beats, every `step_s` from `window_s` on (PPG-DaLiA's windows), as
    :func:`beats_to_hr_at` defines it; windows with fewer than two beats are left out."""
    ends = np.arange(window_s, duration_s + 1e-9, step_s)
    hr = beats_to_hr_at(beat_times_s, ends, window_s)
    ok = np.isfinite(hr)
    return ends[ok], hr[ok]


def beat_gaps(beat_times_s: np.ndarray, duration_s: float, max_rr_s: float = MAX_RR_S) -> np.ndarray:
    """Stretches without beats longer than `max_rr_s` (the file's start and end count as edges), as (n, 2) start
    and end times in s: the reference says nothing about the heart there."""
    b = np.sort(np.asarray(beat_times_s, dtype=np.float64).reshape(-1))
    b = b[(b >= 0) & (b <= duration_s)]
    edges = np.concatenate([[0.0], b, [float(duration_s)]])
    i = np.flatnonzero(np.diff(edges) > max_rr_s)
    return np.stack([edges[i], edges[i + 1]], axis=1)


def nan_runs(x: np.ndarray, rate_hz: float) -> np.ndarray:
    """Runs of NaN/inf samples in a reference sampled at `rate_hz`, as (n, 2) start and end times in s."""
    bad = ~np.isfinite(np.asarray(x, dtype=np.float64).reshape(-1))
    if not bad.any():
        return np.zeros((0, 2))
    d = np.diff(np.concatenate([[0], bad.astype(np.int8), [0]]))
    return np.stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1)], axis=1) / rate_hz


def gap_mask(gaps: np.ndarray, times_s: np.ndarray, window_s: float = HR_WINDOW_S, margin_s: float = 0.0) -> np.ndarray:
    """True at each time whose trailing `window_s` HR window touches one of `gaps` ((n, 2) start/end in s), widened by
    `margin_s` each side (the smoothing's reach). Before `window_s` the labels hold the first full window's value,
    and so does this mask."""
    t = np.maximum(np.asarray(times_s, dtype=np.float64), window_s)
    out = np.zeros(t.size + 1, dtype=np.int64)
    gaps = np.asarray(gaps, dtype=np.float64).reshape(-1, 2)
    if gaps.size:
        np.add.at(out, np.searchsorted(t, gaps[:, 0] - margin_s, side="right"), 1)
        np.add.at(out, np.searchsorted(t, gaps[:, 1] + window_s + margin_s, side="left"), -1)
    return np.cumsum(out[:-1]) > 0
