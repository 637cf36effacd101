"""ppgcomp-bench-real on the real recordings (fetched once from the pinned packages into the cache) and the
committed models: every recording is scored, the figures are finite, bad input is one line and exit 2."""

import json
import subprocess
import sys

import numpy as np
import pytest

from ppgcomp.realdata import recordings as R


@pytest.fixture(scope="module")
def recs():
    return R.load_all()


def test_every_recording_has_scored_windows_and_a_plausible_reference(recs):
    names = {r.name for r in recs}
    assert names == {"biopeaks_finger", "peakdet_pulse", "physiokit2_ear", "physiokit2_finger", "dalia_s6_stairs"}
    for r in recs:
        w = R.windows(r, 50)
        assert len(w.ref_bpm) >= 20, r.name
        assert np.all((w.ref_bpm > 40) & (w.ref_bpm < 200)), r.name
        assert len(w.ref_bpm) <= w.windows_total
    dalia = next(r for r in recs if r.name == "dalia_s6_stairs")
    w = R.windows(dalia, 50)
    assert len(w.ref_bpm) == w.windows_total and 115 < w.ref_bpm.mean() < 160


def test_bench_scores_the_committed_models(tmp_path):
    out = tmp_path / "real.json"
    proc = subprocess.run([sys.executable, "scripts/bench_real.py", "--json", str(out), "--plot",
                           str(tmp_path / "real.png")], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    s = json.loads(out.read_text())
    mae = s["hr_mae_bpm"]
    for name in ("spectral peak", "beat detector", "conv int8 codes", "conv raw-PPG model", "dense int8 codes"):
        assert name in mae and np.isfinite(mae[name]["pooled rest"]), name
        assert "dalia_s6_stairs" in mae[name]
    assert "| conv int8 codes |" in proc.stdout and (tmp_path / "real.png").stat().st_size > 10_000


def test_missing_artifacts_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "scripts/bench_real.py", "--artifacts", f"x={tmp_path}"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("ppgcomp-bench-real: ")
