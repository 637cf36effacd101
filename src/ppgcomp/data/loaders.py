"""Loaders for real recordings. Every problem raises DataError with one line naming the file.

* OSU MotionSense HRV CSV: no header, one row per 25 Hz sample; PPG in (0-based) columns 29, 30, 39, 40;
  four 100 Hz ECG sub-samples in columns 41-44; four 100 Hz R-peak flags in columns 45-48.
* Generic CSV: a header row with a `ppg` column and either `hr_bpm` (per sample) or `rpeak` (0/1 flag per
  sample); the rate is stated with `--rate` (any rate, fractional too). A UTF-8 BOM is accepted.
* Generic NPZ: arrays `ppg`, `rate_hz` (a positive scalar), and either `hr_bpm` (per sample) or `rpeak_times_s`.
* PPG-DaLiA / WESAD pickles and PhysioNet WFDB records: :mod:`ppgcomp.data.public`.

A PATH that is a folder loads every matching file in it as one subject. Rates that are multiples of 25 Hz take the
firmware's integer decimator, others are resampled (:mod:`ppgcomp.data.rate`); every signal and label is checked
(:mod:`ppgcomp.data.validate`). Where the HR reference has a gap or an implausible stretch the labels are NaN and
the windows touching them are left out (with a warning); a reference unusable throughout refuses the file.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ppgcomp.constants import MODEL_RATE_HZ, WINDOW_LEN
from ppgcomp.data.hr_labels import (
    SMOOTH_MARGIN_S,
    beat_gaps,
    nan_runs,
    rpeak_times_to_flags,
    rpeaks_to_hr,
    rpeaks_to_hr_at,
)
from ppgcomp.data.rate import RatePath, at_times, rate_path, to_model_rate
from ppgcomp.data.recording import DataError, Recording
from ppgcomp.data.validate import (
    check_finite,
    check_hr,
    check_ppg,
    first_bad_hr,
    mask_derived_hr,
    mask_reference,
)

OSU_PPG_COLUMNS = (29, 30, 39, 40)
OSU_ECG_COLUMNS = (41, 42, 43, 44)
OSU_RPEAK_COLUMNS = (45, 46, 47, 48)
OSU_RATE_HZ = 25
OSU_RPEAK_RATE_HZ = 100
INT_TARGET_PEAK = 2**20  # float PPG is scaled so its largest deviation from the median is this many counts
CSV_FIELD_LIMIT = 131072  # the csv module's default: a longer field is not a CSV this tool reads

__all__ = ["check_finite", "load_generic", "load_osu", "ppg_to_counts", "signals_to_recording"]


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
        text = raw.decode("utf-8-sig")  # a leading UTF-8 BOM (spreadsheet exports) is dropped
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a CSV file (not UTF-8 text)") from None
    if not text.strip():
        raise DataError(f"{path}: file is empty")
    return text


def _parse_numeric_rows(path: Path, text: str, skip_header: bool) -> tuple[list[str], np.ndarray]:
    reader = csv.reader(io.StringIO(text))
    try:
        rows = list(reader)
    except csv.Error as e:
        raise DataError(f"{path}: not a CSV file this tool reads (line {reader.line_num}: {e})") from None
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
        raise DataError(f"{path}: not a numeric CSV ({str(e)[:80]})") from None
    return header, data


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


def check_rate(path: Path | str, rate_hz: float | None) -> RatePath:
    if rate_hz is None:
        raise DataError(f"{path}: the sample rate is missing (give --rate HZ)")
    try:
        return rate_path(rate_hz)
    except ValueError as e:
        raise DataError(f"{path}: wrong sample rate: {e}") from None


def ppg_to_model_rate(f: Path | str, name: str, ppg: np.ndarray, rate_hz: float | None) -> tuple[np.ndarray, RatePath]:
    """Validate PPG at its own rate and bring it to 25 Hz int32 counts; returns the counts and the path taken."""
    path = check_rate(f, rate_hz)
    _check_length(Path(str(f)), path.n_out(np.asarray(ppg).size))
    ppg = check_ppg(f, name, ppg, path.rate_hz)
    return to_model_rate(ppg_to_counts(ppg), path), path


def load_osu(path: Path, ppg_column: int = OSU_PPG_COLUMNS[0]) -> list[Recording]:
    """OSU MotionSense HRV CSV files (one subject per file)."""
    recs = []
    for f in _files(path, (".csv",)):
        _, data = _parse_numeric_rows(f, _read_text(f), skip_header=False)
        need = max(OSU_RPEAK_COLUMNS) + 1
        if data.shape[1] < need:
            raise DataError(f"{f}: missing columns: has {data.shape[1]}, the OSU layout needs {need} (R-peaks in 45-48)")
        peaks = data[:, OSU_RPEAK_COLUMNS].reshape(-1)  # 4 sub-samples per row, in time order
        counts, rp = ppg_to_model_rate(f, f"PPG column {ppg_column}", data[:, ppg_column], OSU_RATE_HZ)
        flags, beats, unknown = _flag_beats(peaks, OSU_RPEAK_RATE_HZ)
        hr = rpeaks_to_hr(flags, OSU_RPEAK_RATE_HZ, counts.size)
        step = OSU_RPEAK_RATE_HZ / MODEL_RATE_HZ  # label k is the count at 100 Hz sample (k + 1) * 4 - 1
        t = ((np.arange(counts.size) + 1) * step - 1) / OSU_RPEAK_RATE_HZ
        hr = mask_derived_hr(f, "R-peak columns 45-48", hr, beats.size, t,
                             beat_gaps(beats, peaks.size / OSU_RPEAK_RATE_HZ), unknown, SMOOTH_MARGIN_S)
        recs.append(Recording(subject=f.stem, ppg=counts.astype(np.int32), hr_bpm=hr, rate_path=rp.describe(),
                              label_source="R-peak columns 45-48 (100 Hz), 8 s beat count"))
    return recs


def _flag_beats(flags: np.ndarray, rate_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R-peak flags with NaN/inf (no reference there) read as no beat; the beat times (s); those stretches (s)."""
    x = np.asarray(flags, dtype=np.float64).reshape(-1)
    unknown = nan_runs(x, rate_hz)
    x = np.where(np.isfinite(x), x, 0.0)
    return x, np.flatnonzero(x > 0) / rate_hz, unknown


