"""report.json, report.md and the PNG plots."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ppgcomp.constants import REPORT_JSON_FILE, REPORT_MD_FILE, TARGET_LEN, WINDOW_LEN
from ppgcomp.protocol.packet import PACKET_LEN
from ppgcomp.realdata.report import markdown_lines as real_data_lines

log = logging.getLogger(__name__)

RAW_SAMPLE_BYTES = 2  # the comparison: 16-bit PPG at 25 Hz


def hr_mae(pred: np.ndarray, ref: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(pred, np.float64) - np.asarray(ref, np.float64))))


def flagged_windows(raw: np.ndarray, q: np.ndarray) -> dict[str, np.ndarray]:
    """The device's window quality flags that HR cannot be trusted under, as the firmware computes them from the
    window alone: LOWRES (the int8 quality spread, docs/preprocessing.md section 4) and FLAT (raw range below
    the default APP_FLAT_RANGE_MIN). GAP and SATURATED need the sensor's marks, which recordings do not carry."""
    from ppgcomp.dsp.preprocess import FLAT_RANGE_MIN_DEFAULT, lowres

    raw = np.asarray(raw, dtype=np.int64)
    flat = (raw.max(axis=1) - raw.min(axis=1)) < FLAT_RANGE_MIN_DEFAULT if raw.size else np.zeros(0, bool)
    return {"lowres": np.asarray(lowres(q), dtype=bool), "flat": flat}


def hr_mae_flagged(pred: np.ndarray, ref: np.ndarray, raw: np.ndarray, q: np.ndarray) -> dict[str, object]:
    """HR MAE over every window and over the windows the device would not flag (computed at report time)."""
    flags = flagged_windows(raw, q)
    flagged = np.zeros(len(ref), dtype=bool)
    for v in flags.values():
        flagged |= v
    keep = ~flagged
    return {"all_windows": hr_mae(pred, ref),
            "unflagged_windows": hr_mae(pred[keep], ref[keep]) if keep.any() else float("nan"),
            "windows": len(ref), "flagged_windows": int(flagged.sum()),
            "flagged_by": {k: int(v.sum()) for k, v in flags.items()}}


def recordings_summary(recs: list) -> list[dict[str, object]]:
    """Per recording: the sample-rate path it took to 25 Hz, the label source and, where the file has its own HR
    reference, the largest difference between the labels and it."""
    out = []
    for r in recs:
        hr = np.asarray(r.hr_bpm, dtype=np.float64)
        out.append({"subject": str(r.subject), "samples_25hz": int(r.ppg.size),
                    "rate_path": getattr(r, "rate_path", "") or "", "label_source": getattr(r, "label_source", ""),
                    "hr_label_bpm": {"min": float(np.nanmin(hr)), "median": float(np.nanmedian(hr)),
                                     "max": float(np.nanmax(hr))},
                    "label_vs_reference_max_bpm": getattr(r, "label_check_bpm", None)})
    return out


def recon_metrics(recon: np.ndarray, x: np.ndarray) -> dict[str, float]:
    """MSE in [0, 1] units and PRD (percent RMS difference about each window's mean)."""
    err = recon - x
    centred = x - x.mean(axis=1, keepdims=True)
    prd = 100.0 * np.sqrt(np.sum(err**2, axis=1) / np.maximum(np.sum(centred**2, axis=1), 1e-12))
    return {"mse": float(np.mean(err**2)), "prd_percent": float(np.mean(prd))}


def compression(hop_samples: int) -> dict[str, float]:
    raw = hop_samples * RAW_SAMPLE_BYTES
    return {"hop_samples": hop_samples, "raw_bytes_per_hop": raw, "ratio": raw / PACKET_LEN}


