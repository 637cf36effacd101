"""The training report's HR MAE with and without the windows the device would flag, and its recording table."""

from __future__ import annotations

import numpy as np

from ppgcomp.dsp.preprocess import preprocess_windows
from ppgcomp.training.report import hr_mae, hr_mae_flagged, render_markdown


def test_hr_mae_flagged_leaves_out_lowres_and_flat_windows() -> None:
    rng = np.random.default_rng(0)
    idx = np.arange(400)
    raw = (200_000 + 3000 * np.sin(2 * np.pi * 1.3 * idx / 25)[None, :] + rng.normal(0, 30, (6, 400))).astype(np.int32)
    raw[1, 200:] += 200_000  # a lift-off step: LOWRES
    raw[4] = 123_456 + (idx % 2)  # range 1: FLAT (and LOWRES: a constant detrended window)
    q = preprocess_windows(raw)
    ref = np.full((6, 200), 70.0)
    pred = ref + np.array([1.0, 50.0, 1.0, 1.0, 80.0, 1.0])[:, None]
    r = hr_mae_flagged(pred, ref, raw, q)
    assert r["flagged_windows"] == 2 and r["flagged_by"]["lowres"] >= 1 and r["flagged_by"]["flat"] == 1
    assert r["all_windows"] == hr_mae(pred, ref) and r["unflagged_windows"] == 1.0


def test_quick_report_has_both_maes(quick_export: dict) -> None:
    r = quick_export
    q = r["hr_quality_flags"]
    assert q["all_windows"] == r["hr_mae_bpm"]["int8_codes"]  # the unchanged figure
    assert q["windows"] == r["data"]["test_windows"] and 0 <= q["flagged_windows"] < q["windows"]
    assert np.isfinite(q["unflagged_windows"])
    recs = r["data"]["recordings"]
    assert len(recs) == r["data"]["subjects"]
    assert all("100 Hz: integer CIC decimation by 4" in x["rate_path"] for x in recs)
    md = render_markdown(r)
    assert "windows the device does not flag" in md and "## Recordings" in md
