"""Benchmark of the main job: runs train_export.py (default configuration unless arguments are given) in a
child process and prints its wall time, peak RSS and the report's figures against their targets (the main job's
budget, and the compact encoder's: model flash, arena, HR MAE).

    ppgcomp-bench-train-export [--out DIR] [-- extra train_export.py arguments]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from ppgcomp.constants import REPO_ROOT, REPORT_JSON_FILE
from ppgcomp.training.distributed import child_command


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("/tmp/bench_train_export"), help="artefact folder for the run")
    p.add_argument("extra", nargs="*", help="arguments passed to train_export.py (after --)")
    args = p.parse_args(argv)
    cmd = [*child_command(), "--out", str(args.out),
           "--emit-c", str(args.out / "c"), "--emit-golden", str(args.out / "golden"), *args.extra]
    print("running:", " ".join(cmd), flush=True)
    t0 = time.monotonic()
    rc = subprocess.run(cmd, cwd=REPO_ROOT, check=False).returncode
    wall = time.monotonic() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    if rc != 0:
        print(f"train_export.py failed with exit status {rc}")
        return rc
    r = json.loads((args.out / REPORT_JSON_FILE).read_text())
    hr, v, m = r["hr_mae_bpm"], r["verification"], r["model"]
    rows = [
        ("wall time (s)", f"{wall:.0f}", wall <= 15 * 60, "<= 900"),
        ("peak RSS (MiB)", f"{peak_mib:.0f}", peak_mib <= 3 * 1024, "<= 3072"),
        ("TFLM vs TFLite differing codes", str(v["tflm_vs_tflite_mismatched_codes"]),
         v["tflm_vs_tflite_mismatched_codes"] == 0, "0"),
        ("verification windows", str(v["windows"]), v["windows"] >= 1000, ">= 1000"),
        ("HR MAE raw PPG (bpm)", f"{hr['raw_ppg']:.2f}", True, "-"),
        ("HR MAE float AE (bpm)", f"{hr['float_autoencoder']:.2f}", True, "-"),
        ("HR MAE int8 codes (bpm)", f"{hr['int8_codes']:.2f}",
         hr["int8_codes"] <= min(hr["raw_ppg"] + 1.0, 1.72), "<= min(raw + 1.0, 1.72)"),
        ("Keras QAT vs TFLite (max LSB)", str(v["keras_max_lsb"]), v["keras_max_lsb"] <= 2, "<= 2"),
        ("model .tflite (bytes)", str(m["tflite_bytes"]), m["tflite_bytes"] <= 16 * 1024, "<= 16384"),
        ("TFLM arena emitted (bytes)", str(v["arena_bytes"]), v["arena_bytes"] <= 2048, "<= 2048"),
        ("packet bytes", str(r["compression"]["packet_bytes"]), r["compression"]["packet_bytes"] == 20, "20"),
    ]
    print("\n| figure | measured | target | met |\n|---|---|---|---|")
    for name, val, ok, target in rows:
        print(f"| {name} | {val} | {target} | {'yes' if ok else 'NO'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
