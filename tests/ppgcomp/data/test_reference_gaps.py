"""A real recording whose HR reference has a gap (no beats) or an implausible stretch (outside 25-250 bpm, NaN) is
kept: the windows that touch the fault are left out of training and scoring, with one warning that counts them and
names the first. A file is refused only when no window is left or the reference is unusable throughout."""

from __future__ import annotations

import json
import logging
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from support.public_layouts import write_dalia, write_wesad, write_wfdb

from ppgcomp.constants import MODEL_RATE_HZ, REPORT_JSON_FILE, TRAIN_HOP, WINDOW_LEN
from ppgcomp.data import DataError, Recording
from ppgcomp.data.loaders import OSU_PPG_COLUMNS, OSU_RPEAK_COLUMNS, load_generic, load_osu
from ppgcomp.data.public import load_dalia, load_wfdb
from ppgcomp.data.windows import make_windows, usable_window_starts, window_starts
from ppgcomp.training.cli import main
from ppgcomp.training.pipeline import split_by_subject

FS = 50  # CIC by 2
MINUTES = 10
N = FS * 60 * MINUTES
RR_S = 0.8  # 75 bpm
GAP = (300.0, 340.0)  # 40 s without beats in a 10 min recording
ALL_WINDOWS = window_starts(N // 2).size  # 293


def _ppg(n: int = N, fs: float = FS) -> np.ndarray:
    t = np.arange(n) / fs
    return np.round(200_000 + 3000 * np.sin(2 * np.pi * 1.25 * t) ** 3)


def _beats(duration_s: float = 60.0 * MINUTES, gaps: tuple[tuple[float, float], ...] = (GAP,)) -> np.ndarray:
    b = np.arange(0.3, duration_s, RR_S)
    for lo, hi in gaps:
        b = b[(b < lo) | (b >= hi)]
    return b


def _flags(beats: np.ndarray, n: int = N, fs: float = FS) -> np.ndarray:
    f = np.zeros(n)
    f[np.round(beats * fs).astype(int)] = 1
    return f


def _csv(path: Path, **cols: np.ndarray) -> Path:
    lines = [",".join(cols)] + [",".join("" if np.isnan(v) else f"{v:g}" for v in row) for row in zip(*cols.values())]
    path.write_text("\n".join(lines) + "\n")
    return path


def _warning(caplog) -> tuple[str, int, int, float]:
    """The one left-out warning: its text, windows left out, of how many, and the first one's start (s)."""
    (msg,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    m = re.search(r"left out (\d+) of (\d+) 16 s windows from training and scoring, the first at ([\d.]+)-", msg)
    assert m, msg
    return msg, int(m[1]), int(m[2]), float(m[3])


def _windows_touching(starts_s: np.ndarray, lo_s: float, hi_s: float) -> np.ndarray:
    return (starts_s < hi_s) & (starts_s + WINDOW_LEN / MODEL_RATE_HZ > lo_s)


def _check_left_out(rec: Recording, caplog, f: Path, fault: tuple[float, float], expect_hr: float, tol: float) -> None:
    """Windows touching `fault` (s) are gone, windows 24 s (8 s HR window + 16 s smoothing margin) clear of it
    are kept, the warning's count and first window match, and the kept targets are the true HR."""
    msg, left, total, first_s = _warning(caplog)
    assert str(f) in msg and total == window_starts(rec.ppg.size).size
    w = make_windows([rec])
    assert len(w) == total - left > 0
    all_s = window_starts(rec.ppg.size) / MODEL_RATE_HZ
    kept_s = w.start / MODEL_RATE_HZ
    assert not _windows_touching(kept_s, *fault).any()  # nothing around the gap
    clear = ~_windows_touching(all_s, fault[0] - 24.0, fault[1] + 24.0)
    assert set(all_s[clear]) <= set(kept_s)  # everything away from it
    assert abs(first_s - min(set(all_s) - set(kept_s))) < 0.1
    assert np.isfinite(w.hr_bpm).all() and np.abs(w.hr_bpm - expect_hr).max() < tol


# --- every kind of reference --------------------------------------------------------------------------------------


def test_rpeak_column_with_a_gap_leaves_its_windows_out(tmp_path: Path, caplog) -> None:
    f = _csv(tmp_path / "gap.csv", ppg=_ppg(), rpeak=_flags(_beats()))
    with caplog.at_level(logging.WARNING):
        (rec,) = load_generic(f, rate_hz=FS)
    msg, left, total, _ = _warning(caplog)
    assert total == ALL_WINDOWS and 20 <= left <= 45, msg
    assert "rpeak column" in msg and "no R-peak for 40" in msg and "from 299.50 s" in msg
    _check_left_out(rec, caplog, f, GAP, 75.0, 0.5)


def test_hr_column_with_an_implausible_stretch_and_empty_fields(tmp_path: Path, caplog) -> None:
    t = np.arange(N) / FS
    hr = np.full(N, 70.0)
    hr[(t >= 200) & (t < 220)] = 12.0  # a chest strap losing contact
    hr[(t >= 450) & (t < 452)] = np.nan  # empty fields
    f = _csv(tmp_path / "hr.csv", ppg=_ppg(), hr_bpm=hr)
    with caplog.at_level(logging.WARNING):
        (rec,) = load_generic(f, rate_hz=FS)
    msg, left, _, first_s = _warning(caplog)
    assert "hr_bpm is 12 bpm at 200.00 s" in msg and first_s < 200.0
    w = make_windows([rec])
    kept_s = w.start / MODEL_RATE_HZ
    for fault in ((200.0, 220.0), (450.0, 452.0)):
        assert not _windows_touching(kept_s, *fault).any()
    all_s = window_starts(rec.ppg.size) / MODEL_RATE_HZ
    touching = _windows_touching(all_s, 200.0, 220.0) | _windows_touching(all_s, 450.0, 452.0)
    assert left == touching.sum()  # a given HR has no smoothing: exactly the windows touching it
    assert (w.hr_bpm == 70.0).all()


def test_npz_rpeak_times_with_a_gap(tmp_path: Path, caplog) -> None:
    f = tmp_path / "times.npz"
    beats = _beats(gaps=((100.0, 110.0),))
    np.savez(f, ppg=_ppg(), rate_hz=float(FS), rpeak_times_s=np.concatenate([beats, [np.nan]]))
    with caplog.at_level(logging.WARNING):
        (rec,) = load_generic(f)
    assert "rpeak_times_s" in _warning(caplog)[0]
    _check_left_out(rec, caplog, f, (100.0, 110.0), 75.0, 0.5)


def test_osu_rpeak_columns_with_a_gap(tmp_path: Path, caplog) -> None:
    rows = 25 * 120
    data = np.zeros((rows, 49))
    data[:, OSU_PPG_COLUMNS[0]] = _ppg(rows, 25.0)
    data[:, OSU_RPEAK_COLUMNS] = _flags(_beats(120.0, ((50.0, 60.0),)), rows * 4, 100.0).reshape(rows, 4)
    f = tmp_path / "S1.csv"
    np.savetxt(f, data, delimiter=",", fmt="%g")
    with caplog.at_level(logging.WARNING):
        (rec,) = load_osu(f)
    assert "R-peak columns 45-48" in _warning(caplog)[0]
    _check_left_out(rec, caplog, f, (50.0, 60.0), 75.0, 0.5)


def test_dalia_label_with_an_implausible_stretch(tmp_path: Path, caplog) -> None:
    f = write_dalia(tmp_path / "dalia", hr=(75.0, 75.0))
    obj = pickle.loads(f.read_bytes(), encoding="latin1")
    obj["label"][30:33] = [np.nan, 0.0, 300.0]  # windows ending at 68-72 s
    f.write_bytes(pickle.dumps(obj, protocol=2))
    with caplog.at_level(logging.WARNING):
        (rec,) = load_dalia(f)
    assert "label is NaN at 68.00 s" in _warning(caplog)[0]
    _check_left_out(rec, caplog, f, (66.0, 74.0), 75.0, 1.0)
    assert rec.label_check_bpm is not None and rec.label_check_bpm < 1.0


def test_wesad_ecg_with_a_nan_stretch(tmp_path: Path, caplog) -> None:
    f = write_wesad(tmp_path / "wesad", hr=75.0)
    obj = pickle.loads(f.read_bytes(), encoding="latin1")
    obj["signal"]["chest"]["ECG"][60 * 700 : 65 * 700] = np.nan  # electrode off for 5 s
    f.write_bytes(pickle.dumps(obj, protocol=2))
    with caplog.at_level(logging.WARNING):
        (rec,) = load_dalia(f)
    assert "chest ECG" in _warning(caplog)[0]
    _check_left_out(rec, caplog, f, (60.0, 65.0), 75.0, 1.0)


def test_wfdb_annotations_with_a_gap(tmp_path: Path, caplog) -> None:
    import wfdb

    path, beats = write_wfdb(tmp_path / "w", hr=(70.0, 70.0))
    kept = np.round(beats[(beats < 60.0) | (beats >= 70.0)] * 125).astype(np.int64)
    wfdb.wrann("rec", "atr", kept, symbol=["N"] * kept.size, write_dir=str(tmp_path / "w"), fs=125)
    with caplog.at_level(logging.WARNING):
        (rec,) = load_wfdb(path)
    assert "beat annotations .atr" in _warning(caplog)[0]
    _check_left_out(rec, caplog, path.with_suffix(".hea"), (60.0, 70.0), 70.0, 1.0)


def test_windows_drop_every_window_touching_a_nan_label() -> None:
    hr = np.full(1000, 60.0, np.float32)
    assert np.array_equal(usable_window_starts(hr, 50), window_starts(1000, 50))
    hr[420] = np.nan
    assert usable_window_starts(hr, 50).tolist() == [0, 450, 500, 550, 600]  # 50..400 hold sample 420
    w = make_windows([Recording("s", np.arange(1000, dtype=np.int32), hr)], hop=50)
    assert w.start.tolist() == [0, 450, 500, 550, 600] and (w.raw[1] == np.arange(450, 850)).all()


# --- still refused ------------------------------------------------------------------------------------------------


def _refused(f: Path, words: str, rate: float | None = FS) -> None:
    with pytest.raises(DataError) as e:
        load_generic(f, rate_hz=rate)
    msg = str(e.value)
    assert "\n" not in msg and str(f) in msg and words in msg, msg


def test_zero_rpeaks_or_out_of_range_everywhere_is_refused(tmp_path: Path) -> None:
    _refused(_csv(tmp_path / "none.csv", ppg=_ppg(), rpeak=np.zeros(N)), "no usable HR: 0 R-peak(s)")
    fast = _flags(np.arange(0.3, 600, 0.2))  # 300 bpm throughout
    _refused(_csv(tmp_path / "fast.csv", ppg=_ppg(), rpeak=fast), "no usable HR")
    hr = np.where(np.arange(N) % 2, 300.0, np.nan)
    _refused(_csv(tmp_path / "hr.csv", ppg=_ppg(), hr_bpm=hr), "no usable value: all")
    f = tmp_path / "nan_times.npz"
    np.savez(f, ppg=_ppg(), rate_hz=float(FS), rpeak_times_s=np.full(100, np.nan))
    _refused(f, "0 R-peak(s)", None)


def test_no_window_left_is_refused(tmp_path: Path) -> None:
    gaps = tuple((s, s + 3.0) for s in np.arange(5.0, 600.0, 30.0))  # a 3 s gap every 30 s: no clean 16 s
    _refused(_csv(tmp_path / "holes.csv", ppg=_ppg(), rpeak=_flags(_beats(gaps=gaps))), "in any 16 s window")


def test_values_no_hr_reference_holds_are_refused(tmp_path: Path) -> None:
    hr = np.full(N, 70.0)
    hr[1000] = -1.0
    _refused(_csv(tmp_path / "neg.csv", ppg=_ppg(), hr_bpm=hr), "that no HR reference holds (first -1 at 20.00 s")


# --- one training run ---------------------------------------------------------------------------------------------


def test_training_run_with_gaps_in_the_train_and_test_parts(tmp_path: Path, caplog) -> None:
    """One subject is split by time (70/15/15 %): a gap in the training part and one in the test part; the run
    succeeds, the report counts only the clean windows, and the HR MAE is a number (no NaN target was scored)."""
    fs = 25
    n = fs * 600
    f = _csv(tmp_path / "rec.csv", ppg=_ppg(n, fs), rpeak=_flags(_beats(gaps=(GAP, (570.0, 575.0))), n, fs))
    out = tmp_path / "out"
    args = ["--data", f"csv:{f}", "--rate", str(fs), "--out", str(out), "--quick", "--epochs", "1,1,1,1"]
    with caplog.at_level(logging.WARNING):
        assert main([*args, "--no-emit"]) == 0
    msg = [r.getMessage() for r in caplog.records if "left out" in r.getMessage()]
    assert len(msg) == 1 and str(f) in msg[0]
    r = json.loads((out / REPORT_JSON_FILE).read_text())
    (rec,) = load_generic(f, rate_hz=fs)
    train, val, test = (make_windows(p) for p in split_by_subject([rec]))
    counts = (r["data"]["train_windows"], r["data"]["val_windows"], r["data"]["test_windows"])
    assert counts == (len(train), len(val), len(test))
    assert len(train) < window_starts(int(0.7 * n), TRAIN_HOP).size  # the gap at 300-340 s
    assert 0 < len(test) < window_starts(n - int(0.85 * n)).size  # the gap at 570-575 s
    assert np.isfinite(r["hr_mae_bpm"]["int8_codes"]) and np.isfinite(r["hr_mae_bpm"]["raw_ppg"])
