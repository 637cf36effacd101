"""The main job: data -> windows -> four training stages -> int8 TFLite -> verify -> report -> emit."""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ppgcomp.constants import (
    ARTIFACTS_DIR,
    CODE_LEN,
    DECODER_FILE,
    DEFAULT_ENCODER_ARCH,
    DENSE_SUBDIR,
    DEVICE_DEFAULT_HOP,
    ENCODER_FLOAT_FILE,
    FIRMWARE_GOLDEN_DIR,
    FIRMWARE_MODEL_DIR,
    GOLDEN_VECTORS_FILE,
    HR_MODEL_FILE,
    HR_MODEL_RAW_FILE,
    MODEL_INFO_FILE,
    MODEL_RATE_HZ,
    REPORT_JSON_FILE,
    TFLITE_FILE,
    TRAIN_EXPORT_COMMAND,
    TRAIN_HOP,
    WARMUP_LEN,
    WINDOW_LEN,
)
from ppgcomp.data import DataError, Recording
from ppgcomp.data.loaders import load_generic, load_osu
from ppgcomp.data.synthetic import SENSOR_RATE_HZ, SyntheticConfig, synthesize_subject, synthetic_dataset
from ppgcomp.data.windows import WindowSet, make_windows
from ppgcomp.dsp.decimate import decimate, decimation_factor
from ppgcomp.dsp.preprocess import preprocess_windows

log = logging.getLogger(__name__)

GOLDEN_WINDOWS = 8
GOLDEN_SEED_OFFSET = 999


@dataclass
class ExportConfig:
    data: str = "synthetic"
    out: Path = ARTIFACTS_DIR
    emit_c: Path | None = FIRMWARE_MODEL_DIR
    emit_golden: Path | None = FIRMWARE_GOLDEN_DIR
    rate_hz: float | None = None
    seed: int = 0
    quick: bool = False
    subjects: int = 20
    minutes: float = 12.0
    epochs: dict[str, int] = field(default_factory=dict)
    command: str = TRAIN_EXPORT_COMMAND
    arch: str = DEFAULT_ENCODER_ARCH  # ENCODER_ARCHS


def load_data(cfg: ExportConfig) -> list[Recording]:
    from ppgcomp.realdata.guard import refuse_validation_only

    refuse_validation_only(cfg.data)
    kind, _, arg = cfg.data.partition(":")
    if kind == "synthetic":
        return synthetic_dataset(SyntheticConfig(subjects=cfg.subjects, minutes=cfg.minutes, seed=cfg.seed))
    if kind not in ("osu", "csv", "dalia", "wesad", "wfdb"):
        raise DataError(f"--data {cfg.data}: unknown source (use synthetic, osu:PATH, csv:PATH, dalia:DIR, wesad:DIR "
                        "or wfdb:PATH)")
    if not arg:
        raise DataError(f"--data {cfg.data}: give a path, as {kind}:PATH")
    if kind == "osu":
        return load_osu(Path(arg))
    if kind in ("dalia", "wesad", "wfdb"):
        from ppgcomp.data.public import load_dalia, load_wfdb

        return load_wfdb(Path(arg)) if kind == "wfdb" else load_dalia(Path(arg))
    return load_generic(Path(arg), cfg.rate_hz)


def split_by_subject(recs: list[Recording]) -> tuple[list[Recording], list[Recording], list[Recording]]:
    """About 65/15/20 % of subjects for train/val/test; with fewer than 3 subjects, split each by time."""
    if len(recs) >= 3:
        n_test = max(1, round(0.2 * len(recs)))
        n_val = max(1, round(0.15 * len(recs)))
        return recs[: len(recs) - n_test - n_val], recs[len(recs) - n_test - n_val : len(recs) - n_test], recs[-n_test:]
    log.warning("only %d subject(s): splitting each recording by time (70/15/15 %%) instead of by subject", len(recs))
    parts: tuple[list[Recording], list[Recording], list[Recording]] = ([], [], [])
    for r in recs:
        a, b = int(0.7 * r.ppg.size), int(0.85 * r.ppg.size)
        for part, sl, tag in zip(parts, (slice(0, a), slice(a, b), slice(b, None)), ("train", "val", "test")):
            part.append(Recording(f"{r.subject}-{tag}", r.ppg[sl], r.hr_bpm[sl]))
    return parts