def signals_to_recording(f: Path | str, subject: str, ppg: np.ndarray, rate_hz: float | None, *,
                         hr: np.ndarray | None = None, rpeak_flags: np.ndarray | None = None,
                         rpeak_times: np.ndarray | None = None, ppg_name: str = "ppg") -> Recording:
    """One recording from PPG at `rate_hz` and one kind of HR reference at the same rate (or beat times in s)."""
    counts, rp = ppg_to_model_rate(f, ppg_name, ppg, rate_hz)
    t = rp.out_times(counts.size)
    fs = rp.rate_hz
    if hr is not None:
        hr = np.asarray(hr, dtype=np.float64).reshape(-1)
        if hr.size != ppg.size:
            raise DataError(f"{f}: hr_bpm has {hr.size} values, ppg has {ppg.size}")
        bad = check_hr(f, "hr_bpm", hr, np.arange(hr.size) / fs)
        if bad.any():  # a 25 Hz label next to an unusable value is unusable too
            label = mask_reference(f, "hr_bpm column", at_times(np.where(bad, 0.0, hr), fs, t), at_times(bad, fs, t) > 0,
                                   t, first_bad_hr("hr_bpm", hr, bad, np.arange(hr.size) / fs))
        else:
            label = at_times(hr, fs, t).astype(np.float32)
        source = "hr_bpm column"
    elif rpeak_flags is not None:
        flags, beats, unknown = _flag_beats(rpeak_flags, fs)
        label = rpeaks_to_hr_at(flags, fs, t)
        label = mask_derived_hr(f, "rpeak column", label, beats.size, t, beat_gaps(beats, flags.size / fs), unknown,
                                SMOOTH_MARGIN_S)
        source = "rpeak column, 8 s beat count"
    elif rpeak_times is not None:
        times = np.asarray(rpeak_times, dtype=np.float64).reshape(-1)
        times = times[np.isfinite(times)]  # a NaN time places no beat; the gap it leaves is found below
        flags = rpeak_times_to_flags(times, fs, ppg.size)
        beats = np.flatnonzero(flags) / fs
        label = rpeaks_to_hr_at(flags, fs, t)
        label = mask_derived_hr(f, "rpeak_times_s", label, beats.size, t, beat_gaps(beats, ppg.size / fs),
                                margin_s=SMOOTH_MARGIN_S)
        source = "rpeak_times_s, 8 s beat count"
    else:
        raise DataError(f"{f}: missing column: needs hr_bpm or R-peaks (rpeak / rpeak_times_s)")
    return Recording(subject=subject, ppg=counts.astype(np.int32), hr_bpm=label, rate_path=rp.describe(),
                     label_source=source)


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
            raise DataError(f"{f}: missing column 'ppg' (header has: {', '.join(header)[:200] or 'nothing'})")
        hr = data[:, cols["hr_bpm"]] if "hr_bpm" in cols else None
        peaks = data[:, cols["rpeak"]] if "rpeak" in cols else None
        if hr is None and peaks is None:
            raise DataError(f"{f}: missing column: needs hr_bpm or R-peaks (rpeak / rpeak_times_s)")
        recs.append(signals_to_recording(f, f.stem, data[:, cols["ppg"]], rate_hz, hr=hr, rpeak_flags=peaks))
    return recs


def _load_npz(f: Path, rate_hz: float | None) -> Recording:
    try:
        with np.load(f, allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k], dtype=np.float64) for k in z.files}
    except Exception as e:  # noqa: BLE001 - zipfile, zlib, EOF, format errors: a corrupt archive, one line
        raise DataError(f"{f}: not a readable NPZ file ({type(e).__name__}: {str(e)[:100]})") from None
    if "ppg" not in arrays:
        raise DataError(f"{f}: missing array 'ppg' (has: {', '.join(arrays) or 'nothing'})")
    rate = rate_hz
    if "rate_hz" in arrays:
        r = arrays["rate_hz"]
        if r.size != 1 or r.ndim > 1 or not np.isfinite(r).all() or float(r.reshape(-1)[0]) <= 0:
            shown = np.array2string(r.reshape(-1)[:4], separator=",") + ("..." if r.size > 4 else "")
            raise DataError(f"{f}: rate_hz must be one positive number of Hz, got shape {r.shape} {shown}")
        rate = float(r.reshape(-1)[0])
    if "hr_bpm" not in arrays and "rpeak_times_s" not in arrays:
        raise DataError(f"{f}: missing array: needs hr_bpm or rpeak_times_s (has: {', '.join(arrays)})")
    return signals_to_recording(f, f.stem, arrays["ppg"].reshape(-1), rate, hr=arrays.get("hr_bpm"),
                                rpeak_times=arrays.get("rpeak_times_s"))
