"""Benchmark of the streaming input and multi-worker training (issue 15), not a test.

1. Peak RSS of `train_export.py --stream` against the number of synthetic subjects (default 10, 20, 40, 80):
   the streaming path must grow by less than 10 % over that range. `--in-memory` adds the default path for contrast.
2. Wall time of the same job on 1 and 2 local workers (`--workers 1`, `--workers 2`).

Each run is a child process; its peak RSS comes from os.wait4. Artefacts go to --out (never the repository's).

    ppgcomp-bench-streaming [--subjects 10,20,40,80] [--minutes 12] [--epochs 1,1,1,1] [--in-memory]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ppgcomp.constants import ARTIFACTS_DIR, REPO_ROOT, REPORT_JSON_FILE
from ppgcomp.training.distributed import child_command

GROWTH_TARGET = 0.10


def run(args: list[str], out: Path, log: Path) -> tuple[float, float, dict]:
    """Wall time (s), peak RSS (MiB) of the child and its waited-for children, and the report."""
    cmd = [*child_command(), "--no-emit", "--out", str(out), *args]
    t0 = time.monotonic()
    with log.open("w") as f:
        p = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=f, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"bench_streaming.py: error: {' '.join(cmd)} failed with exit status {p.returncode} "
                         f"(log: {log})")
    return wall, usage.ru_maxrss / 1024.0, json.loads((out / REPORT_JSON_FILE).read_text())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subjects", default="10,20,40,80", help="subject counts for the RSS table (default 10,20,40,80)")
    p.add_argument("--minutes", type=float, default=12.0, help="minutes per synthetic subject (default 12)")
    p.add_argument("--epochs", default="1,1,1,1", help="epochs per stage for every run (default 1,1,1,1)")
    p.add_argument("--workers-subjects", type=int, default=20, metavar="N",
                   help="subjects for the 1 vs 2 worker wall time (default 20)")
    p.add_argument("--in-memory", action="store_true", help="also measure the default in-memory path")
    p.add_argument("--out", type=Path, default=Path("/tmp/bench_streaming"), help="scratch folder")
    args = p.parse_args(argv)
    if args.out.resolve() == (REPO_ROOT / ARTIFACTS_DIR).resolve():
        p.error("--out must not be the repository's artifacts/")
    args.out.mkdir(parents=True, exist_ok=True)
    counts = [int(c) for c in args.subjects.split(",")]
    common = ["--minutes", str(args.minutes), "--epochs", args.epochs]
    modes = [("stream", ["--stream"])] + ([("in-memory", [])] if args.in_memory else [])

    rows = []
    for mode, flag in modes:
        for n in counts:
            tag = f"{mode}-{n}"
            print(f"[{len(rows) + 1}/{len(counts) * len(modes)}] {mode}, {n} subjects ...", flush=True)
            wall, rss, rep = run([*flag, "--subjects", str(n), *common], args.out / tag, args.out / f"{tag}.log")
            rows.append((mode, n, rep["data"]["train_windows"], rss, wall))
            print(f"    peak RSS {rss:.0f} MiB, wall {wall:.0f} s", flush=True)

    print("\n| path | subjects | training windows | peak RSS (MiB) | wall (s) |\n|---|---:|---:|---:|---:|")
    for mode, n, windows, rss, wall in rows:
        print(f"| {mode} | {n} | {windows} | {rss:.0f} | {wall:.0f} |")
    for mode, _ in modes:
        rss = [r[3] for r in rows if r[0] == mode]
        growth = max(rss) / rss[0] - 1.0
        met = "yes" if growth < GROWTH_TARGET else "NO"
        print(f"\n{mode}: peak RSS growth {counts[0]} -> {counts[-1]} subjects: {100 * growth:+.1f} % "
              f"(target for the streaming path: < {100 * GROWTH_TARGET:.0f} %; met: {met if mode == 'stream' else '-'})")

    print(f"\nworkers, {args.workers_subjects} subjects:", flush=True)
    walls = []
    for w in (1, 2):
        wall, _, rep = run(["--workers", str(w), "--subjects", str(args.workers_subjects), *common],
                           args.out / f"workers-{w}", args.out / f"workers-{w}.log")
        walls.append(wall)
        hr = rep["hr_mae_bpm"]["int8_codes"]
        print(f"    {w} worker(s): wall {wall:.0f} s, per-worker windows "
              f"{rep['streaming']['train_windows_per_worker']}, int8 HR MAE {hr:.2f} bpm", flush=True)
    print(f"\n| workers | wall (s) |\n|---:|---:|\n| 1 | {walls[0]:.0f} |\n| 2 | {walls[1]:.0f} |")
    print(f"(on {os.cpu_count()} CPU cores; each local worker gets cores/N intra-op threads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
