"""Real-data loaders, including every kind of bad input, and the CLI's one-line errors."""

from pathlib import Path

import numpy as np
import pytest

from ppgcomp.data import DataError
from ppgcomp.data.loaders import OSU_PPG_COLUMNS, OSU_RPEAK_COLUMNS, load_generic, load_osu
from ppgcomp.training.cli import main


def write_osu(path: Path, seconds: int = 40, beat_period_s: float = 0.75) -> Path:
    rows = seconds * 25
    data = np.zeros((rows, 49))
    t = np.arange(rows) / 25
    data[:, OSU_PPG_COLUMNS[0]] = np.round(1000 + 100 * np.sin(2 * np.pi * t / beat_period_s))
    peaks = np.zeros(rows * 4)
    peaks[np.round(np.arange(0.2, seconds, beat_period_s) * 100).astype(int)] = 1
    data[:, OSU_RPEAK_COLUMNS] = peaks.reshape(rows, 4)
    np.savetxt(path, data, delimiter=",", fmt="%g")
    return path


def test_osu_layout(tmp_path):
    (rec,) = load_osu(write_osu(tmp_path / "S1.csv"))
    assert rec.subject == "S1" and rec.ppg.size == 1000 and rec.ppg.dtype == np.int32
    assert abs(float(np.median(rec.hr_bpm[300:])) - 80.0) < 4.0  # 0.75 s beats


def test_osu_folder_is_one_subject_per_file(tmp_path):
    write_osu(tmp_path / "a.csv")
    write_osu(tmp_path / "b.csv")
    assert [r.subject for r in load_osu(tmp_path)] == ["a", "b"]


def test_generic_csv_hr_and_rpeak(tmp_path):
    n = 100 * 30  # 30 s at 100 Hz
    t = np.arange(n) / 100
    ppg = 2000 * np.sin(2 * np.pi * 1.2 * t)
    f = tmp_path / "rec.csv"
    f.write_text("ppg,hr_bpm\n" + "\n".join(f"{p:.3f},72" for p in ppg))
    (rec,) = load_generic(f, rate_hz=100)
    assert rec.ppg.size == n // 4 and (rec.hr_bpm == 72).all()
    g = tmp_path / "peaks.csv"
    flags = np.zeros(n, int)
    flags[::50] = 1
    g.write_text("ppg,rpeak\n" + "\n".join(f"{p:.3f},{k}" for p, k in zip(ppg, flags)))
    (rec2,) = load_generic(g, rate_hz=100)
    assert abs(float(np.median(rec2.hr_bpm[250:])) - 120) < 2


def test_generic_npz(tmp_path):
    f = tmp_path / "rec.npz"
    np.savez(f, ppg=np.arange(50 * 20) % 37, rate_hz=50.0, rpeak_times_s=np.arange(0, 20, 1.0))
    (rec,) = load_generic(f)
    assert rec.ppg.size == 500 and abs(float(np.median(rec.hr_bpm[250:])) - 60) < 2


@pytest.mark.parametrize(
    "name, content, rate, problem",
    [
        ("empty.csv", "", 100, "file is empty"),
        ("binary.csv", b"\x00\x01\x02\xff" * 100, 100, "not a CSV"),
        ("nocol.csv", "x,hr_bpm\n" + "1,60\n" * 2000, 100, "missing column 'ppg'"),
        ("nohr.csv", "ppg\n" + "1\n" * 2000, 100, "missing column"),
        ("nan.csv", "ppg,hr_bpm\n" + "1,60\n" * 1000 + "nan,60\n" + "1,60\n" * 1000, 100, "NaN"),
        ("inf.csv", "ppg,hr_bpm\n" + "1,60\n" * 1000 + "inf,60\n" + "1,60\n" * 1000, 100, "NaN/inf"),
        ("short.csv", "ppg,hr_bpm\n" + "1,60\n" * 100, 100, "too few samples"),
        ("rate.csv", "ppg,hr_bpm\n" + "1,60\n" * 2000, 5, "wrong sample rate"),
        ("norate.csv", "ppg,hr_bpm\n" + "1,60\n" * 2000, None, "rate is missing"),
        ("ragged.csv", "ppg,hr_bpm\n1,60\n1\n" + "1,60\n" * 2000, 100, "not a CSV"),
        ("text.csv", "ppg,hr_bpm\nabc,def\n", 100, "not a numeric CSV"),
    ],
)
def test_bad_generic_input(tmp_path, name, content, rate, problem):
    f = tmp_path / name
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DataError) as e:
        load_generic(f, rate_hz=rate)
    msg = str(e.value)
    assert str(f) in msg and problem in msg and "\n" not in msg


def test_bad_osu_input(tmp_path):
    f = tmp_path / "few.csv"
    np.savetxt(f, np.zeros((500, 40)), delimiter=",")
    with pytest.raises(DataError, match="missing columns"):
        load_osu(f)
    with pytest.raises(DataError, match="no such file"):
        load_osu(tmp_path / "nope.csv")


def test_cli_reports_bad_input_in_one_line(tmp_path, capsys):
    f = tmp_path / "empty.csv"
    f.write_text("")
    assert main(["--data", f"csv:{f}", "--rate", "100", "--out", str(tmp_path / "o"), "--no-emit"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "file is empty" in err and str(f) in err
    assert main(["--data", "bogus", "--out", str(tmp_path / "o"), "--no-emit"]) == 2
    assert "unknown source" in capsys.readouterr().err