def golden_vectors(seed: int):
    """A held-out synthetic stream at the sensor rate for the firmware tests (not used in training)."""
    from ppgcomp.export.emit import GoldenVectors

    n_dec = WINDOW_LEN + (GOLDEN_WINDOWS - 1) * TRAIN_HOP
    m = decimation_factor(SENSOR_RATE_HZ)
    raw, _ = synthesize_subject(seed * 1000 + GOLDEN_SEED_OFFSET, minutes=2.0)
    raw = raw[5 * SENSOR_RATE_HZ : 5 * SENSOR_RATE_HZ + n_dec * m]
    dec = decimate(raw, m)
    starts = np.arange(GOLDEN_WINDOWS) * TRAIN_HOP
    q = preprocess_windows(np.stack([dec[s : s + WINDOW_LEN] for s in starts]))
    return GoldenVectors(f"synthetic-golden-{seed}", SENSOR_RATE_HZ, raw, dec, q, np.zeros((0, CODE_LEN)), TRAIN_HOP)


def run(cfg: ExportConfig) -> dict:
    t_start = time.monotonic()
    if cfg.out.exists() and not cfg.out.is_dir():
        raise DataError(f"--out {cfg.out}: is a file, not a folder")
    recs = load_data(cfg)
    log.info("loaded %d recording(s) from %s", len(recs), cfg.data)
    train_r, val_r, test_r = split_by_subject(recs)
    train, val, test = (make_windows(r) for r in (train_r, val_r, test_r))
    for name, ws in (("train", train), ("validation", val), ("test", test)):
        if len(ws) == 0:
            raise DataError(f"--data {cfg.data}: the {name} split has no full 16 s window")
    log.info("windows: %d train, %d val, %d test", len(train), len(val), len(test))

    # Heavy imports only once the data is known to be good.
    from ppgcomp.tfenv import set_seed
    from ppgcomp.training.train import train_all

    set_seed(cfg.seed)
    tcfg = train_config(cfg)
    out = cfg.out
    out.mkdir(parents=True, exist_ok=True)
    t_train = time.monotonic()
    models = train_all(train, val, tcfg, out / "checkpoints")
    t_train = time.monotonic() - t_train
    data = {"source": cfg.data, "subjects": len(recs), "train_windows": len(train), "val_windows": len(val)}
    return export(cfg, models, train.x, test, recs, data, t_start, t_train)


def train_config(cfg: ExportConfig):
    """The training configuration of an export run (stage epochs, seed, early-stopping patience)."""
    from ppgcomp.training.train import StageEpochs, TrainConfig

    epochs = StageEpochs(**cfg.epochs) if cfg.epochs else StageEpochs()
    return TrainConfig(epochs=epochs, seed=cfg.seed, patience=2 if cfg.quick else 6, arch=cfg.arch)


