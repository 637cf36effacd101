"""Command line of `ppgcomp-make-replay` (scripts/make_replay.py): a held-out recording, its reference HR and
reference packets."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path

from ppgcomp.constants import ARTIFACTS_DIR, DEVICE_DEFAULT_HOP, MODEL_INFO_FILE, TFLITE_FILE
from ppgcomp.replay.reference import HELD_OUT_SEED

log = logging.getLogger(__name__)

REPLAY_FILE = "ppg_replay.txt"
REFERENCE_FILE = "reference_hr.csv"
PACKETS_FILE = "reference_packets.hex"
EXPECTED_FILE = "expected.json"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="make_replay.py",
        description="Generate a held-out synthetic PPG recording with known HR and what the firmware must "
        "produce from it: the native_sim replay file, the reference HR, the reference packets (decimate -> "
        "window every hop -> preprocess -> TFLM int8 codes -> packet) and the expected HR MAE of the int8 "
        "codes decoded by the receiver.",
        epilog=f"Writes OUT/{REPLAY_FILE} (first line '# ppg-replay rate_hz=R', then one integer sample per line; "
        f"run the native_sim app with --ppg-file=PATH), OUT/{REFERENCE_FILE} (time_s,hr_bpm per 25 Hz sample), "
        f"OUT/{PACKETS_FILE} (hex lines, as native_sim's --packets-out) and OUT/{EXPECTED_FILE}. "
        "Exit status: 0 ok, 2 bad input.",
    )
    p.add_argument("--artifacts", type=Path, default=ARTIFACTS_DIR, metavar="DIR",
                   help="model artefacts from train_export.py (default: artifacts/)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (created)")
    p.add_argument("--seed", type=int, default=HELD_OUT_SEED,
                   help=f"synthetic subject seed, one training never uses (default {HELD_OUT_SEED})")
    p.add_argument("--minutes", type=float, default=10.0, help="recording length (default 10)")
    p.add_argument("--rate", type=int, default=100, metavar="HZ",
                   help="sensor rate, a multiple of 25 Hz (default 100)")
    p.add_argument("--hop", type=int, default=DEVICE_DEFAULT_HOP, metavar="SAMPLES",
                   help="encoder hop in 25 Hz samples; must equal the firmware's APP_ENCODE_HOP_SAMPLES "
                   f"(default {DEVICE_DEFAULT_HOP}, the device default)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    prog = parser.prog
    if args.minutes <= 0 or not 1 <= args.hop <= 65535:
        print(f"{prog}: error: --minutes must be positive and --hop 1..65535", file=sys.stderr)
        return 2
    from ppgcomp.receiver.cli import check_artifacts

    problem = check_artifacts(args.artifacts, need_tflite=True)
    if problem:
        print(f"{prog}: error: {problem}", file=sys.stderr)
        return 2
    try:
        from ppgcomp.dsp.decimate import decimation_factor

        decimation_factor(args.rate)
        args.out.mkdir(parents=True, exist_ok=True)
    except (ValueError, OSError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    try:
        expected = generate(args.artifacts, args.out, seed=args.seed, minutes=args.minutes, rate_hz=args.rate,
                            hop=args.hop, command="python scripts/make_replay.py " + shlex.join(
                                argv if argv is not None else sys.argv[1:]))
    except (ValueError, RuntimeError, OSError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    print(f"{expected['packets']} packets; expected int8-codes HR MAE {expected['hr_mae_bpm']:.3f} bpm over "
          f"{expected['covered_samples']} samples; files in {args.out}")
    return 0


def generate(artifacts: Path, out: Path, *, seed: int = HELD_OUT_SEED, minutes: float = 10.0, rate_hz: int = 100,
             hop: int = DEVICE_DEFAULT_HOP, command: str = "") -> dict:
    """Write the four files into `out` and return the expected.json content."""
    from ppgcomp.receiver.timeline import load_reference, write_reference
    from ppgcomp.replay.reference import build_reference, expected_mae, write_packets, write_replay_file
    from ppgcomp.training.decoding import CodeDecoder

    decoder = CodeDecoder.load(artifacts)
    tfl = (artifacts / TFLITE_FILE).read_bytes()
    run = build_reference(tfl, seed=seed, minutes=minutes, sensor_rate_hz=rate_hz, hop=hop)
    if run.tag != decoder.info.tag:
        raise RuntimeError(f"{artifacts}: {TFLITE_FILE} (tag 0x{run.tag:02x}) and {MODEL_INFO_FILE} "
                           f"(tag 0x{decoder.info.tag:02x}) are from different exports")
    write_replay_file(out / REPLAY_FILE, run.raw, rate_hz)
    write_reference(out / REFERENCE_FILE, run.hr_bpm)
    write_packets(out / PACKETS_FILE, run.packets,
                  f"reference packets: {command or 'make_replay'}\nseed={seed} minutes={minutes:g} "
                  f"rate_hz={rate_hz} hop={hop} model={decoder.info.sha256}")
    ref_t, ref_hr = load_reference(out / REFERENCE_FILE)  # exactly what the receiver will read
    _, hr = decoder.decode(run.codes)
    figures = expected_mae(hr, run, ref_t, ref_hr)
    expected = {
        "command": command, "seed": seed, "minutes": minutes, "sensor_rate_hz": rate_hz, "hop": hop,
        "samples": int(run.raw.size), "decimated_samples": int(run.ppg.size), "packets": len(run.packets),
        "model_sha256": decoder.info.sha256, "model_tag": decoder.info.tag, **figures,
        "files": {"replay": REPLAY_FILE, "reference": REFERENCE_FILE, "packets": PACKETS_FILE},
    }
    (out / EXPECTED_FILE).write_text(json.dumps(expected, indent=2) + "\n")
    log.info("expected int8-codes HR MAE %.3f bpm (all-targets %.3f) on %d packets", figures["hr_mae_bpm"],
             figures["hr_mae_bpm_all_targets"], len(run.packets))
    return expected