def plot_training_curves(history: dict[str, dict[str, list[float]]], path: Path) -> None:
    stages = [s for s in history if history[s]]
    fig, axes = plt.subplots(1, max(len(stages), 1), figsize=(4.2 * max(len(stages), 1), 3.4), squeeze=False)
    for ax, stage in zip(axes[0], stages):
        h = history[stage]
        for key in ("loss", "val_loss"):
            if key in h:
                ax.plot(np.arange(1, len(h[key]) + 1), h[key], label=key)
        if "start_val_loss" in h:  # QAT: the calibrated starting point, which competes with every epoch
            ax.plot([0], h["start_val_loss"], "o", color="C1", label="val_loss, calibrated start")
        ax.set_title(stage)
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_reconstructions(x: np.ndarray, float_recon: np.ndarray, int8_recon: np.ndarray, path: Path) -> None:
    n = min(4, x.shape[0])
    fig, axes = plt.subplots(n, 1, figsize=(10, 2.2 * n), sharex=True, squeeze=False)
    t = np.arange(WINDOW_LEN) / 25.0
    picks = np.linspace(0, x.shape[0] - 1, n).astype(int)
    for ax, k in zip(axes[:, 0], picks):
        ax.plot(t, x[k], color="k", lw=1.2, label="input (preprocessed)")
        ax.plot(t, float_recon[k], lw=1.0, label="float autoencoder")
        ax.plot(t, int8_recon[k], lw=1.0, ls="--", label="int8 codes -> decoder")
        ax.set_ylabel(f"window {k}")
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("time in window (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def stitch(per_window: np.ndarray, hop: int) -> np.ndarray:
    """A continuous trace from consecutive windows: the last `hop` target samples of each window."""
    return per_window[:, TARGET_LEN - hop :].reshape(-1)


def plot_hr_traces(traces: dict[str, dict[str, np.ndarray]], hop: int, path: Path) -> None:
    subjects = list(traces)
    fig, axes = plt.subplots(len(subjects), 1, figsize=(11, 2.8 * len(subjects)), squeeze=False)
    for ax, subj in zip(axes[:, 0], subjects):
        for name, arr in traces[subj].items():
            y = stitch(arr, hop)
            ax.plot(np.arange(y.size) / 25.0 / 60.0, y, lw=1.6 if name == "reference" else 1.0,
                    color="k" if name == "reference" else None, label=name)
        ax.set_ylabel("HR (bpm)")
        ax.set_title(subj)
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("time (min)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(report: dict, out_dir: Path) -> None:
    (out_dir / REPORT_JSON_FILE).write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / REPORT_MD_FILE).write_text(render_markdown(report))
    log.info("wrote %s and %s", out_dir / REPORT_JSON_FILE, out_dir / REPORT_MD_FILE)


def _flagged_lines(r: dict) -> list[str]:
    q = r.get("hr_quality_flags")
    if not q:
        return []
    by = ", ".join(f"{k} {v}" for k, v in q["flagged_by"].items())
    kept = q["windows"] - q["flagged_windows"]
    return [(f"| int8 codes, windows the device does not flag ({kept} of {q['windows']}; flagged: {by}) | "
             f"{q['unflagged_windows']:.2f} |")]


def _recording_lines(r: dict) -> list[str]:
    recs = r["data"].get("recordings")
    if not recs:
        return []
    head = ("| recording | sample-rate path to 25 Hz | HR labels | label median (bpm) | "
            "labels vs the file's reference, max (bpm) |")
    lines = ["## Recordings", "", head, "|---|---|---|---|---|"]
    for x in recs[:40]:
        chk = x["label_vs_reference_max_bpm"]
        lines.append(f"| {x['subject']} | {x['rate_path'] or '-'} | {x['label_source'] or '-'} | "
                     f"{x['hr_label_bpm']['median']:.1f} | {'-' if chk is None else f'{chk:.3f}'} |")
    if len(recs) > 40:
        lines.append(f"| ... {len(recs) - 40} more in report.json | | | | |")
    return [*lines, ""]


def _comparison_lines(r: dict) -> list[str]:
    """The conv and dense encoders side by side, when `--arch both` trained the dense one too."""
    other = r.get("dense_comparison")
    if not other:
        return []
    rows = [("encoder", lambda x: x["model"].get("arch", "dense")),
            ("int8 codes HR MAE (bpm)", lambda x: f"{x['hr_mae_bpm']['int8_codes']:.2f}"),
            ("float autoencoder HR MAE (bpm)", lambda x: f"{x['hr_mae_bpm']['float_autoencoder']:.2f}"),
            ("raw PPG HR MAE (bpm)", lambda x: f"{x['hr_mae_bpm']['raw_ppg']:.2f}"),
            ("int8 codes PRD (%)", lambda x: f"{x['reconstruction']['int8_codes']['prd_percent']:.1f}"),
            (".tflite bytes", lambda x: str(x["model"]["tflite_bytes"])),
            ("MACs per inference", lambda x: str(x["model"]["macs"])),
            ("ops", lambda x: ", ".join(x["model"].get("op_list") or x["model"]["ops"])),
            ("TFLM arena host-measured / emitted (bytes)",
             lambda x: f"{x['verification']['arena_used_bytes']} / {x['verification']['arena_bytes']}"),
            ("run time (s)", lambda x: f"{x['timing']['total_s']:.0f}")]
    lines = ["## Conv and dense encoders side by side", "",
             f"The dense encoder: `{other['report']['command']}`, artefacts in `{other['dir']}/`.", "",
             "| figure | this run | dense |", "|---|---|---|"]
    lines += [f"| {name} | {fn(r)} | {fn(other['report'])} |" for name, fn in rows]
    return [*lines, ""]


def _data_kind(r: dict) -> str:
    src = str(r["data"]["source"])
    return "built-in synthetic data" if src.startswith("synthetic") else src


def _raw_model_note(r: dict) -> list[str]:
    if not str(r["data"]["source"]).startswith("synthetic"):
        return []
    return [("The raw-PPG model is the stage-2 GRU trained on the same synthetic data: it shows what an HR model "
             "that sees every sample reaches on that data, not on real signals (see the real-data section)."), ""]


def render_markdown(r: dict) -> str:
    hr, rc, m, v, c = r["hr_mae_bpm"], r["reconstruction"], r["model"], r["verification"], r["compression"]
    lines = [
        "# PPG compression: training and export report",
        "",
        f"Command: `{r['command']}`  ",
        (f"Data: {r['data']['source']}, {r['data']['subjects']} subjects ({r['data']['train_windows']} train / "
         f"{r['data']['val_windows']} val / {r['data']['test_windows']} test windows)  "),
        f"Model SHA-256: `{m['sha256']}` (tag 0x{m['tag']:02x})",
        "",
        f"## HR on held-out subjects ({_data_kind(r)})",
        "",
        "| input to the HR model | MAE (bpm) |",
        "|---|---|",
        f"| raw PPG (stage-2 model) | {hr['raw_ppg']:.2f} |",
        f"| float autoencoder | {hr['float_autoencoder']:.2f} |",
        f"| int8 codes -> decoder | {hr['int8_codes']:.2f} |",
        *_flagged_lines(r),
        "",
        *_raw_model_note(r),
        *real_data_lines(r),
        *_recording_lines(r),
        "## Reconstruction (preprocessed [0, 1] units)",
        "",
        "| path | MSE | PRD (%) |",
        "|---|---|---|",
        f"| float autoencoder | {rc['float_autoencoder']['mse']:.5f} | {rc['float_autoencoder']['prd_percent']:.1f} |",
        f"| int8 codes -> decoder | {rc['int8_codes']['mse']:.5f} | {rc['int8_codes']['prd_percent']:.1f} |",
        "",
        "## Model",
        "",
        "| figure | value |",
        "|---|---|",
        f"| encoder (--arch) | {m.get('arch', 'dense')} |",
        f"| .tflite bytes | {m['tflite_bytes']} |",
        f"| MACs per inference | {m['macs']} |",
        f"| ops (execution order) | {', '.join(m.get('op_list') or m['ops'])} |",
        f"| TFLM arena: host-measured / emitted (bytes) | {v['arena_used_bytes']} / {v['arena_bytes']} |",
        f"| input scale / zero point | {m['input_scale']:.9g} / {m['input_zero_point']} |",
        f"| output scale / zero point | {m['output_scale']:.9g} / {m['output_zero_point']} |",
        "",
        *_comparison_lines(r),
        "## Verification",
        "",
        (f"On {v['windows']} test windows: TFLM vs TFLite (optimized or reference kernels) differing codes: "
         f"**{v['tflm_vs_tflite_mismatched_codes']}**; Keras QAT vs TFLite: max {v['keras_max_lsb']} LSB "
         f"({v['keras_mismatched_codes']} codes differ)."),
        "",
        "## Packets",
        "",
        (f"{c['packet_bytes']} bytes per packet. Against 16-bit PPG at 25 Hz: "
         + ", ".join(f"{k}: {x['ratio']:.1f}x ({x['raw_bytes_per_hop']} B raw per packet)"
                     for k, x in c["per_hop"].items()) + "."),
        "",
        "## Plots",
        "",
        "![training curves](plots/training_curves.png)",
        "",
        "![reconstructions](plots/reconstructions.png)",
        "",
        "![HR traces](plots/hr_traces.png)",
        "",
        f"Run time: {r['timing']['total_s']:.0f} s.",
        "",
    ]
    return "\n".join(lines)
