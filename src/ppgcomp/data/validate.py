"""Checks every real recording passes before any training. Each failure raises DataError with one line that names
the file and what is wrong; isolated spikes in otherwise good PPG are removed with a warning that counts them.

Rules (README, "Real data"):

* PPG: finite; within +-2**31 (no sensor produces more); not constant; with enough variation to carry a pulse
  (integer counts: the 1st..99th percentile spread is at least ``MIN_SPREAD_COUNTS``; other values: at least
  ``MIN_RELATIVE_SPREAD`` of their magnitude).
* Spikes: a sample more than ``SPIKE_FACTOR`` times the signal's 5th..95th percentile spread away from its 200 ms
  running median. Up to ``MAX_SPIKE_FRACTION`` of the samples (at least ``MIN_SPIKES_ALLOWED``) are replaced by the
  running median, with a warning; more is an error naming the first one.
* HR labels: finite and within ``HR_MIN_BPM``..``HR_MAX_BPM``, whether given per sample, per window, or derived
  from R-peaks.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from scipy import ndimage

from ppgcomp.data.recording import DataError

log = logging.getLogger(__name__)

HR_MIN_BPM = 25.0
HR_MAX_BPM = 250.0
SENSOR_ABS_MAX = 2.0**31
MIN_SPREAD_COUNTS = 8
MIN_RELATIVE_SPREAD = 1e-6
SPIKE_FACTOR = 10.0
SPIKE_MEDIAN_S = 0.2
MAX_SPIKE_FRACTION = 1e-3
MIN_SPIKES_ALLOWED = 10


def _where(i: int, rate_hz: float | None) -> str:
    return f"sample {i}" + (f", {i / rate_hz:.2f} s" if rate_hz else "")


def check_finite(path: Path | str, name: str, x: np.ndarray, rate_hz: float | None = None) -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: {name} has {int(bad.sum())} NaN/inf values (first at row {first + 1}"
                        f"{f', {first / rate_hz:.2f} s' if rate_hz else ''})")


def check_ppg(path: Path | str, name: str, x: np.ndarray, rate_hz: float | None) -> np.ndarray:
    """Validate one PPG signal; returns it with isolated spikes removed (a copy when any were)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise DataError(f"{path}: {name} has no samples")
    check_finite(path, name, x, rate_hz)
    over = np.abs(x) >= SENSOR_ABS_MAX
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise DataError(f"{path}: {name} has {int(over.sum())} value(s) outside +-2^31, which no sensor produces "
                        f"(first {x[i]:.6g} at {_where(i, rate_hz)})")
    lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        raise DataError(f"{path}: {name} is constant ({lo:g} in every sample): no pulse")
    p1, p99 = (float(v) for v in np.percentile(x, [1, 99]))
    spread = p99 - p1
    integral = bool(np.all(x == np.round(x)))
    if integral and spread < MIN_SPREAD_COUNTS:
        raise DataError(f"{path}: {name} is near-constant: 98 % of the samples lie within {spread:g} counts "
                        f"(need {MIN_SPREAD_COUNTS}), too little variation to carry a pulse")
    scale = max(abs(p1), abs(p99))
    if not integral and spread <= MIN_RELATIVE_SPREAD * scale:
        raise DataError(f"{path}: {name} is near-constant: 98 % of the samples lie within {spread:.3g} of "
                        f"{scale:.6g}, too little variation to carry a pulse")
    p5, p95 = np.percentile(x, [5, 95])
    return remove_spikes(path, name, x, rate_hz, float(p95 - p5) if p95 > p5 else spread)


def remove_spikes(path: Path | str, name: str, x: np.ndarray, rate_hz: float | None, spread: float) -> np.ndarray:
    k = max(3, round(SPIKE_MEDIAN_S * (rate_hz or 25.0)) | 1)
    med = ndimage.median_filter(x, size=k, mode="nearest")
    spikes = np.abs(x - med) > SPIKE_FACTOR * spread
    n = int(spikes.sum())
    if n == 0:
        return x
    first = int(np.flatnonzero(spikes)[0])
    allowed = max(MIN_SPIKES_ALLOWED, int(MAX_SPIKE_FRACTION * x.size))
    if n > allowed:
        raise DataError(f"{path}: {name} has {n} spikes (more than {allowed} to remove; first {x[first]:.6g} at "
                        f"{_where(first, rate_hz)})")
    log.warning("%s: removed %d isolated spike(s) from %s (first %.6g at %s), replaced by the running median",
                path, n, name, x[first], _where(first, rate_hz))
    out = x.copy()
    out[spikes] = med[spikes]
    return out


def check_hr(path: Path | str, name: str, hr: np.ndarray, times_s: np.ndarray | None = None) -> None:
    """HR labels (bpm): finite and in HR_MIN_BPM..HR_MAX_BPM; `times_s` places a bad one in the file."""
    hr = np.asarray(hr, dtype=np.float64).reshape(-1)
    check_finite(path, name, hr)
    bad = (hr < HR_MIN_BPM) | (hr > HR_MAX_BPM)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        at = f"{times_s[i]:.2f} s" if times_s is not None else f"row {i + 1}"
        raise DataError(f"{path}: {name} has {int(bad.sum())} value(s) outside the physiological range "
                        f"{HR_MIN_BPM:g}-{HR_MAX_BPM:g} bpm (first {hr[i]:.6g} at {at})")


def check_derived_hr(path: Path | str, source: str, hr: np.ndarray, n_peaks: int, rate_hz: float) -> None:
    """HR derived from R-peaks (per model-rate sample) must be usable: peaks exist and HR stays in range."""
    if n_peaks < 2:
        raise DataError(f"{path}: {source} gives no usable HR: {n_peaks} R-peak(s) in the file")
    hr = np.asarray(hr, dtype=np.float64)
    bad = ~np.isfinite(hr) | (hr < HR_MIN_BPM) | (hr > HR_MAX_BPM)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: {source} gives no usable HR: {n_peaks} R-peaks give {hr[i]:.4g} bpm at "
                        f"{(i + 1) / rate_hz:.2f} s, outside {HR_MIN_BPM:g}-{HR_MAX_BPM:g} bpm "
                        f"({100 * bad.mean():.0f} % of the recording)")
