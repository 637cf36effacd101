"""Command line of the train-and-export job: `ppgcomp-train-export` (also `python scripts/train_export.py`)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shlex
import sys
from pathlib import Path

from ppgcomp.constants import (
    ARTIFACTS_DIR,
    DEFAULT_ENCODER_ARCH,
    DENSE_SUBDIR,
    ENCODER_ARCHS,
    FIRMWARE_GOLDEN_DIR,
    FIRMWARE_MODEL_DIR,
    REPORT_MD_FILE,
    TRAIN_EXPORT_COMMAND,
)
from ppgcomp.data import DataError

EXIT_MODEL_REJECTED = 4  # the converted encoder breaks the firmware's contract (export.convert.ConversionError)
QUICK = {"subjects": 5, "minutes": 4.0, "epochs": {"ae": 3, "hr": 2, "e2e": 2, "qat": 1}}


def _epochs(text: str) -> dict[str, int]:
    """`--epochs 40,30,20,6` or `--epochs ae=40,hr=30,e2e=20,qat=6`."""
    names = ("ae", "hr", "e2e", "qat")
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        if all("=" in p for p in parts):
            out = {k.strip(): int(v) for k, v in (p.split("=", 1) for p in parts)}
        elif len(parts) == 4:
            out = dict(zip(names, (int(p) for p in parts)))
        else:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError("give four numbers (ae,hr,e2e,qat) or name=N pairs") from None
    if set(out) - set(names) or any(v < 0 for v in out.values()):
        raise argparse.ArgumentTypeError(f"stages are {', '.join(names)}, epochs must be >= 0")
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="train_export.py",
        description="Train the task-specific PPG autoencoder and HR model, quantize the encoder to int8, "
        "verify it against TFLite and TFLite Micro, and emit it as C source for the Zephyr app, with the "
        "receiver's artefacts, golden vectors and a report.",
        epilog="Stages: 1 autoencoder pre-training, 2 HR model on raw PPG, 3 end-to-end task-specific "
        "training, 4 QAT of the encoder with the decoder frozen. Several workers: --workers N on one machine, or "
        "TF_CONFIG on each host of a cluster (README, 'Training on several workers'); worker 0 (or the chief task) "
        "writes everything, the others write only to a private temporary folder. Exit status: 0 ok; 2 bad input "
        "(arguments, data, a malformed TF_CONFIG, a worker that cannot be reached); 3 a worker died or stopped "
        "responding during training; 4 the converted encoder uses an op the firmware does not register or a "
        "weight layout its kernels cannot take (nothing is emitted).",
    )
    p.add_argument("--data", default="synthetic", metavar="SRC",
                   help="synthetic (built-in, default) | osu:PATH (MotionSense HRV CSV file or folder) | "
                   "csv:PATH (generic CSV with ppg + hr_bpm|rpeak columns, or NPZ with ppg, rate_hz and "
                   "hr_bpm|rpeak_times_s; file or folder) | dalia:DIR (PPG-DaLiA: DIR/S*/S*.pkl, wrist BVP 64 Hz, "
                   "HR from 'label', 8 s windows, 2 s shift; WESAD's S*/S*.pkl too, HR from the 700 Hz chest ECG) | "
                   "wesad:DIR (the same) | wfdb:PATH (PhysioNet WFDB record DIR/rec[.hea] or a folder of them: "
                   "PLETH/PPG channel, HR from .atr/.abp/.ecg/.qrs beat annotations or an ECG channel). "
                   "Bad data stops with exit 2 before training; see README, 'Real data'")
    p.add_argument("--rate", type=float, default=None, metavar="HZ",
                   help="sample rate of csv: data, any rate, fractional too (e.g. 64, 117.3): multiples of 25 Hz "
                   "take the firmware's integer decimator, others scipy resample_poly to 25 Hz; NPZ files carry "
                   "rate_hz")
    p.add_argument("--out", type=Path, default=ARTIFACTS_DIR, help=f"artefact folder (default: {ARTIFACTS_DIR}/)")
    p.add_argument("--emit-c", type=Path, default=FIRMWARE_MODEL_DIR, metavar="DIR",
                   help=f"where the firmware model source goes (default: {FIRMWARE_MODEL_DIR})")
    p.add_argument("--emit-golden", type=Path, default=FIRMWARE_GOLDEN_DIR, metavar="DIR",
                   help=f"where the firmware golden vectors go (default: {FIRMWARE_GOLDEN_DIR})")
    p.add_argument("--no-emit", action="store_true", help="write artefacts only; leave the firmware sources alone")
    p.add_argument("--emit-only", action="store_true",
                   help="no training: regenerate the firmware model sources and blob (--emit-c) from the "
                   "artefacts in --out (checked to belong to one model; the golden vectors are left alone)")
    p.add_argument("--epochs", type=_epochs, default=None, metavar="AE,HR,E2E,QAT",
                   help="maximum epochs per stage (early stopping may end sooner), default 10,20,40,6")
    p.add_argument("--subjects", type=int, default=None, help="synthetic subjects (default 20)")
    p.add_argument("--minutes", type=float, default=None, help="minutes per synthetic subject (default 12)")
    p.add_argument("--seed", type=int, default=0, help="seed for data and training (default 0)")
    p.add_argument("--arch", choices=(*ENCODER_ARCHS, "both"), default=DEFAULT_ENCODER_ARCH,
                   help="encoder: conv (default; 4 ops, about 9 KB int8, each distinct weight stored once), "
                   "dense (the seed's 400-256-64-16, 122 KB), or both: dense into OUT/dense first, then conv into "
                   "OUT (emitted), and report.md compares the two side by side")
    p.add_argument("--quick", action="store_true",
                   help="a small, fast configuration for tests (5 subjects x 4 min, 1-3 epochs per stage)")
    p.add_argument("--stream", action="store_true",
                   help="stream the training windows from the recordings with tf.data (sharded by file, "
                   "interleaved, bounded shuffle buffer, prefetched) instead of holding them all in memory; "
                   "implied by --workers and TF_CONFIG")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="start N local workers (tf.distribute.MultiWorkerMirroredStrategy on localhost ports) "
                   "and train with them; for testing and multi-core use")
    p.add_argument("--worker-timeout", type=float, default=60.0, metavar="S",
                   help="a worker that sends no heartbeat for S seconds is dead and ends the run with exit 3 "
                   "(default 60; one collective op may wait 10*S for a slow worker)")
    p.add_argument("--connect-timeout", type=float, default=300.0, metavar="S",
                   help="how long a worker waits for every other worker of TF_CONFIG to answer (default 300)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ppgcomp.training import distributed as dist

    tf_config = os.environ.get("TF_CONFIG", "").strip()
    cluster = None
    if args.workers is not None and args.workers < 1:
        print(f"train_export.py: error: --workers must be at least 1 (got {args.workers})", file=sys.stderr)
        return dist.EXIT_BAD_INPUT
    if args.workers is not None and tf_config:
        print("train_export.py: error: give --workers N or TF_CONFIG, not both", file=sys.stderr)
        return dist.EXIT_BAD_INPUT
    if args.worker_timeout <= 0 or args.connect_timeout <= 0:
        print("train_export.py: error: --worker-timeout and --connect-timeout must be positive", file=sys.stderr)
        return dist.EXIT_BAD_INPUT
    if tf_config:
        try:
            cluster = dist.parse_tf_config(tf_config)
        except dist.ClusterError as e:
            print(f"train_export.py: error: {e}", file=sys.stderr)
            return dist.EXIT_BAD_INPUT
    tag = f"[worker {cluster.rank}] " if cluster is not None else ""
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format=f"%(asctime)s {tag}%(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if args.workers is not None:
        given = argv if argv is not None else sys.argv[1:]
        return dist.launch_local(args.workers, _without_workers(given), "train_export.py",
                                 TRAIN_EXPORT_COMMAND + " " + shlex.join(given))
    if args.emit_only:
        return _emit_only(args, argv)
    from ppgcomp.training.pipeline import ExportConfig, run  # after logging is set up

    cfg = ExportConfig(data=args.data, out=args.out, rate_hz=args.rate, seed=args.seed, quick=args.quick,
                       emit_c=None if args.no_emit else args.emit_c,
                       emit_golden=None if args.no_emit else args.emit_golden, arch=args.arch,
                       command=os.environ.get(dist.COMMAND_ENV)
                       or TRAIN_EXPORT_COMMAND + " " + shlex.join(argv if argv is not None else sys.argv[1:]))
    if args.quick:
        cfg.subjects, cfg.minutes, cfg.epochs = QUICK["subjects"], QUICK["minutes"], dict(QUICK["epochs"])
    if args.subjects is not None:
        cfg.subjects = args.subjects
    if args.minutes is not None:
        cfg.minutes = args.minutes
    if args.epochs is not None:
        cfg.epochs = {**({"ae": 10, "hr": 20, "e2e": 40, "qat": 6} | cfg.epochs), **args.epochs}
    if cfg.subjects < 1 or cfg.minutes <= 0:
        print("train_export.py: error: --subjects and --minutes must be positive", file=sys.stderr)
        return 2
    from ppgcomp.export.convert import ConversionError  # imports TensorFlow: only once the arguments are good

    try:
        if args.arch == "both":
            if cluster is not None or args.stream:
                print("train_export.py: error: --arch both trains in this process only (no --stream, workers)",
                      file=sys.stderr)
                return 2
            run(dataclasses.replace(cfg, arch="dense", out=cfg.out / DENSE_SUBDIR, emit_c=None, emit_golden=None))
            cfg.arch = "conv"
        if cluster is None and not args.stream:
            report = run(cfg)
        else:
            from ppgcomp.training.streaming import run_streaming

            report = run_streaming(cfg, cluster, args.worker_timeout, args.connect_timeout)
    except (DataError, dist.ClusterError) as e:
        print(f"train_export.py: error: {e}", file=sys.stderr)
        return 2
    except dist.WorkerFailed as e:
        print(f"train_export.py: error: {e}", file=sys.stderr)
        return dist.EXIT_WORKER_FAILED
    except ConversionError as e:
        print(f"train_export.py: error: {e}", file=sys.stderr)
        return EXIT_MODEL_REJECTED
    if report is None:  # a worker other than the chief: the chief reports
        return 0
    hr = report["hr_mae_bpm"]
    print(f"HR MAE (bpm): raw PPG {hr['raw_ppg']:.2f}, float AE {hr['float_autoencoder']:.2f}, "
          f"int8 codes {hr['int8_codes']:.2f}; TFLM vs TFLite differing codes: "
          f"{report['verification']['tflm_vs_tflite_mismatched_codes']}; report: {cfg.out / REPORT_MD_FILE}")
    return 0


def _emit_only(args: argparse.Namespace, argv: list[str] | None) -> int:
    from ppgcomp.export.model_blob import BlobError
    from ppgcomp.export.reemit import ArtifactError, emit_from_artifacts

    command = TRAIN_EXPORT_COMMAND + " " + shlex.join(argv if argv is not None else sys.argv[1:])
    try:
        written = emit_from_artifacts(args.out, args.emit_c, command)
    except (ArtifactError, BlobError, OSError) as e:
        print(f"train_export.py: error: {e}", file=sys.stderr)
        return 2
    print("emitted " + ", ".join(str(p) for p in written))
    return 0


def _without_workers(argv: list[str]) -> list[str]:
    """The arguments without --workers N (each local worker gets the rest, and TF_CONFIG)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--workers":
            skip = True
        elif not a.startswith("--workers="):
            out.append(a)
    return out


if __name__ == "__main__":
    sys.exit(main())
