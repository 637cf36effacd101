"""Loaders for public PPG datasets in their upstream layouts (``--data dalia:DIR``, ``wesad:DIR``, ``wfdb:PATH``).

* PPG-DaLiA: ``DIR/S*/S*.pkl`` (or ``S*.pkl`` directly in DIR, or one .pkl file). Each is a pickled dict:
  ``signal`` -> ``wrist`` -> ``BVP`` (N x 1, 64 Hz) is the PPG; ``label`` (one HR per 8 s window, shifted by 2 s,
  from the chest ECG) is the reference. A window's label belongs to its end (``2 i + 8`` s), the same trailing
  8 s as every other label here, and is interpolated linearly between window ends.
* WESAD: the same pickle layout, but ``label`` is the study condition per chest sample (700 Hz), so HR comes from
  ``signal`` -> ``chest`` -> ``ECG`` (700 Hz) through the R-peak detector of :mod:`ppgcomp.data.rpeaks`, as
  60 / mean RR of the beats in the trailing 8 s (PPG-DaLiA's label definition). A pickle is WESAD when it has no ``rpeaks``/``activity`` entry and its ``label`` has one value
  per ECG sample.
* PhysioNet WFDB (through the ``wfdb`` package): a record path (``DIR/rec``, ``DIR/rec.hea``) or a folder of
  records. The PPG is the first channel named PLETH/PPG/BVP/PULSE (trailing commas, as in BIDMC, are ignored). The
  reference is the record's beat annotations (``.atr``, then ``.abp``, ``.ecg``, ``.qrs``, beat symbols only)
  or, without any, an ECG channel (II, I, III, V, MLII, AVR, ECG ...) through the R-peak detector.

Pickles are read with a restricted unpickler that only builds numpy arrays and plain containers, never code.
"""

from __future__ import annotations

import io
import logging
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ppgcomp.data.hr_labels import beat_gaps, beat_reference, beats_to_hr_at, nan_runs
from ppgcomp.data.loaders import ppg_to_model_rate
from ppgcomp.data.recording import DataError, Recording
from ppgcomp.data.rpeaks import detect_rpeaks
from ppgcomp.data.validate import check_hr, first_bad_hr, mask_derived_hr, mask_reference

log = logging.getLogger(__name__)

DALIA_BVP_HZ = 64.0
DALIA_ECG_HZ = 700.0
DALIA_WINDOW_S = 8.0
DALIA_SHIFT_S = 2.0
PPG_CHANNELS = ("PLETH", "PPG", "BVP", "PULSE")
ECG_CHANNELS = ("II", "I", "III", "V", "MLII", "MLI", "MLIII", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5",
                "V6", "ECG", "EKG")
ANNOTATORS = ("atr", "abp", "ecg", "qrs")
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")

_SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"), ("_codecs", "encode"), ("copy_reg", "_reconstructor"),
    ("copyreg", "_reconstructor"), ("__builtin__", "object"), ("builtins", "object"),
    *(("builtins", n) for n in ("dict", "list", "tuple", "set", "frozenset", "str", "bytes", "int", "float",
                                "complex", "bytearray", "slice")),
    *(("__builtin__", n) for n in ("dict", "list", "tuple", "set", "frozenset", "unicode", "str", "int", "long",
                                   "float", "complex", "bytearray", "slice")),
    ("collections", "OrderedDict"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _SAFE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy arrays and containers)")
        return super().find_class(module, name)


def read_pickle(f: Path) -> Any:
    try:
        raw = f.read_bytes()
    except OSError as e:
        raise DataError(f"{f}: cannot read ({e.strerror})") from None
    if not raw:
        raise DataError(f"{f}: file is empty")
    try:
        return _SafeUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except Exception as e:  # noqa: BLE001 - a truncated or foreign pickle raises anything: one line
        raise DataError(f"{f}: not a readable pickle ({type(e).__name__}: {str(e)[:100]})") from None


def _get(f: Path, d: Any, *keys: str) -> Any:
    cur = d
    for i, k in enumerate(keys):
        if not isinstance(cur, dict) or k not in cur:
            where = "']['".join(keys[:i])
            have = ", ".join(map(str, cur)) if isinstance(cur, dict) else type(cur).__name__
            raise DataError(f"{f}: not the PPG-DaLiA/WESAD layout: no '{k}' in "
                            f"{'the top level' if not i else repr(where)} (has: {have[:120]})")
        cur = cur[k]
    return cur


