"""The real-data section of train_export's report: this run's models and the baselines on the development set."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

# The predictor names of a run (score.keras_predictors with label "this run")
RUN = "this run"
LINES = (
    ("int8 codes", f"{RUN} int8 codes"),
    ("float autoencoder", f"{RUN} float AE"),
    ("raw-PPG model", f"{RUN} raw-PPG model"),
)
BASELINE_NAMES = ("spectral peak", "beat detector")


def evaluate(models, tflite, code_decoder, plot_path: Path | None = None) -> dict:
    """Scores on the development set, or {"skipped": reason} when it cannot be fetched (training goes on)."""
    from ppgcomp.realdata.recordings import load_all
    from ppgcomp.realdata.score import BASELINES, keras_predictors, plot, score
    from ppgcomp.realdata.sources import FetchError

    try:
        recs = load_all()
    except (FetchError, OSError) as e:
        log.warning("real-data benchmark skipped: %s", e)
        return {"skipped": str(e)}
    preds = {
        **BASELINES,
        **keras_predictors(
            RUN,
            hr_model_raw=models.hr_model_raw,
            encoder=models.encoder,
            decoder=models.decoder,
            hr_model=models.hr_model,
            tflite=tflite,
            code_decoder=code_decoder,
        ),
    }
    log.info("scoring the models on the real-data development set (%d recordings)", len(recs))
    s = score(recs, preds)
    if plot_path is not None:
        plot(s, plot_path, [f"{RUN} int8 codes", "spectral peak", "beat detector"])
    return s.to_dict()


def best_baseline(real: dict) -> tuple[str, float]:
    """The best pooled-at-rest figure of the non-learned baselines and the raw-PPG model: the yardstick for the
    cost of compression on real signals."""
    mae = real["hr_mae_bpm"]
    cands = {n: mae[n]["pooled rest"] for n in BASELINE_NAMES}
    cands["raw-PPG model"] = mae[f"{RUN} raw-PPG model"]["pooled rest"]
    name = min(cands, key=cands.get)
    return name, cands[name]


def markdown_lines(r: dict) -> list[str]:
    real = r.get("real_data")
    if not real:
        return []
    head = ["## HR on real PPG (the development set: validation only, never trained on)", ""]
    if "skipped" in real:
        return [*head, f"Skipped: {real['skipped']}", ""]
    recs = real["recordings"]
    rest = [x["name"] for x in recs if x["condition"] == "rest"]
    motion = [x["name"] for x in recs if x["condition"] != "rest"]
    n = {x["name"]: x["windows_scored"] for x in recs}
    mae = real["hr_mae_bpm"]
    dense = ((r.get("dense_comparison") or {}).get("report") or {}).get("real_data") or {}
    rows = [(f"{label} ({r['model'].get('arch', 'dense')})", mae[key]) for label, key in LINES]
    if "hr_mae_bpm" in dense:
        rows += [(f"{label} (dense)", dense["hr_mae_bpm"][key]) for label, key in LINES]
    rows += [(f"{b} (no learning)", mae[b]) for b in BASELINE_NAMES]
    cols = ["pooled rest", *rest, *motion]
    n["pooled rest"] = sum(n[x] for x in rest)
    lines = [
        *head,
        (
            f"HR MAE (bpm) of each window's last 8 s, windows every {real['hop_samples']} samples that lie in the "
            "reference's clean spans; `ppgcomp-bench-real` scores the same set from the artefacts, and its "
            "README (src/ppgcomp/realdata/README.md) describes the recordings and the reference rule. "
            "The motion recording is reported on its own and left out of the pooled figure."
        ),
        "",
        "| HR from | " + " | ".join(f"{c} ({n[c]})" + (", motion" if c in motion else "") for c in cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    lines += [f"| {name} | " + " | ".join(f"{row[c]:.2f}" for c in cols) + " |" for name, row in rows]
    bname, bval = best_baseline(real)
    codes = mae[LINES[0][1]]["pooled rest"]
    lines += [
        "",
        (
            f"**Cost of compression on real signals**: int8 codes {codes:.2f} bpm pooled at rest against "
            f"{bval:.2f} for the best of the raw-PPG model and the non-learned baselines ({bname}): "
            f"{codes - bval:+.2f} bpm."
        ),
        "",
        "![real-data HR](plots/real_data.png)",
        "",
    ]
    return lines
