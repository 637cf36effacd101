"""The receiver's timeline: which 25 Hz samples a window's HR covers, reference HR files and the HR MAE.

Window k (on the receiver's unwrapped timeline) spans samples ``[k*hop, k*hop + 400)``. The HR model predicts
the window's last 200 samples; the packet newly covers the last ``min(hop, 200)`` of them, so consecutive
packets tile the timeline without overlap. Sample j is produced at ``t = (j + 1) / 25`` s (the decimator's
output instant), so a packet's time is the end of its window, ``(k*hop + 400) / 25``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ppgcomp.constants import MODEL_RATE_HZ, TARGET_LEN, WINDOW_LEN

REFERENCE_COLUMNS = ("time_s", "hr_bpm")


class ReferenceError(ValueError):
    """A reference HR file that cannot be read. The message is one line naming the file."""


def covered_len(hop: int) -> int:
    """Samples of the HR target that a packet newly covers: ``min(hop, 200)``."""
    if hop < 1:
        raise ValueError(f"hop must be >= 1, got {hop}")
    return min(int(hop), TARGET_LEN)


def window_end_time_s(index: int | np.ndarray, hop: int, window_len: int = WINDOW_LEN,
                      rate_hz: float = MODEL_RATE_HZ) -> float | np.ndarray:
    """Time of the end of window ``index``: ``(index*hop + window_len) / rate``."""
    return (np.asarray(index, dtype=np.float64) * hop + window_len) / rate_hz


def covered_tail(hr_windows: np.ndarray, hop: int) -> np.ndarray:
    """The newly covered part of each window's HR prediction: (n, 200) -> (n, min(hop, 200))."""
    hr_windows = np.asarray(hr_windows)
    return hr_windows[:, hr_windows.shape[1] - covered_len(hop):]


def trace(indices: np.ndarray, tails: np.ndarray, hop: int, window_len: int = WINDOW_LEN,
          rate_hz: float = MODEL_RATE_HZ) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample times (s) and HR (bpm) of the covered samples, ordered by window index.

    ``tails`` is (n, c) with c = min(hop, 200), as :func:`covered_tail` returns.
    """
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    tails = np.asarray(tails, dtype=np.float64).reshape(idx.size, -1)
    if idx.size == 0:
        return np.zeros(0), np.zeros(0)
    order = np.argsort(idx, kind="stable")
    idx, tails = idx[order], tails[order]
    c = tails.shape[1]
    end = idx * hop + window_len  # exclusive sample index of each window's end
    samples = end[:, None] - c + np.arange(c)[None, :]
    return ((samples + 1) / rate_hz).reshape(-1), tails.reshape(-1)


def load_reference(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a reference CSV with ``time_s`` and ``hr_bpm`` columns (any order, others ignored)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or not set(REFERENCE_COLUMNS) <= set(reader.fieldnames):
                raise ReferenceError(f"{path}: needs the columns {', '.join(REFERENCE_COLUMNS)}")
            t, hr = [], []
            for n, row in enumerate(reader, start=2):
                try:
                    t.append(float(row["time_s"]))
                    hr.append(float(row["hr_bpm"]))
                except (TypeError, ValueError):
                    raise ReferenceError(f"{path}:{n}: not a number in time_s/hr_bpm") from None
    except FileNotFoundError:
        raise ReferenceError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ReferenceError(f"{path}: cannot read ({e})") from None
    if not t:
        raise ReferenceError(f"{path}: no rows")
    ta, ha = np.asarray(t), np.asarray(hr)
    if not (np.all(np.isfinite(ta)) and np.all(np.isfinite(ha))) or np.any(np.diff(ta) <= 0):
        raise ReferenceError(f"{path}: time_s must be finite and increasing, hr_bpm finite")
    return ta, ha


def write_reference(path: Path, hr_bpm: np.ndarray, rate_hz: float = MODEL_RATE_HZ) -> None:
    """One row per 25 Hz sample j: ``time_s = (j + 1) / rate`` and its HR label."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write(",".join(REFERENCE_COLUMNS) + "\n")
        fh.writelines(f"{(j + 1) / rate_hz:.2f},{v:.6f}\n" for j, v in enumerate(np.asarray(hr_bpm, np.float64)))


def mae_vs_reference(t: np.ndarray, hr: np.ndarray, ref_t: np.ndarray, ref_hr: np.ndarray) -> tuple[float, int]:
    """MAE (bpm) of a per-sample HR trace against a reference, over the trace samples inside the reference's
    time range (the reference is linearly interpolated; on the 25 Hz grid it is taken as is).

    Returns (mae, samples compared); mae is NaN when nothing overlaps.
    """
    t, hr = np.asarray(t, np.float64), np.asarray(hr, np.float64)
    eps = 1e-9
    sel = (t >= ref_t[0] - eps) & (t <= ref_t[-1] + eps)
    if not np.any(sel):
        return float("nan"), 0
    ref = np.interp(t[sel], ref_t, ref_hr)
    return float(np.mean(np.abs(hr[sel] - ref))), int(sel.sum())