def _array(f: Path, name: str, v: Any) -> np.ndarray:
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{f}: {name} is not numeric") from None
    if a.ndim > 1 and a.shape[1] != 1:
        raise DataError(f"{f}: {name} has shape {a.shape}, expected one channel")
    return a.reshape(-1)


def dalia_files(path: Path) -> list[Path]:
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_file():
        return [path]
    files = sorted(path.glob("S*/S*.pkl")) + sorted(path.glob("S*.pkl"))
    if not files:
        raise DataError(f"{path}: no S*/S*.pkl files (the PPG-DaLiA / WESAD layout)")
    return files


def load_dalia(path: Path) -> list[Recording]:
    """PPG-DaLiA (HR from ``label``) or WESAD (HR from the chest ECG) pickles, one subject each."""
    return [_load_pickle(f) for f in dalia_files(path)]


def _load_pickle(f: Path) -> Recording:
    d = read_pickle(f)
    if not isinstance(d, dict):
        raise DataError(f"{f}: not the PPG-DaLiA/WESAD layout: a pickled {type(d).__name__}, not a dict")
    bvp = _array(f, "signal/wrist/BVP", _get(f, d, "signal", "wrist", "BVP"))
    label = _array(f, "label", _get(f, d, "label"))
    subject = str(d.get("subject", f.stem))
    is_wesad = "rpeaks" not in d and "activity" not in d
    if is_wesad:
        ecg = _array(f, "signal/chest/ECG", _get(f, d, "signal", "chest", "ECG"))
        if label.size != ecg.size:
            raise DataError(f"{f}: label has {label.size} values: neither one per 8 s window (PPG-DaLiA) nor one "
                            f"per chest ECG sample ({ecg.size}, WESAD)")
        return _with_ecg(f, subject, bvp, DALIA_BVP_HZ, ecg, DALIA_ECG_HZ, "signal/wrist/BVP",
                         "chest ECG (700 Hz), R-peak detector, 60/mean RR over 8 s")
    if label.size == 0:
        raise DataError(f"{f}: label is empty: no HR reference")
    counts, rp = ppg_to_model_rate(f, "signal/wrist/BVP", bvp, DALIA_BVP_HZ)
    ends = DALIA_WINDOW_S + DALIA_SHIFT_S * np.arange(label.size)
    bad = check_hr(f, "label", label, ends)
    t = rp.out_times(counts.size)
    if bad.any():  # a 25 Hz label between an unusable window label and its neighbour is unusable too
        hr = mask_reference(f, "label", np.interp(t, ends, np.where(bad, 0.0, label)), np.interp(t, ends, bad) > 0,
                            t, first_bad_hr("label", label, bad, ends))
    else:
        hr = np.interp(t, ends, label).astype(np.float32)
    check = _label_check(t, hr, ends, label)
    return Recording(subject=subject, ppg=counts.astype(np.int32), hr_bpm=hr, rate_path=rp.describe(),
                     label_source="label (8 s windows, 2 s shift, chest ECG)", label_check_bpm=check)


def _label_check(t: np.ndarray, hr: np.ndarray, ref_t: np.ndarray, ref_hr: np.ndarray) -> float | None:
    """Largest |label - the file's own reference| at the reference's times inside the recording, where both are
    usable (labels left out as NaN are not compared)."""
    inside = ref_t <= t[-1]
    d = np.abs(np.interp(ref_t[inside], t, hr) - ref_hr[inside])
    d = d[np.isfinite(d)]
    return float(np.max(d)) if d.size else None


def _with_beats(f: Path, subject: str, ppg: np.ndarray, ppg_hz: float, beats_s: np.ndarray, source: str,
                ppg_name: str, unknown: np.ndarray | None = None) -> Recording:
    counts, rp = ppg_to_model_rate(f, ppg_name, ppg, ppg_hz)
    t = rp.out_times(counts.size)
    duration = ppg.size / ppg_hz
    beats_s = beats_s[(beats_s >= 0) & (beats_s < duration)]
    hr = beats_to_hr_at(beats_s, t).astype(np.float32)
    hr = mask_derived_hr(f, source, hr, int(beats_s.size), t, beat_gaps(beats_s, duration), unknown)
    ref_t, ref_hr = beat_reference(beats_s, duration)
    check = _label_check(t, hr, ref_t, ref_hr)
    return Recording(subject=subject, ppg=counts.astype(np.int32), hr_bpm=hr, rate_path=rp.describe(),
                     label_source=source, label_check_bpm=check)


