"""Checks every real recording passes before any training. Each failure raises DataError with one line that names
the file and what is wrong; isolated spikes in otherwise good PPG are removed with a warning that counts them.

Rules (README, "Real data"):

* PPG: finite; within +-2**31 (no sensor produces more); not constant; with enough variation to carry a pulse
  (integer counts: the 1st..99th percentile spread is at least ``MIN_SPREAD_COUNTS``; other values: at least
  ``MIN_RELATIVE_SPREAD`` of their magnitude).
* Spikes: a sample more than ``SPIKE_FACTOR`` times the signal's 5th..95th percentile spread away from its 200 ms
  running median. Up to ``MAX_SPIKE_FRACTION`` of the samples (at least ``MIN_SPIKES_ALLOWED``) are replaced by the
  running median, with a warning; more is an error naming the first one.
* HR reference (given per sample or per window, or derived from R-peaks / beats): where it is NaN, outside
  ``HR_MIN_BPM``..``HR_MAX_BPM``, or has no beat for longer than ``MAX_RR_S`` (a gap), the 25 Hz labels become NaN,
  and every 16 s window touching one is left out of training and scoring (:mod:`ppgcomp.data.windows`), with a
  warning that counts them and names the first. The file is refused only when no window is left, when the
  reference is unusable throughout (fewer than two R-peaks; every value NaN or out of range), or when a given HR
  holds values no HR reference holds (infinite, negative, above ``HR_NOT_HR_BPM``: not an HR column, or corrupt).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from scipy import ndimage

from ppgcomp.constants import TRAIN_HOP, WINDOW_LEN
from ppgcomp.data.hr_labels import MAX_RR_S, gap_mask
from ppgcomp.data.recording import DataError
from ppgcomp.data.windows import usable_window_starts, window_starts

log = logging.getLogger(__name__)

HR_MIN_BPM = 25.0
HR_MAX_BPM = 250.0
HR_NOT_HR_BPM = 1000.0  # a given HR label below 0 or above this is no HR at all: the file is refused
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


def hr_out_of_range(hr: np.ndarray) -> np.ndarray:
    """Where HR labels (bpm) are unusable: NaN/inf or outside HR_MIN_BPM..HR_MAX_BPM."""
    hr = np.asarray(hr, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(hr) | (hr < HR_MIN_BPM) | (hr > HR_MAX_BPM)


def _at(i: int, times_s: np.ndarray | None) -> str:
    return f"{times_s[i]:.2f} s" if times_s is not None else f"row {i + 1}"


def check_hr(path: Path | str, name: str, hr: np.ndarray, times_s: np.ndarray | None = None) -> np.ndarray:
    """Given HR labels (bpm, per sample or per window; `times_s` places one in the file). Returns where they are
    unusable (NaN, or outside HR_MIN_BPM..HR_MAX_BPM): the windows touching those are left out. DataError when
    every value is unusable, or when one is no HR at all (infinite, negative, above HR_NOT_HR_BPM)."""
    hr = np.asarray(hr, dtype=np.float64).reshape(-1)
    with np.errstate(invalid="ignore"):
        absurd = np.isinf(hr) | (hr < 0) | (hr > HR_NOT_HR_BPM)
    if absurd.any():
        i = int(np.flatnonzero(absurd)[0])
        raise DataError(f"{path}: {name} has {int(absurd.sum())} value(s) outside the physiological range "
                        f"{HR_MIN_BPM:g}-{HR_MAX_BPM:g} bpm that no HR reference holds (first {hr[i]:.6g} at "
                        f"{_at(i, times_s)}; below 0 or above {HR_NOT_HR_BPM:g} bpm it is not an HR)")
    bad = hr_out_of_range(hr)
    if bad.all():
        raise DataError(f"{path}: {name} has no usable value: all {hr.size} are NaN or outside the physiological "
                        f"range {HR_MIN_BPM:g}-{HR_MAX_BPM:g} bpm (first {hr[0]:.6g} at {_at(0, times_s)})")
    return bad


def first_bad_hr(name: str, hr: np.ndarray, bad: np.ndarray, times_s: np.ndarray | None = None) -> str:
    """What is wrong with the first unusable given HR label, for messages."""
    i = int(np.flatnonzero(bad)[0])
    v = float(np.asarray(hr, dtype=np.float64).reshape(-1)[i])
    return f"{name} is {'NaN' if np.isnan(v) else f'{v:.6g} bpm'} at {_at(i, times_s)}"


def mask_derived_hr(path: Path | str, source: str, hr: np.ndarray, n_peaks: int, times_s: np.ndarray,
                    gaps: np.ndarray, unknown: np.ndarray | None = None, margin_s: float = 0.0) -> np.ndarray:
    """HR labels derived from R-peaks/beats (per model-rate sample at `times_s`) with NaN where they are unusable:
    out of range, or an HR window (widened by `margin_s`) touching a stretch without beats (`gaps`) or without
    reference (`unknown`, e.g. NaN flags), both (n, 2) start/end in s. See :func:`mask_reference`."""
    if n_peaks < 2:
        raise DataError(f"{path}: {source} gives no usable HR: {n_peaks} R-peak(s) in the file")
    hr = np.asarray(hr, dtype=np.float32)
    unknown = np.zeros((0, 2)) if unknown is None else np.asarray(unknown, dtype=np.float64).reshape(-1, 2)
    oor = hr_out_of_range(hr)
    bad = oor | gap_mask(np.concatenate([np.asarray(gaps).reshape(-1, 2), unknown]), times_s, margin_s=margin_s)
    if not bad.any():
        return hr
    whys = []
    if oor.any():
        i = int(np.flatnonzero(oor)[0])
        why = f"{n_peaks} R-peaks give {hr[i]:.4g} bpm at {times_s[i]:.2f} s, outside {HR_MIN_BPM:g}-{HR_MAX_BPM:g} bpm"
        whys.append((float(times_s[i]), why))
    if len(gaps):
        a, b = (float(v) for v in np.asarray(gaps).reshape(-1, 2)[0])
        whys.append((a, f"no R-peak for {b - a:.1f} s from {a:.2f} s (longer than {MAX_RR_S:g} s)"))
    if len(unknown):
        a, b = (float(v) for v in unknown[0])
        whys.append((a, f"no reference (NaN) from {a:.2f} to {b:.2f} s"))
    return mask_reference(path, source, hr, bad, times_s, min(whys)[1])


def mask_reference(path: Path | str, source: str, hr: np.ndarray, bad: np.ndarray, times_s: np.ndarray,
                   why: str) -> np.ndarray:
    """The 25 Hz labels with NaN where `bad`: :func:`ppgcomp.data.windows.make_windows` leaves every window touching
    one out of training and scoring. Warns with the number of 16 s windows (at the training hop) left out and the
    first one; DataError when none is left. `why` says what is wrong first, in the file's terms."""
    hr = np.asarray(hr, dtype=np.float32)
    bad = np.asarray(bad, dtype=bool)
    if not bad.any():
        return hr
    pct = 100.0 * bad.mean()
    if bad.all():
        raise DataError(f"{path}: {source} gives no usable HR: {why} ({pct:.0f} % of the recording)")
    out = hr.copy()
    out[bad] = np.nan
    starts = window_starts(out.size, TRAIN_HOP)
    kept = usable_window_starts(out, TRAIN_HOP)
    if kept.size == 0:
        raise DataError(f"{path}: {source} gives no usable HR in any 16 s window: {why} ({pct:.0f} % of the "
                        "recording unusable)")
    first = int(starts[~np.isin(starts, kept)][0])
    last = min(first + WINDOW_LEN - 1, out.size - 1)
    log.warning("%s: %s has gaps or implausible HR in %.0f %% of the recording (first: %s): left out %d of %d 16 s "
                "windows from training and scoring, the first at %.2f-%.2f s", path, source, pct, why,
                starts.size - kept.size, starts.size, times_s[first], times_s[last])
    return out
