"""Beats of a PPG recording at its own rate, and the clean-span rule that makes them an HR reference.

Used where a recording has no ECG. The rule is fixed here, documented in README.md, and tested; it looks only at
the beats, never at what a model predicts.

Beats: the signal is band-passed (0.5-8 Hz, zero-phase), its polarity chosen so that the steeper edge of the
pulse rises, and each beat is the maximum of the first difference (the steepest upstroke) among candidates at
least 0.27 s apart whose slope reaches 35 % of the steepest slope within +-2 s.

An inter-beat interval (IBI) is clean when all of these hold:

1. 0.3 s <= IBI <= 1.5 s (40-200 bpm);
2. it is within 20 % of the median of the 9 IBIs centred on it;
3. both of its beats' upstroke slopes are within 0.5-2 x the median slope of the 61 beats centred on each (about
   a minute: an artifact burst does not move it).

A sample is clean when it lies inside a clean IBI. A window is scored only when every sample of it is clean,
so an artifact burst, a missed or an extra beat removes the windows that contain it.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, signal

BAND_HZ = (0.5, 8.0)
MIN_BEAT_GAP_S = 0.27
SLOPE_FRACTION = 0.35
LOCAL_S = 2.0
IBI_RANGE_S = (0.3, 1.5)
IBI_TOLERANCE = 0.20
SLOPE_RANGE = (0.5, 2.0)
NEIGHBOURS = 9
SLOPE_NEIGHBOURS = 61


def upstroke_slope(x: np.ndarray, fs: float) -> np.ndarray:
    """The band-passed first difference, its sign chosen so that the pulse's steep edge is positive."""
    sos = signal.butter(2, [BAND_HZ[0], min(BAND_HZ[1], 0.45 * fs)], btype="bandpass", fs=fs, output="sos")
    y = signal.sosfiltfilt(sos, np.asarray(x, dtype=np.float64))
    d = np.diff(y, prepend=y[0])
    return d if np.percentile(d, 99.5) >= -np.percentile(d, 0.5) else -d


def detect_beats(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """(beat sample indices, their upstroke slopes)."""
    d = upstroke_slope(x, fs)
    local = ndimage.maximum_filter1d(d, size=max(3, int(2 * LOCAL_S * fs) + 1), mode="nearest")
    peaks, _ = signal.find_peaks(d, distance=max(1, int(MIN_BEAT_GAP_S * fs)))
    keep = d[peaks] >= SLOPE_FRACTION * local[peaks]
    peaks = peaks[keep & (d[peaks] > 0)]
    return peaks, d[peaks]


def _rolling_median(v: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    if v.size == 0:
        return v
    return ndimage.median_filter(v, size=min(k, v.size), mode="nearest")


def clean_ibis(beats: np.ndarray, slopes: np.ndarray, fs: float) -> np.ndarray:
    """Per IBI (beat i to i + 1): True where rules 1-3 of the module docstring hold."""
    if beats.size < 2:
        return np.zeros(0, dtype=bool)
    ibi = np.diff(beats) / fs
    ok = (ibi >= IBI_RANGE_S[0]) & (ibi <= IBI_RANGE_S[1])
    ok &= np.abs(ibi - _rolling_median(ibi)) <= IBI_TOLERANCE * _rolling_median(ibi)
    rel = slopes / np.maximum(_rolling_median(slopes, SLOPE_NEIGHBOURS), 1e-12)
    slope_ok = (rel >= SLOPE_RANGE[0]) & (rel <= SLOPE_RANGE[1])
    return ok & slope_ok[:-1] & slope_ok[1:]


def clean_samples(beats: np.ndarray, clean: np.ndarray, n: int) -> np.ndarray:
    """Per sample: inside a clean IBI."""
    mask = np.zeros(n, dtype=bool)
    for a, b, ok in zip(beats[:-1], beats[1:], clean):
        if ok:
            mask[a : b + 1] = True
    return mask
