"""Command line of ppgcomp-bench-receive (scripts/bench_receive.py): replay decoding throughput in packets per second."""

from __future__ import annotations

import argparse
import io
import logging
import sys
import time
from pathlib import Path

import numpy as np

from ppgcomp.constants import ARTIFACTS_DIR, DEVICE_DEFAULT_HOP

log = logging.getLogger(__name__)


def make_lines(n: int, tag: int, seed: int = 0) -> list[str]:
    """`n` native_sim lines with random int8 codes, seq 0..n-1 (wrapping), the given model tag."""
    from ppgcomp.protocol.packet import SEQ_MODULUS, encode_packet, packet_to_hex

    codes = np.random.default_rng(seed).integers(-128, 128, size=(n, 16), dtype=np.int64)
    return [packet_to_hex(encode_packet(c, k % SEQ_MODULUS, tag)) + "\n" for k, c in enumerate(codes)]


def replay_once(decoder, lines: list[str], hop: int) -> tuple[float, int]:
    """Seconds to replay `lines` (parse, sequence, decode, rows, CSV into memory) and the rows written."""
    from ppgcomp.receiver.output import CsvSink
    from ppgcomp.receiver.replay import replay_lines
    from ppgcomp.receiver.session import ReceiverSession

    t0 = time.perf_counter()
    session = ReceiverSession(decoder, hop)
    sink = CsvSink(io.StringIO())
    sink.write(replay_lines(session, lines))
    return time.perf_counter() - t0, sink.rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="bench_receive.py",
        description="Measure receive.py --replay decoding throughput (packets/s): parse hex lines, track "
        "sequence numbers, decode in batches (decoder + HR model), write CSV rows into memory.",
        epilog="The decoder load and one warm-up run (TensorFlow tracing) are not timed; the figure is the best "
        "of --repeat runs. Exit status: 0 ok, 1 below --require, 2 bad input.")
    p.add_argument("--artifacts", type=Path, default=ARTIFACTS_DIR, metavar="DIR",
                   help="model artefacts (default: artifacts/)")
    p.add_argument("--packets", type=int, default=5000, help="packets per run (default 5000)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs (default 3)")
    p.add_argument("--hop", type=int, default=DEVICE_DEFAULT_HOP, help=f"hop in samples (default {DEVICE_DEFAULT_HOP})")
    p.add_argument("--require", type=float, default=1000.0, metavar="PPS",
                   help="fail (exit 1) below this many packets/s (default 1000)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    from ppgcomp.receiver.cli import check_artifacts

    problem = check_artifacts(args.artifacts)
    if problem or args.packets < 1 or args.repeat < 1:
        print(f"{p.prog}: error: {problem or '--packets and --repeat must be >= 1'}", file=sys.stderr)
        return 2
    from ppgcomp.training.decoding import CodeDecoder

    t0 = time.perf_counter()
    decoder = CodeDecoder.load(args.artifacts)
    load_s = time.perf_counter() - t0
    lines = make_lines(args.packets, decoder.info.tag)
    warm_s, _ = replay_once(decoder, lines, args.hop)
    runs = [replay_once(decoder, lines, args.hop) for _ in range(args.repeat)]
    best = min(s for s, _ in runs)
    rows = runs[0][1]
    if rows != args.packets:
        print(f"{p.prog}: error: {rows} rows for {args.packets} packets", file=sys.stderr)
        return 1
    pps = args.packets / best
    print(f"replay decode: {args.packets} packets in {best:.3f} s (best of {args.repeat}) = {pps:,.0f} packets/s "
          f"(warm-up run {warm_s:.2f} s, decoder load {load_s:.2f} s, not timed)")
    if pps < args.require:
        print(f"{p.prog}: below the required {args.require:,.0f} packets/s", file=sys.stderr)
        return 1
    return 0
