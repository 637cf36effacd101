"""Bad data stops train_export.py with one line naming the file and exit 2, before any training and without
leaving an --out folder; isolated spikes in good data are removed with a warning that counts them."""

from __future__ import annotations

import logging
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from support.public_layouts import write_dalia, write_wfdb

from ppgcomp.data import DataError
from ppgcomp.data.loaders import load_generic
from ppgcomp.training.cli import main

FS = 100
N = FS * 30  # 30 s: enough for one window


def _pulse(n: int = N, fs: float = FS) -> np.ndarray:
    t = np.arange(n) / fs
    return np.round(200_000 + 3000 * np.sin(2 * np.pi * 1.2 * t) ** 3)


def _csv(path: Path, ppg: np.ndarray, hr: np.ndarray | None = None, rpeak: np.ndarray | None = None) -> Path:
    cols = {"ppg": ppg, **({"hr_bpm": hr} if hr is not None else {}), **({"rpeak": rpeak} if rpeak is not None else {})}
    lines = [",".join(cols)] + [",".join(f"{c[i]:.10g}" for c in cols.values()) for i in range(ppg.size)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _npz(path: Path, **arrays: object) -> Path:
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def _hr(n: int = N, v: float = 72.0) -> np.ndarray:
    return np.full(n, v)


def _with(x: np.ndarray, idx: int, v: float) -> np.ndarray:
    y = x.copy()
    y[idx] = v
    return y


def _spiky(count: int) -> np.ndarray:
    x = _pulse()
    x[np.linspace(500, N - 500, count).astype(int)] = 5e8
    return x


def _bad_cases(tmp: Path) -> dict[str, tuple[list[str], Path, str]]:
    """name -> (extra CLI arguments, file named in the error, expected words)."""
    rng = np.random.default_rng(0)
    cases: dict[str, tuple[list[str], Path, str]] = {}

    def csv_case(name: str, problem: str, ppg: np.ndarray, rate: str = str(FS), **kw: np.ndarray) -> None:
        f = _csv(tmp / f"{name}.csv", ppg, **kw)
        cases[name] = (["--data", f"csv:{f}", "--rate", rate], f, problem)

    csv_case("constant", "is constant", np.full(N, 4000.0), hr=_hr())
    csv_case("near_constant_float", "near-constant", 1.0 + 1e-9 * rng.standard_normal(N), hr=_hr())
    csv_case("near_constant_counts", "too little variation", 1000 + rng.integers(0, 3, N).astype(float), hr=_hr())
    csv_case("nan", "NaN/inf", _with(_pulse(), 700, np.nan), hr=_hr())
    csv_case("inf", "NaN/inf", _with(_pulse(), 700, np.inf), hr=_hr())
    csv_case("absurd_value", "outside +-2^31", _with(_pulse(), 700, 1e30), hr=_hr())
    csv_case("hr_huge", "outside the physiological range 25-250 bpm", _pulse(), hr=_with(_hr(), 900, 1e30))
    csv_case("hr_negative", "first -5", _pulse(), hr=_with(_hr(), 10, -5.0))
    csv_case("hr_300", "outside the physiological range", _pulse(), hr=_hr(v=300.0))
    csv_case("rpeak_none", "no usable HR: 0 R-peak", _pulse(), rpeak=np.zeros(N))
    flags = np.zeros(N)
    flags[[100, 2900]] = 1
    csv_case("rpeak_sparse", "no usable HR", _pulse(), rpeak=flags)
    csv_case("too_short", "too few samples", _pulse(FS * 10), hr=_hr(FS * 10))
    csv_case("too_short_64hz", "too few samples", _pulse(64 * 15, 64.0), rate="64", hr=_hr(64 * 15))
    csv_case("many_spikes", "spikes (more than 10", _spiky(40), hr=_hr())
    long_field = tmp / "long_field.csv"
    long_field.write_text("ppg,hr_bpm\n" + "1" * 140_000 + ",72\n" + "1,72\n" * 100)
    cases["long_field"] = (["--data", f"csv:{long_field}", "--rate", "100"], long_field, "field larger")
    for name, rate in (("rate_array", np.array([64.0, 64.0])), ("rate_negative", np.array(-64.0)),
                       ("rate_nan", np.array(np.nan)), ("rate_2d", np.ones((1, 1)) * 64)):
        f = _npz(tmp / f"{name}.npz", ppg=_pulse(), rate_hz=rate, hr_bpm=_hr())
        cases[name] = (["--data", f"csv:{f}"], f, "rate_hz must be one positive number")
    good = _npz(tmp / "good.npz", ppg=_pulse(), rate_hz=100.0, hr_bpm=_hr())
    trunc = tmp / "truncated.npz"
    trunc.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    cases["npz_truncated"] = (["--data", f"csv:{trunc}"], trunc, "not a readable NPZ")
    corrupt = tmp / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04" + bytes(rng.integers(0, 256, 3000, dtype=np.uint8)))
    cases["npz_corrupt"] = (["--data", f"csv:{corrupt}"], corrupt, "not a readable NPZ")
    # a zip whose member is not an array
    odd = tmp / "odd.npz"
    with zipfile.ZipFile(odd, "w") as z:
        z.writestr("ppg.npy", b"not an npy header")
    cases["npz_bad_member"] = (["--data", f"csv:{odd}"], odd, "not a readable NPZ")
    # public layouts
    dalia = write_dalia(tmp / "dalia_trunc", duration_s=40.0)
    dalia.write_bytes(dalia.read_bytes()[:5000])
    cases["dalia_truncated"] = (["--data", f"dalia:{tmp / 'dalia_trunc'}"], dalia, "not a readable pickle")
    evil = tmp / "dalia_evil" / "S9" / "S9.pkl"
    evil.parent.mkdir(parents=True)
    evil.write_bytes(pickle.dumps(_Evil()))
    cases["dalia_code"] = (["--data", f"dalia:{evil.parent.parent}"], evil, "refusing to load")
    nokey = tmp / "dalia_nokey" / "S3" / "S3.pkl"
    nokey.parent.mkdir(parents=True)
    nokey.write_bytes(pickle.dumps({"signal": {"chest": {}}, "label": np.zeros(3)}, protocol=2))
    cases["dalia_layout"] = (["--data", f"dalia:{nokey.parent.parent}"], nokey, "no 'wrist'")
    dlabel = write_dalia(tmp / "dalia_label", duration_s=40.0)
    obj = pickle.loads(dlabel.read_bytes(), encoding="latin1")
    obj["label"][3] = 1e30
    dlabel.write_bytes(pickle.dumps(obj, protocol=2))
    cases["dalia_hr_label"] = (["--data", f"dalia:{dlabel}"], dlabel, "label has 1 value(s) outside")
    rec, _ = write_wfdb(tmp / "wfdb_noref", duration_s=40.0, annotate=False)
    import wfdb

    wfdb.wrsamp("flat", fs=125, units=["NU"], sig_name=["PLETH"], p_signal=np.full((5000, 1), 0.5), fmt=["16"],
                write_dir=str(tmp / "wfdb_noref"))
    wfdb.wrann("flat", "atr", np.arange(100, 5000, 100), symbol=["N"] * 49, write_dir=str(tmp / "wfdb_noref"), fs=125)
    flat = tmp / "wfdb_noref" / "flat.hea"
    cases["wfdb_flat"] = (["--data", f"wfdb:{flat}"], flat, "is constant")
    cases["wfdb_missing"] = (["--data", f"wfdb:{tmp / 'nope'}"], tmp / "nope", "no such WFDB record")
    noppg = tmp / "wfdb_noppg"
    noppg.mkdir()
    wfdb.wrsamp("ecg", fs=125, units=["mV"], sig_name=["II"], p_signal=rng.normal(0, 1, (5000, 1)), fmt=["16"],
                write_dir=str(noppg))
    cases["wfdb_no_ppg"] = (["--data", f"wfdb:{noppg}"], noppg / "ecg.hea", "no PPG channel")
    (tmp / "wfdb_noref" / "rec.hea").write_text((tmp / "wfdb_noref" / "rec.hea").read_text().replace("II,", "XX"))
    cases["wfdb_no_reference"] = (["--data", f"wfdb:{rec}"], rec.with_suffix(".hea"), "no HR reference")
    return cases


class _Evil:
    def __reduce__(self):  # what a hostile pickle does: run code while loading
        import os

        return (os.system, ("echo pwned",))


BAD = ["constant", "near_constant_float", "near_constant_counts", "nan", "inf", "absurd_value", "hr_huge",
       "hr_negative", "hr_300", "rpeak_none", "rpeak_sparse", "too_short", "too_short_64hz", "many_spikes",
       "long_field", "rate_array", "rate_negative", "rate_nan", "rate_2d", "npz_truncated", "npz_corrupt",
       "npz_bad_member", "dalia_truncated", "dalia_code", "dalia_layout", "dalia_hr_label", "wfdb_flat",
       "wfdb_missing", "wfdb_no_ppg", "wfdb_no_reference"]


@pytest.fixture(scope="module")
def bad_cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list[str], Path, str]]:
    return _bad_cases(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("name", BAD)
def test_bad_data_exits_2_with_one_line_naming_the_file(bad_cases, tmp_path: Path, capsys, name: str) -> None:
    args, f, problem = bad_cases[name]
    out = tmp_path / "out"
    assert main([*args, "--out", str(out), "--no-emit"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("train_export.py: error: ") and str(f) in err[0] and problem in err[0], err[0]
    assert not out.exists()


def test_out_naming_a_file(tmp_path: Path, capsys) -> None:
    f = _csv(tmp_path / "ok.csv", _pulse(), hr=_hr())
    out = tmp_path / "report.txt"
    out.write_text("not a folder")
    assert main(["--data", f"csv:{f}", "--rate", "100", "--out", str(out), "--no-emit"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(out) in err and "is a file, not a folder" in err
    assert out.read_text() == "not a folder"


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    f = _csv(tmp_path / "bom.csv", _pulse(), hr=_hr())
    f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())
    (rec,) = load_generic(f, rate_hz=100)
    assert rec.ppg.size == N // 4 and (rec.hr_bpm == 72).all()


def test_isolated_spikes_are_removed_with_a_warning(tmp_path: Path, caplog) -> None:
    clean = _csv(tmp_path / "clean.csv", _pulse(), hr=_hr())
    spiky = _csv(tmp_path / "spiky.csv", _spiky(3), hr=_hr())
    with caplog.at_level(logging.WARNING):
        (a,) = load_generic(clean, rate_hz=100)
        assert not caplog.records
        (b,) = load_generic(spiky, rate_hz=100)
    (msg,) = [r.getMessage() for r in caplog.records]
    assert "removed 3 isolated spike(s)" in msg and str(spiky) in msg and "sample 500" in msg
    assert np.max(np.abs(b.ppg.astype(np.int64) - a.ppg)) < 100  # the spikes are gone, the pulse is kept


def test_good_real_data_passes_every_check(tmp_path: Path) -> None:
    """No false alarm on clean recordings at many rates (and none of them trips the spike rule)."""
    for fs in (20, 25, 64, 100, 128, 256, 117.3):
        n = int(40 * fs)
        f = _csv(tmp_path / f"r{fs}.csv", _pulse(n, fs), hr=_hr(n, 64.0))
        (rec,) = load_generic(f, rate_hz=fs)
        assert rec.ppg.size >= 400


def test_data_error_is_a_value_error() -> None:
    assert issubclass(DataError, ValueError)
