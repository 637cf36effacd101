"""ppgcomp-study-frontends: its emulated front-end is the shipped encoder's, its decoders find known tones, the
learned runs train on synthetic windows only, and bad input is one line and exit 2."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ppgcomp.constants import ARTIFACTS_DIR, ENCODER_FLOAT_FILE
from ppgcomp.dsp.preprocess import int8_to_float, preprocess_windows
from ppgcomp.realdata import frontend_study as F
from ppgcomp.realdata.baselines import spectral_hr

SCRIPT = [sys.executable, "scripts/study_frontends.py"]


def _tones(bpm: np.ndarray) -> np.ndarray:
    t = np.arange(400) / 25.0
    f = bpm[:, None] / 60.0
    return (1000 * np.sin(2 * np.pi * f * t + 0.3) + 300 * np.sin(4 * np.pi * f * t)).astype(np.int32)


def test_emulated_front_end_is_the_committed_encoders_abs_layer():
    from ppgcomp.tfenv import keras
    from ppgcomp.training import models as M

    enc = keras.models.load_model(ARTIFACTS_DIR / ENCODER_FLOAT_FILE, compile=False)
    fe = keras.Model(enc.input, enc.get_layer(M.RECTIFY_LAYER).output)
    rng = np.random.default_rng(3)
    q = np.concatenate([
        rng.integers(-128, 128, (40, 400)),
        preprocess_windows(_tones(np.array([42.0, 75.5, 133.0, 199.0]))),
        np.full((1, 400), -128), np.full((1, 400), 127), np.tile([-128, 127], (1, 200)),
    ]).astype(np.int8)
    keras_out = np.asarray(fe(int8_to_float(q), training=False)).reshape(len(q), 4, 16, 2)
    ours = F.filter_magnitudes(q, F.SHIPPED)
    np.testing.assert_allclose(ours, keras_out, rtol=1e-4, atol=2e-5)


def test_macs_of_the_shipped_front_end_are_the_reports():
    report = json.loads((ARTIFACTS_DIR / "report.json").read_text())
    assert F.SHIPPED.macs == report["model"]["macs"] == 13_888


def test_interpolated_peak_finds_tones_to_within_the_grids_bias():
    bpm = np.arange(40.0, 200.0, 0.7)
    q = preprocess_windows(_tones(bpm))
    for fe, bound in ((F.SHIPPED, 2.5), (F.FRONT_ENDS[3], 2.5)):
        got = F.interpolated_peak_bpm(F.features(q, fe).reshape(len(q), len(fe.segments), -1).sum(1), fe.freqs_hz)
        err = np.abs(got - bpm)
        assert err.max() < bound, fe.name
        assert err.mean() > 0.1  # the coarse grid's bias is real: what the study measures
    spectral = spectral_hr(_tones(bpm), np.hanning(400), 8192)
    assert np.abs(spectral - bpm).max() < 0.2


def test_classification_estimate_is_the_local_expectation():
    logits = np.full((2, len(F.HR_GRID)), -50.0)
    i = int(np.searchsorted(F.HR_GRID, 72.0))
    logits[0, i - 1 : i + 2] = [0.0, 2.0, 0.0]
    logits[1, i : i + 2] = [1.0, 1.0]
    logits[1, 5] = 0.5  # far away: outside the +-5 bins, ignored
    got = F.classification_bpm(logits)
    assert got[0] == pytest.approx(72.0) and got[1] == pytest.approx(72.5)


@pytest.fixture(scope="module")
def real_sets():
    return F.real_sets(None, 50)


def test_learned_runs_fit_synthetic_windows_only(real_sets, monkeypatch):
    from ppgcomp.tfenv import keras

    syn = F.synthetic_splits()
    sub = F.Synthetic({k: v[:600] for k, v in syn.q.items()}, {k: v[:600] for k, v in syn.hr.items()})
    seen = []
    fit = keras.Model.fit

    def spy(self, x=None, y=None, **kw):
        seen.append((np.asarray(x).shape, np.asarray(kw["validation_data"][0]).shape))
        return fit(self, x, y, **kw)

    monkeypatch.setattr(keras.Model, "fit", spy)
    r = F.train_and_score(F.SHIPPED, "classification", 0, sub, real_sets, epochs=2)
    assert seen == [((600, F.SHIPPED.n_features), (600, F.SHIPPED.n_features))]
    assert all(np.isfinite(v) for v in r.values())
    assert {"pooled rest", "synthetic test", "dalia_s6_stairs"} <= set(r)


def test_no_train_prints_both_measurements_and_json(tmp_path: Path):
    out = tmp_path / "s.json"
    proc = subprocess.run([*SCRIPT, "--no-train", "--json", str(out)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| 16 s Hann, 4096 points (the baseline) |" in proc.stdout
    assert "| shipped front-end, parabolic interpolation |" in proc.stdout
    s = json.loads(out.read_text())
    baseline = s["spectral_peak"]["16 s Hann, 4096 points (the baseline)"]["pooled rest"]
    assert 0.0 < baseline < s["shipped_front_end"]["shipped front-end, parabolic interpolation"]["pooled rest"]


@pytest.mark.parametrize("args", [["--seeds", "0"], ["--artifacts", "/nonexistent-folder"], ["--hop", "0"]])
def test_bad_arguments_are_one_line_and_exit_2(args):
    proc = subprocess.run([*SCRIPT, *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("ppgcomp-study-frontends: ")