def _with_ecg(f: Path, subject: str, ppg: np.ndarray, ppg_hz: float, ecg: np.ndarray, ecg_hz: float,
              ppg_name: str, source: str) -> Recording:
    unknown = nan_runs(ecg, ecg_hz)  # NaN/inf ECG: no reference there (its windows are left out)
    if unknown.size:
        ecg = np.where(np.isfinite(ecg), ecg, np.median(ecg[np.isfinite(ecg)]) if np.isfinite(ecg).any() else 0.0)
    beats = detect_rpeaks(ecg, ecg_hz) / ecg_hz
    return _with_beats(f, subject, ppg, ppg_hz, beats, source, ppg_name, unknown)


# --- PhysioNet WFDB ---------------------------------------------------------------------------------------------


def _channel(names: list[str], wanted: tuple[str, ...]) -> int | None:
    clean = [n.strip().rstrip(",").strip().upper() for n in names]
    for w in wanted:
        for i, n in enumerate(clean):
            if n == w or (w in ("PLETH", "PPG") and n.startswith(w)):
                return i
    return None


def wfdb_records(path: Path) -> list[Path]:
    """Record paths without extension: a folder's .hea files, or the one record PATH names."""
    if path.is_dir():
        recs = sorted(p.with_suffix("") for p in path.glob("*.hea"))
        if not recs:
            raise DataError(f"{path}: folder has no WFDB records (.hea files)")
        return recs
    stem = path.with_suffix("") if path.suffix.lower() in (".hea", ".dat") else path
    if not stem.with_suffix(".hea").is_file():
        raise DataError(f"{path}: no such WFDB record ({stem.with_suffix('.hea')} not found)")
    return [stem]


def load_wfdb(path: Path) -> list[Recording]:
    return [_load_wfdb_record(r) for r in wfdb_records(path)]


def _load_wfdb_record(stem: Path) -> Recording:
    f = stem.with_suffix(".hea")
    try:
        import wfdb
    except ImportError:
        raise DataError(f"{f}: reading WFDB records needs the wfdb package (pip install -r requirements.txt)") from None
    try:
        rec = wfdb.rdrecord(str(stem))
    except Exception as e:  # noqa: BLE001 - wfdb raises anything for a bad header or signal file: one line
        raise DataError(f"{f}: not a readable WFDB record ({type(e).__name__}: {str(e)[:100]})") from None
    names = list(rec.sig_name or [])
    fs = float(rec.fs or 0)
    if rec.p_signal is None or not names or fs <= 0:
        raise DataError(f"{f}: WFDB record without signals or sample rate")
    ci = _channel(names, PPG_CHANNELS)
    if ci is None:
        raise DataError(f"{f}: no PPG channel (looked for {'/'.join(PPG_CHANNELS)}; has {', '.join(names)})")
    ppg = np.asarray(rec.p_signal[:, ci], dtype=np.float64)
    ppg_name = f"channel {names[ci].strip()}"
    for ext in ANNOTATORS:
        if not stem.with_suffix(f".{ext}").is_file():
            continue
        try:
            ann = wfdb.rdann(str(stem), ext)
        except Exception as e:  # noqa: BLE001 - as above
            raise DataError(f"{stem}.{ext}: not a readable WFDB annotation file ({type(e).__name__}: {e})") from None
        symbols = np.asarray(ann.symbol if ann.symbol is not None else [], dtype=object)
        samples = np.asarray(ann.sample, dtype=np.float64)
        beats = samples[np.isin(symbols, list(BEAT_SYMBOLS))] if symbols.size == samples.size else samples
        ann_fs = float(ann.fs) if ann.fs else fs
        return _with_beats(f, stem.name, ppg, fs, beats / ann_fs, f"beat annotations .{ext}, 60/mean RR over 8 s",
                           ppg_name)
    ei = _channel(names, ECG_CHANNELS)
    if ei is None:
        raise DataError(f"{f}: no HR reference: no beat annotations ({'/'.join('.' + a for a in ANNOTATORS)}) "
                        f"and no ECG channel (has {', '.join(names)})")
    ecg = np.asarray(rec.p_signal[:, ei], dtype=np.float64)
    return _with_ecg(f, stem.name, ppg, fs, ecg, fs, ppg_name,
                     f"ECG channel {names[ei].strip().rstrip(',')}, R-peak detector, 60/mean RR over 8 s")
