# SPDX-License-Identifier: Apache-2.0
"""Encoder cost on a Cortex-M33 without hardware (issue 7).

Builds the benchmark app (BENCH_APP, tests/benchmarks/encoder_cost) for mps2/an521/cpu0 once per kernel
variant, runs each zephyr.elf in QEMU with ``-icount shift=0,align=off,sleep=off`` (one guest
instruction = 1 ns of virtual time, so the figures are deterministic instruction counts)
and ``-global sse-200.CPU0_DSP=on``, parses the ``BENCH`` lines, prints a table and
optionally writes JSON. Also reports the flash (text+rodata) of every build.

    source <west workspace>/zephyr/zephyr-env.sh
    ppgcomp-bench-encoder-cost --json /tmp/encoder_cost.json     # or python scripts/bench_encoder_cost.py

Exit status: 0 when every variant ran and matched the golden codes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ppgcomp.constants import REPO_ROOT

LOG = logging.getLogger(__name__)
#: The benchmark's Zephyr application, relative to the repository root (its build path; twister runs it too).
BENCH_APP = Path("tests/benchmarks/encoder_cost")
APP = REPO_ROOT / BENCH_APP
BOARD = "mps2/an521/cpu0"

#: name -> (Kconfig options, description)
VARIANTS: dict[str, tuple[list[str], str]] = {
    "reference": (["CONFIG_TFLM_KERNELS_REFERENCE=y"], "TFLM reference kernels"),
    "cmsis_nn": (["CONFIG_TFLM_KERNELS_CMSIS_NN=y"], "CMSIS-NN, pure C (no DSP)"),
    "cmsis_nn_dsp": (
        ["CONFIG_TFLM_KERNELS_CMSIS_NN=y", "CONFIG_BENCH_ENCODER_DSP=y"],
        "CMSIS-NN with DSP (SMLAD)",
    ),
    "ppg_fc_dsp": (
        ["CONFIG_TFLM_KERNELS_PPG_FC=y", "CONFIG_BENCH_ENCODER_DSP=y"],
        "PPG FC kernel (interleaved weights) with DSP",
    ),
}

QEMU_FLAGS = [
    "-cpu", "cortex-m33",
    "-machine", "mps2-an521",
    "-nographic",
    "-m", "16",
    "-vga", "none",
    "-icount", "shift=0,align=off,sleep=off",
    "-global", "sse-200.CPU0_DSP=on",
    "-monitor", "none",
    "-serial", "stdio",
]


@dataclass
class Result:
    variant: str
    description: str
    kernel: str = ""
    dsp: int = 0
    macs: int = 0
    windows: int = 0
    instr_per_inference: int = 0
    instr_min: int = 0
    instr_max: int = 0
    instr_per_mac: float = 0.0
    per_window: list[int] = field(default_factory=list)
    per_layer: dict[str, int] = field(default_factory=dict)
    golden_ok: bool = False
    mismatched_codes: int = -1
    calib_loop_instr: int = 0
    calib_cycles: int = 0
    flash_bytes: int = 0
    ram_bytes: int = 0
    build_dir: str = ""


def build(variant: str, configs: list[str], build_root: Path, pristine: bool) -> Path:
    bdir = build_root / f"encoder_cost_{variant}"
    cmd = [
        "west", "build", "-b", BOARD, "-d", str(bdir), str(APP), "-o=-j2",
        "-p", "always" if pristine else "auto", "--",
        *[f"-D{c}" for c in configs],
    ]
    LOG.info("building %s: %s", variant, " ".join(cmd))
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise RuntimeError(f"build of {variant} failed")
    return bdir


def elf_of(bdir: Path) -> Path:
    """zephyr.elf of a build (sysbuild puts the application in <build>/encoder_cost/)."""
    for cand in (bdir / APP.name / "zephyr" / "zephyr.elf", bdir / "zephyr" / "zephyr.elf"):
        if cand.is_file():
            return cand
    raise FileNotFoundError(f"no zephyr.elf under {bdir}")


def run_qemu(elf: Path, qemu: str, timeout: float) -> str:
    cmd = [qemu, *QEMU_FLAGS, "-kernel", str(elf)]
    LOG.info("running %s", " ".join(cmd))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("BENCH done") or "FATAL ERROR" in line:
                break
    finally:
        proc.kill()
        proc.wait(timeout=timeout)
    return "\n".join(lines)


def kv(line: str) -> dict[str, str]:
    return dict(re.findall(r"(\w+)=(\S+)", line))


def parse(out: str, res: Result) -> None:
    for line in out.splitlines():
        line = line.strip()
        if not line.startswith("BENCH "):
            continue
        d = kv(line)
        if line.startswith("BENCH kernel="):
            res.kernel, res.dsp = d["kernel"], int(d["dsp"])
            res.macs, res.windows = int(d["macs"]), int(d["windows"])
        elif line.startswith("BENCH calib"):
            res.calib_loop_instr, res.calib_cycles = int(d["loop_instr"]), int(d["cycles"])
        elif line.startswith("BENCH run"):
            res.per_window.append(int(d["instr"]))
        elif line.startswith("BENCH layer="):
            res.per_layer[d["layer"]] = int(d["instr"])
        elif line.startswith("BENCH result"):
            res.instr_per_inference = int(d["instr_per_inference"])
            res.instr_min, res.instr_max = int(d["instr_min"]), int(d["instr_max"])
        elif line.startswith("BENCH golden mismatched"):
            res.mismatched_codes = int(d["mismatched_codes"])
        elif line == "BENCH golden ok":
            res.golden_ok = True
    if res.macs:
        res.instr_per_mac = round(res.instr_per_inference / res.macs, 3)


def flash_ram(bdir: Path) -> tuple[int, int]:
    """text+rodata(+data init) and RAM from arm-none-eabi-size of zephyr.elf."""
    size = os.environ.get("CROSS_COMPILE", "arm-none-eabi-") + "size"
    if not shutil.which(size):
        size = "arm-none-eabi-size"
    out = subprocess.run([size, "-B", str(elf_of(bdir))],
                         capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(x) for x in out.splitlines()[1].split()[:3])
    return text + data, data + bss


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", default=",".join(VARIANTS),
                    help="comma-separated subset of: " + ", ".join(VARIANTS))
    ap.add_argument("--build-root", type=Path, default=Path("/tmp"),
                    help="parent of the build directories (default /tmp)")
    ap.add_argument("--pristine", action="store_true", help="pristine builds (-p always)")
    ap.add_argument("--no-build", action="store_true", help="run existing builds only")
    ap.add_argument("--qemu", default="qemu-system-arm", help="QEMU binary")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per QEMU run")
    ap.add_argument("--json", type=Path, help="write the results as JSON here")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(name)s: %(message)s")

    if not shutil.which(args.qemu):
        LOG.error("%s not found (apt-get install -y qemu-system-arm)", args.qemu)
        return 2
    results: list[Result] = []
    for name in [v.strip() for v in args.variants.split(",") if v.strip()]:
        if name not in VARIANTS:
            LOG.error("unknown variant %s", name)
            return 2
        configs, desc = VARIANTS[name]
        res = Result(variant=name, description=desc)
        bdir = args.build_root / f"encoder_cost_{name}"
        if not args.no_build:
            try:
                bdir = build(name, configs, args.build_root, args.pristine)
            except RuntimeError as e:
                LOG.error("%s", e)
                return 1
        res.build_dir = str(bdir)
        out = run_qemu(elf_of(bdir), args.qemu, args.timeout)
        LOG.info("%s output:\n%s", name, out)
        parse(out, res)
        res.flash_bytes, res.ram_bytes = flash_ram(bdir)
        results.append(res)

    base = {r.variant: r for r in results}
    print(f"{'variant':<14} {'instr/inference':>15} {'instr/MAC':>9} {'vs CMSIS-NN+DSP':>15} "
          f"{'flash B':>8} {'golden':>6}")
    ref = base.get("cmsis_nn_dsp")
    for r in results:
        speed = (f"{ref.instr_per_inference / r.instr_per_inference:.2f}x"
                 if ref and r.instr_per_inference else "-")
        print(f"{r.variant:<14} {r.instr_per_inference:>15,} {r.instr_per_mac:>9.3f} "
              f"{speed:>15} {r.flash_bytes:>8,} {'ok' if r.golden_ok else 'FAIL':>6}")
        if r.per_layer:
            print("    per layer: " + ", ".join(f"L{k} {v:,}" for k, v in r.per_layer.items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        doc = {"board": BOARD, "qemu_flags": QEMU_FLAGS,
               "macs": results[0].macs if results else 0,
               "results": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0 if results and all(r.golden_ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
