"""PPG-DaLiA, WESAD and PhysioNet WFDB loaders on small files in the exact upstream layouts, the resample path for
rates that are not multiples of 25 Hz, and one --quick training run per loader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support.public_layouts import beat_times, dalia_labels, write_dalia, write_wesad, write_wfdb

from ppgcomp.constants import REPORT_JSON_FILE, REPORT_MD_FILE
from ppgcomp.data.loaders import load_generic
from ppgcomp.data.public import load_dalia, load_wfdb
from ppgcomp.data.rate import rate_path, to_model_rate
from ppgcomp.data.rpeaks import detect_rpeaks
from ppgcomp.training.cli import main

QUICK = ["--quick", "--epochs", "1,1,1,1", "--no-emit"]


def _label_at(rec, t_s: np.ndarray) -> np.ndarray:
    """A recording's 25 Hz labels at times (s); on the resample path sample k is at k / 25 s."""
    return np.interp(t_s, np.arange(rec.hr_bpm.size) / 25.0, rec.hr_bpm)


def _sine_frequency_hz(x: np.ndarray, fs: float) -> float:
    """Frequency from a straight-line fit through the upward zero crossings (interpolated)."""
    x = x - x.mean()
    i = np.flatnonzero((x[:-1] < 0) & (x[1:] >= 0))
    t = (i + x[i] / (x[i] - x[i + 1])) / fs
    slope = np.polyfit(np.arange(t.size), t, 1)[0]
    return 1.0 / slope


# --- rates -----------------------------------------------------------------------------------------------------


def test_rate_paths() -> None:
    assert rate_path(100).kind == "cic" and rate_path(100).m == 4
    assert rate_path(25).m == 1 and rate_path(3200).m == 128 and rate_path(125.0).m == 5  # BIDMC: CIC
    for rate, (up, down) in ((64, (25, 64)), (128, (25, 128)), (20, (5, 4)),
                             (117.3, (250, 1173)), (6400, (1, 256))):
        p = rate_path(rate)
        assert (p.kind, p.up, p.down) == ("resample_poly", up, down), rate
    for bad in (0, -64, float("nan"), float("inf"), 5, 1e6, 64.000123456789):
        with pytest.raises(ValueError):
            rate_path(bad)


def test_64hz_sinusoid_keeps_its_frequency_within_0_1_bpm() -> None:
    fs, f0 = 64.0, 1.37  # 82.2 bpm
    n = int(300 * fs)
    x = np.round(2**19 + 20_000 * np.sin(2 * np.pi * f0 * np.arange(n) / fs)).astype(np.int64)
    p = rate_path(fs)
    y = to_model_rate(x, p)
    assert y.dtype == np.int32 and y.size == p.n_out(n) == 7500
    err_bpm = abs(_sine_frequency_hz(y.astype(np.float64), 25.0) - f0) * 60.0
    assert err_bpm < 0.1, err_bpm
    # and the waveform lands at k / 25 s: the resampled samples follow the sine's own values (inside the edges)
    t = np.arange(y.size) / 25.0
    want = 2**19 + 20_000 * np.sin(2 * np.pi * f0 * t)
    assert np.max(np.abs(y[100:-100] - want[100:-100])) < 0.005 * 20_000  # the anti-alias filter's ripple


def test_fractional_rate_csv_through_rate(tmp_path: Path) -> None:
    fs = 117.3
    n = int(40 * fs)
    t = np.arange(n) / fs
    ppg = 1000 + 100 * np.sin(2 * np.pi * 1.25 * t)
    f = tmp_path / "r.csv"
    f.write_text("ppg,hr_bpm\n" + "\n".join(f"{v:.4f},{60 + 20 * k / n:.4f}" for k, v in enumerate(ppg)))
    (rec,) = load_generic(f, rate_hz=fs)
    assert rec.ppg.size == rate_path(fs).n_out(n) and "resample_poly x250/1173" in rec.rate_path
    # labels resampled on the same clock: sample k at k / 25 s
    k = np.arange(rec.ppg.size)
    np.testing.assert_allclose(rec.hr_bpm, 60 + 20 * np.minimum(k / 25.0 * fs, n - 1) / n, atol=1e-3)
    (rec100,) = load_generic(_csv_100hz(tmp_path), rate_hz=100)
    assert "integer CIC decimation by 4" in rec100.rate_path


def _csv_100hz(tmp_path: Path) -> Path:
    t = np.arange(3000) / 100
    f = tmp_path / "c100.csv"
    f.write_text("ppg,hr_bpm\n" + "\n".join(f"{round(1000 + 100 * np.sin(2 * np.pi * 1.2 * x))},72" for x in t))
    return f