def export(cfg: ExportConfig, models, train_x: np.ndarray, test: WindowSet, recs: list, data: dict,
           t_start: float, t_train: float, extra: dict | None = None) -> dict:
    """Convert, verify, evaluate on the test windows, write the artefacts, firmware sources and the report.

    `train_x` is the converter's representative set (its first 256 windows); `recs` the recordings the report
    summarises (empty on the streaming path); `extra` more report sections.
    """
    from ppgcomp.export.convert import convert_encoder
    from ppgcomp.export.emit import emit_firmware_model, emit_golden
    from ppgcomp.export.verify import tflm_codes, verify
    from ppgcomp.protocol.packet import PACKET_LEN
    from ppgcomp.training.decoding import CodeDecoder, ModelInfo
    from ppgcomp.training.report import (
        compression,
        hr_mae,
        hr_mae_flagged,
        plot_hr_traces,
        plot_reconstructions,
        plot_training_curves,
        recon_metrics,
        recordings_summary,
        write_report,
    )
    from ppgcomp.training.train import predict
    out = cfg.out
    log.info("converting the QAT encoder to a full-integer TFLite model")
    tfl = convert_encoder(models.qat_encoder, train_x)
    ver, codes = verify(tfl, models.qat_encoder, test.q)

    info = ModelInfo(sha256=tfl.sha256, tag=tfl.tag, input_scale=tfl.input_scale,
                     input_zero_point=tfl.input_zero_point, output_scale=tfl.output_scale,
                     output_zero_point=tfl.output_zero_point, sample_rate_hz=MODEL_RATE_HZ,
                     window_len=WINDOW_LEN, warmup_len=WARMUP_LEN, train_hop=TRAIN_HOP, code_len=CODE_LEN,
                     arena_bytes=ver.arena_bytes)
    receiver = CodeDecoder(info, models.decoder, models.hr_model)

    log.info("evaluating HR and reconstruction on %d held-out windows", len(test))
    xt = test.x
    hr_raw = predict(models.hr_model_raw, xt)
    recon_float = predict(models.decoder, predict(models.encoder, xt))
    hr_float = predict(models.hr_model, recon_float)
    recon_int8, hr_int8 = receiver.decode(codes)

    # Artefacts for the receiver, then the firmware sources.
    (out / TFLITE_FILE).write_bytes(tfl.data)
    models.encoder.save(out / ENCODER_FLOAT_FILE)
    models.decoder.save(out / DECODER_FILE)
    models.hr_model.save(out / HR_MODEL_FILE)
    models.hr_model_raw.save(out / HR_MODEL_RAW_FILE)
    info.save(out / MODEL_INFO_FILE)
    golden = golden_vectors(cfg.seed)
    golden.codes = tflm_codes(tfl, golden.q)
    np.savez(out / GOLDEN_VECTORS_FILE, raw=golden.raw, decimated=golden.decimated, q=golden.q,
             codes=golden.codes, sensor_rate_hz=golden.sensor_rate_hz, hop=golden.hop)
    emitted = []
    if cfg.emit_c is not None:
        emitted += emit_firmware_model(tfl, ver.arena_used_bytes, ver.arena_bytes, cfg.emit_c, cfg.command, golden)
    if cfg.emit_golden is not None:
        emitted.append(emit_golden(tfl, golden, cfg.emit_golden, cfg.command))

    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    plot_training_curves(models.history, plots / "training_curves.png")
    plot_reconstructions(xt, recon_float, recon_int8, plots / "reconstructions.png")
    traces = {}
    for subj in list(dict.fromkeys(test.subject))[:3]:
        sel = test.subject == subj
        traces[str(subj)] = {"reference": test.hr_bpm[sel], "raw PPG": hr_raw[sel],
                             "float AE": hr_float[sel], "int8 codes": hr_int8[sel]}
    plot_hr_traces(traces, TRAIN_HOP, plots / "hr_traces.png")
    from ppgcomp.realdata.report import evaluate as evaluate_real

    real = evaluate_real(models, tfl, receiver, plots / "real_data.png")

    report = {
        "command": cfg.command,
        "data": {**data, "test_windows": len(test),
                 "test_subjects": sorted({str(s) for s in test.subject}), "recordings": recordings_summary(recs)},
        "hr_mae_bpm": {"raw_ppg": hr_mae(hr_raw, test.hr_bpm), "float_autoencoder": hr_mae(hr_float, test.hr_bpm),
                       "int8_codes": hr_mae(hr_int8, test.hr_bpm)},
        "hr_quality_flags": hr_mae_flagged(hr_int8, test.hr_bpm, test.raw, test.q),
        "real_data": real,
        "reconstruction": {"float_autoencoder": recon_metrics(recon_float, xt),
                           "int8_codes": recon_metrics(recon_int8, xt)},
        "model": {"arch": cfg.arch, "sha256": tfl.sha256, "tag": tfl.tag, "tflite_bytes": len(tfl.data),
                  "macs": tfl.macs, "ops": tfl.ops, "op_list": tfl.op_list, "input_shape": list(tfl.input_shape), "input_scale": tfl.input_scale, "input_zero_point": tfl.input_zero_point,
                  "output_scale": tfl.output_scale, "output_zero_point": tfl.output_zero_point},
        "verification": asdict(ver),
        "compression": {"packet_bytes": PACKET_LEN,
                        "per_hop": {"train hop 2 s": compression(TRAIN_HOP),
                                    "device default hop 8 s": compression(DEVICE_DEFAULT_HOP)}},
        "training": {"history": models.history, "epochs_run": {k: len(v.get("loss", [])) for k, v in models.history.items()}},
        "emitted": [str(p) for p in emitted],
        "timing": {"train_s": t_train, "total_s": time.monotonic() - t_start},
        **(extra or {}),
    }
    dense_report = out / DENSE_SUBDIR / REPORT_JSON_FILE
    if cfg.arch != "dense" and dense_report.is_file():  # --arch both: compare with the dense run
        report["dense_comparison"] = {"dir": str(out / DENSE_SUBDIR), "report": json.loads(dense_report.read_text())}
    write_report(report, out)
    if not cfg.quick:  # checkpoints are for resuming a long run; a finished default run drops them
        shutil.rmtree(out / "checkpoints", ignore_errors=True)
    return report
