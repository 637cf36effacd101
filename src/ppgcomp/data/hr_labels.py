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