# --- R-peak detector ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fs", [700.0, 125.0, 360.0])
def test_rpeak_detector_finds_every_beat(fs: float) -> None:
    from support.public_layouts import ecg_wave

    beats = beat_times(120.0, 55.0, 160.0)
    ecg = ecg_wave(beats, fs, int(120 * fs))
    for sign in (1, -1):  # either lead polarity
        found = detect_rpeaks(sign * ecg, fs) / fs
        assert found.size == beats.size
        assert np.max(np.abs(found - beats)) < 0.02


# --- PPG-DaLiA / WESAD --------------------------------------------------------------------------------------------


def test_dalia_layout_labels_match_the_file(tmp_path: Path) -> None:
    f = write_dalia(tmp_path / "PPG_FieldStudy")
    (rec,) = load_dalia(tmp_path / "PPG_FieldStudy")
    beats = beat_times(150.0, 70.0, 95.0)
    label = dalia_labels(beats, 150.0)
    ends = 8.0 + 2.0 * np.arange(label.size)
    assert rec.subject == "S1" and rec.ppg.dtype == np.int32 and rec.ppg.size == 150 * 25
    assert "64 Hz: scipy resample_poly x25/64" in rec.rate_path
    inside = ends <= (rec.ppg.size - 1) / 25.0
    assert np.max(np.abs(_label_at(rec, ends[inside]) - label[inside])) < 1e-3
    assert rec.label_check_bpm is not None and rec.label_check_bpm < 1.0
    assert load_dalia(f)[0].subject == "S1"  # one file works too


def test_wesad_layout_hr_from_chest_ecg(tmp_path: Path) -> None:
    write_wesad(tmp_path / "WESAD", hr=75.0)
    (rec,) = load_dalia(tmp_path / "WESAD")
    assert rec.subject == "S2" and "chest ECG" in rec.label_source
    assert np.max(np.abs(rec.hr_bpm[8 * 25 :] - 75.0)) < 1.0
    assert rec.label_check_bpm is not None and rec.label_check_bpm < 1.0


# --- WFDB ---------------------------------------------------------------------------------------------------------


def test_wfdb_record_with_beat_annotations(tmp_path: Path) -> None:
    path, _ = write_wfdb(tmp_path / "bidmc", hr=(70.0, 70.0))
    for arg in (path, path.with_suffix(".hea"), tmp_path / "bidmc"):
        (rec,) = load_wfdb(arg)
        assert rec.subject == "rec" and "beat annotations .atr" in rec.label_source
        assert "125 Hz: integer CIC decimation by 5" in rec.rate_path
        assert np.max(np.abs(rec.hr_bpm[8 * 25 :] - 70.0)) < 1.0
        assert rec.label_check_bpm is not None and rec.label_check_bpm < 1.0


def test_wfdb_record_hr_from_ecg_channel(tmp_path: Path) -> None:
    path, _ = write_wfdb(tmp_path / "noann", fs=128, hr=(80.0, 80.0), annotate=False)
    (rec,) = load_wfdb(path)
    assert "ECG channel II" in rec.label_source and "128 Hz: scipy resample_poly x25/128" in rec.rate_path
    assert np.max(np.abs(rec.hr_bpm[8 * 25 :] - 80.0)) < 1.0


# --- one --quick training run per loader --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dalia", "wesad", "wfdb"])
def test_quick_training_run_per_loader(tmp_path: Path, kind: str) -> None:
    data = tmp_path / "data"
    if kind == "dalia":
        write_dalia(data)
    elif kind == "wesad":
        write_wesad(data)
    else:
        write_wfdb(data, fs=128, hr=(70.0, 70.0))
    out = tmp_path / "out"
    assert main(["--data", f"{kind}:{data}", "--out", str(out), *QUICK]) == 0
    r = json.loads((out / REPORT_JSON_FILE).read_text())
    (rec,) = r["data"]["recordings"]
    assert "resample_poly" in rec["rate_path"]
    assert rec["label_vs_reference_max_bpm"] is not None and rec["label_vs_reference_max_bpm"] < 1.0
    q = r["hr_quality_flags"]
    assert q["windows"] == r["data"]["test_windows"] and 0 <= q["flagged_windows"] <= q["windows"]
    assert np.isfinite(r["hr_mae_bpm"]["int8_codes"])
    md = (out / REPORT_MD_FILE).read_text()
    assert "## Recordings" in md and "resample_poly" in md and "windows the device does not flag" in md
