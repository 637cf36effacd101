"""Loaders for real recordings. Every problem raises DataError with one line naming the file.

* OSU MotionSense HRV CSV: no header, one row per 25 Hz sample; PPG in (0-based) columns 29, 30, 39, 40;
  four 100 Hz ECG sub-samples in columns 41-44; four 100 Hz R-peak flags in columns 45-48.
* Generic CSV: a header row with a `ppg` column and either `hr_bpm` (per sample) or `rpeak` (0/1 flag per
  sample); the rate is stated with `--rate`.
* Generic NPZ: arrays `ppg`, `rate_hz`, and either `hr_bpm` (per sample) or `rpeak_times_s`.

A PATH that is a folder loads every matching file in it as one subject.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ppgcomp.constants import WINDOW_LEN
from ppgcomp.data.hr_labels import rpeak_times_to_flags, rpeaks_to_hr
from ppgcomp.data.recording import DataError, Recording
from ppgcomp.dsp.decimate import decimate, decimation_factor

OSU_PPG_COLUMNS = (29, 30, 39, 40)
OSU_ECG_COLUMNS = (41, 42, 43, 44)
OSU_RPEAK_COLUMNS = (45, 46, 47, 48)
OSU_RATE_HZ = 25
OSU_RPEAK_RATE_HZ = 100
INT_TARGET_PEAK = 2**20  # float PPG is scaled so its largest deviation from the median is this many counts


def _files(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in suffixes)
        if not files:
            raise DataError(f"{path}: folder has no {'/'.join(suffixes)} files")
        return files
    return [path]


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None
    if not raw.strip():
        raise DataError(f"{path}: file is empty")
    if b"\x00" in raw[:4096]:
        raise DataError(f"{path}: not a CSV file (binary content)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a CSV file (not UTF-8 text)") from None


def _parse_numeric_rows(path: Path, text: str, skip_header: bool) -> tuple[list[str], np.ndarray]:
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if r and any(c.strip() for c in r)]
    header: list[str] = []
    if skip_header:
        header = [c.strip() for c in rows[0]]
        rows = rows[1:]
    if not rows:
        raise DataError(f"{path}: no data rows")
    width = max(len(r) for r in rows)
    if any(len(r) != width for r in rows):
        raise DataError(f"{path}: not a CSV file (rows have different numbers of columns)")
    try:
        data = np.array([[float(c) if c.strip() else np.nan for c in r] for r in rows], dtype=np.float64)
    except ValueError as e:
        raise DataError(f"{path}: not a numeric CSV ({e})") from None
    return header, data


def _check_finite(path: Path, name: str, x: np.ndarray) -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: {name} has {int(bad.sum())} NaN/inf values (first at row {first + 1})")


def _check_length(path: Path, n_model_rate: int) -> None:
    if n_model_rate < WINDOW_LEN:
        raise DataError(
            f"{path}: too few samples: {n_model_rate} at 25 Hz, need at least {WINDOW_LEN} (one 16 s window)"
        )


def ppg_to_counts(ppg: np.ndarray) -> np.ndarray:
    """Integer sensor counts as the firmware sees them; float PPG is centred and scaled to about 2**20."""
    if np.all(ppg == np.round(ppg)) and np.abs(ppg).max() < 2**31 - 1:
        return ppg.astype(np.int64)
    centred = ppg - np.median(ppg)
    peak = np.abs(centred).max()
    scale = INT_TARGET_PEAK / peak if peak > 0 else 1.0
    return np.round(centred * scale).astype(np.int64)


def _check_rate(path: Path, rate_hz: float | None) -> int:
    if rate_hz is None:
        raise DataError(f"{path}: the sample rate is missing (give --rate HZ)")
    try:
        return decimation_factor(float(rate_hz))
    except ValueError as e:
        raise DataError(f"{path}: wrong sample rate: {e}") from None


def load_osu(path: Path, ppg_column: int = OSU_PPG_COLUMNS[0]) -> list[Recording]:
    """OSU MotionSense HRV CSV files (one subject per file)."""
    recs = []
    for f in _files(path, (".csv",)):
        _, data = _parse_numeric_rows(f, _read_text(f), skip_header=False)
        need = max(OSU_RPEAK_COLUMNS) + 1
        if data.shape[1] < need:
            raise DataError(f"{f}: missing columns: has {data.shape[1]}, the OSU layout needs {need} (R-peaks in 45-48)")
        ppg = data[:, ppg_column]
        _check_finite(f, f"PPG column {ppg_column}", ppg)
        peaks = data[:, OSU_RPEAK_COLUMNS].reshape(-1)  # 4 sub-samples per row, in time order
        _check_finite(f, "R-peak columns 45-48", peaks)
        _check_length(f, ppg.size)
        counts = ppg_to_counts(ppg)
        hr = rpeaks_to_hr(peaks, OSU_RPEAK_RATE_HZ, counts.size)
        recs.append(Recording(subject=f.stem, ppg=counts.astype(np.int32), hr_bpm=hr))
    return recs


def _from_signals(f: Path, ppg: np.ndarray, rate_hz: float | None, hr: np.ndarray | None,
                  rpeak_flags: np.ndarray | None, rpeak_times: np.ndarray | None) -> Recording:
    m = _check_rate(f, rate_hz)
    _check_finite(f, "ppg", ppg)
    _check_length(f, ppg.size // m)
    counts = decimate(ppg_to_counts(ppg), m)
    n = counts.size
    fs = float(rate_hz)  # type: ignore[arg-type]
    if hr is not None:
        _check_finite(f, "hr_bpm", hr)
        if hr.size != ppg.size:
            raise DataError(f"{f}: hr_bpm has {hr.size} values, ppg has {ppg.size}")
        label = hr[np.minimum((np.arange(n) + 1) * m - 1, hr.size - 1)].astype(np.float32)
    elif rpeak_flags is not None:
        _check_finite(f, "rpeak", rpeak_flags)
        label = rpeaks_to_hr(rpeak_flags, fs, n)
    elif rpeak_times is not None:
        _check_finite(f, "rpeak_times_s", rpeak_times)
        label = rpeaks_to_hr(rpeak_times_to_flags(rpeak_times, fs, ppg.size), fs, n)
    else:
        raise DataError(f"{f}: missing column: needs hr_bpm or R-peaks (rpeak / rpeak_times_s)")
    return Recording(subject=f.stem, ppg=counts.astype(np.int32), hr_bpm=label)


def load_generic(path: Path, rate_hz: float | None = None) -> list[Recording]:
    """Generic CSV (header with ppg and hr_bpm or rpeak; rate from `rate_hz`) or NPZ files."""
    recs = []
    for f in _files(path, (".csv", ".npz")):
        if f.suffix.lower() == ".npz":
            recs.append(_load_npz(f, rate_hz))
            continue
        header, data = _parse_numeric_rows(f, _read_text(f), skip_header=True)
        cols = {name.lower(): i for i, name in enumerate(header)}
        if "ppg" not in cols:
            raise DataError(f"{f}: missing column 'ppg' (header has: {', '.join(header) or 'nothing'})")
        hr = data[:, cols["hr_bpm"]] if "hr_bpm" in cols else None
        peaks = data[:, cols["rpeak"]] if "rpeak" in cols else None
        recs.append(_from_signals(f, data[:, cols["ppg"]], rate_hz, hr, peaks, None))
    return recs


def _load_npz(f: Path, rate_hz: float | None) -> Recording:
    try:
        with np.load(f, allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k], dtype=np.float64) for k in z.files}
    except (OSError, ValueError) as e:
        raise DataError(f"{f}: not a readable NPZ file ({e})") from None
    if "ppg" not in arrays:
        raise DataError(f"{f}: missing array 'ppg' (has: {', '.join(arrays) or 'nothing'})")
    rate = float(arrays["rate_hz"]) if "rate_hz" in arrays else rate_hz
    return _from_signals(f, arrays["ppg"].reshape(-1), rate, arrays.get("hr_bpm"), None, arrays.get("rpeak_times_s"))
