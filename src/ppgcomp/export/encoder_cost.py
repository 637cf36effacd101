# SPDX-License-Identifier: Apache-2.0
"""Encoder cost on a Cortex-M33 without hardware: the committed (conv) encoder and the old dense one, side by side.

Builds the benchmark app (BENCH_APP, tests/benchmarks/encoder_cost) for mps2/an521/cpu0 once per variant, runs
each zephyr.elf in QEMU with ``-icount shift=0,align=off,sleep=off`` (one guest instruction = 1 ns of virtual
time, so the figures are deterministic instruction counts) and ``-global sse-200.CPU0_DSP=on``, parses the
``BENCH`` lines and the encoder's ``encoder ready: N ops, arena USED/SIZE bytes`` log line, prints a table and
optionally writes JSON. Per variant: instructions per inference and per MAC, flash (text+data) and RAM of the
image, the tensor arena the device uses (TFLM's arena_used_bytes()) of the configured size, the model's .tflite
bytes, and whether the codes match the golden vectors bit for bit.

Models: ``conv`` is the committed model (lib/encoder_model, the default PPG_MODEL_DIR, with tests/golden); its
label is taken from its header (``dense`` when its ops hold no CONV_2D). ``dense`` is the old 400-256-64-16
encoder, generated at bench time into the build root from artifacts/dense/encoder_int8.tflite and
artifacts/dense/golden_vectors.npz (--dense-tflite, --dense-golden) and built with -DPPG_MODEL_DIR,
-DPPG_GOLDEN_DIR and -DCONFIG_TFLM_ARENA_SIZE=4096 (Kconfig always reads lib/encoder_model/Kconfig.model,
whose arena default is the committed model's; its op symbols must include FULLY_CONNECTED).

    source <west workspace>/zephyr/zephyr-env.sh
    ppgcomp-bench-encoder-cost --json /tmp/encoder_cost.json     # or python scripts/bench_encoder_cost.py
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

from ppgcomp.constants import (
    ARTIFACTS_DIR,
    DENSE_SUBDIR,
    FIRMWARE_MODEL_DIR,
    GOLDEN_VECTORS_FILE,
    REPO_ROOT,
    TFLITE_FILE,
)

LOG = logging.getLogger(__name__)
#: The benchmark's Zephyr application, relative to the repository root (its build path; twister runs it too).
BENCH_APP = Path("tests/benchmarks/encoder_cost")
APP = REPO_ROOT / BENCH_APP
BOARD = "mps2/an521/cpu0"
#: The old dense encoder's export (kept by the training side for this comparison).
DENSE_TFLITE = REPO_ROOT / ARTIFACTS_DIR / DENSE_SUBDIR / TFLITE_FILE
DENSE_GOLDEN = REPO_ROOT / ARTIFACTS_DIR / DENSE_SUBDIR / GOLDEN_VECTORS_FILE
#: Arena of the dense builds (Kconfig.model's default is the committed model's, too small for it).
DENSE_ARENA_BYTES = 4096
DENSE_ARENA_HEADROOM = 2048

CMSIS_NN = ["CONFIG_TFLM_KERNELS_CMSIS_NN=y"]
DSP = ["CONFIG_BENCH_ENCODER_DSP=y"]


@dataclass(frozen=True)
class Variant:
    model: str  # "committed" (lib/encoder_model) or "dense" (generated from DENSE_TFLITE)
    configs: list[str]
    description: str


#: name -> variant. The committed model with each kernel implementation, the dense one with the fastest.
VARIANTS: dict[str, Variant] = {
    "reference": Variant("committed", ["CONFIG_TFLM_KERNELS_REFERENCE=y"], "TFLM reference kernels"),
    "cmsis_nn": Variant("committed", CMSIS_NN, "CMSIS-NN, pure C (no DSP)"),
    "cmsis_nn_dsp": Variant("committed", CMSIS_NN + DSP, "CMSIS-NN with DSP (SMLAD)"),
    "dense_cmsis_nn_dsp": Variant("dense", CMSIS_NN + DSP, "old dense encoder, CMSIS-NN with DSP"),
}
#: The variant the app's default configuration runs: nrf5340dk_nrf5340_cpuapp (app/boards/*.conf) selects
#: CONFIG_TFLM_KERNELS_CMSIS_NN, the nRF5340 application core has the DSP extension, and the model is the
#: committed one.
DEFAULT_VARIANT = "cmsis_nn_dsp"

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

EPILOG = f"""\
variants (--variants, comma-separated; default: all):
{chr(10).join(f"  {n:<20} {v.description}" + (' [default configuration]' if n == DEFAULT_VARIANT else '')
              for n, v in VARIANTS.items())}

JSON (--json): {{"board", "qemu_flags", "default_variant", "models": {{<model>: {{"macs", "tflite_bytes",
"model_dir"}}}}, "results": [...]}}; every result has "variant", "model" ("conv" or "dense"), "default" (true
for the variant the app's default configuration uses), "instr_per_inference", "instr_min", "instr_max",
"instr_per_mac", "flash_bytes", "ram_bytes", "arena_used_bytes", "arena_bytes", "model_bytes", "golden_ok", ...

exit status: 0 every variant ran and matched the golden codes; 1 a build or run failed, or a variant's codes
differ; 2 bad input (unknown variant, no QEMU, missing dense model files).
"""


@dataclass
class Result:
    variant: str
    description: str
    model: str = ""  # "conv" or "dense"
    default: bool = False  # the variant the app's default configuration uses
    kernel: str = ""
    dsp: int = 0
    macs: int = 0
    windows: int = 0
    instr_per_inference: int = 0
    instr_min: int = 0
    instr_max: int = 0
    instr_per_mac: float = 0.0
    per_window: list[int] = field(default_factory=list)
    golden_ok: bool = False
    mismatched_codes: int = -1
    calib_loop_instr: int = 0
    calib_cycles: int = 0
    flash_bytes: int = 0
    ram_bytes: int = 0
    arena_used_bytes: int = 0  # the device's MicroInterpreter::arena_used_bytes()
    arena_bytes: int = 0  # CONFIG_TFLM_ARENA_SIZE
    ops: int = 0
    model_bytes: int = 0  # the .tflite flatbuffer (PPG_MODEL_DATA_LEN)
    build_dir: str = ""


@dataclass
class ModelDirs:
    label: str  # "conv" / "dense"
    model_dir: Path | None  # None: the default PPG_MODEL_DIR (lib/encoder_model)
    golden_dir: Path | None  # None: tests/golden
    cmake_args: list[str]
    tflite_bytes: int
    macs: int


def header_of(model_dir: Path) -> str:
    return (model_dir / "ppg_encoder_model.h").read_text()


def header_define(header: str, name: str) -> str:
    m = re.search(rf"^#define {name}(?!\w)\s*(.*)$", header, re.MULTILINE)
    if not m:
        raise ValueError(f"{name} not in the model header")
    return m.group(1).strip()


def committed_model() -> ModelDirs:
    """The committed model (lib/encoder_model): "conv" if it has a CONV_2D, else "dense"."""
    header = header_of(REPO_ROOT / FIRMWARE_MODEL_DIR)
    label = "conv" if "X(Conv2D)" in header_define(header, r"PPG_MODEL_FOR_EACH_OP\(X\)") else "dense"
    return ModelDirs(label, None, None, [], int(header_define(header, "PPG_MODEL_DATA_LEN")),
                     int(header_define(header, "PPG_MODEL_MACS")))


def generate_dense(tflite: Path, golden_npz: Path, out: Path) -> ModelDirs:
    """C model + golden vectors of the old dense encoder, into out/{c,golden}."""
    import numpy as np

    from ppgcomp.export.convert import inspect_tflite
    from ppgcomp.export.emit import GoldenVectors, emit_firmware_model, emit_golden

    model = inspect_tflite(tflite.read_bytes())
    with np.load(golden_npz) as z:
        golden = GoldenVectors(subject="dense", sensor_rate_hz=int(z["sensor_rate_hz"]), raw=z["raw"],
                               decimated=z["decimated"], q=z["q"], codes=z["codes"], hop=int(z["hop"]))
    command = f"ppgcomp-bench-encoder-cost (dense model from {tflite.name})"
    c_dir, g_dir = out / "c", out / "golden"
    c_dir.mkdir(parents=True, exist_ok=True)
    g_dir.mkdir(parents=True, exist_ok=True)
    # Arena figures: only the header's comment and error message use them here (Kconfig.model of this
    # export is not read: Kconfig takes lib/encoder_model's), the build sets CONFIG_TFLM_ARENA_SIZE. The
    # exporter's measurement comes from the report next to the .tflite when there is one.
    report = tflite.parent / "report.json"
    arena_used = 0
    if report.is_file():
        arena_used = int(json.loads(report.read_text()).get("verification", {}).get("arena_used_bytes", 0))
    emit_firmware_model(model, arena_used, DENSE_ARENA_BYTES, c_dir, command, golden)
    emit_golden(model, golden, g_dir, command)
    return ModelDirs("dense", c_dir, g_dir,
                     [f"-DPPG_MODEL_DIR={c_dir}", f"-DPPG_GOLDEN_DIR={g_dir}",
                      f"-DCONFIG_TFLM_ARENA_SIZE={DENSE_ARENA_BYTES}",
                      # The encoder's load guard refuses a model whose bound before tensor planning exceeds
                      # the arena plus this headroom: the dense model's is 5,508 B (QEMU).
                      f"-DCONFIG_TFLM_ARENA_HEADROOM={DENSE_ARENA_HEADROOM}"],
                     len(model.data), model.macs)


def build(variant: str, configs: list[str], cmake_args: list[str], build_root: Path, pristine: bool) -> Path:
    bdir = build_root / f"encoder_cost_{variant}"
    cmd = [
        "west", "build", "-b", BOARD, "-d", str(bdir), str(APP), "-o=-j2",
        "-p", "always" if pristine else "auto", "--",
        *[f"-D{c}" for c in configs], *cmake_args,
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


#: modules/tflm/src/tflm_encoder.cc's LOG_INF after a successful init.
ENCODER_READY = re.compile(r"encoder ready: (\d+) ops, arena (\d+)/(\d+) bytes")


def parse(out: str, res: Result) -> None:
    for line in out.splitlines():
        line = line.strip()
        ready = ENCODER_READY.search(line)
        if ready:
            res.ops, res.arena_used_bytes, res.arena_bytes = (int(g) for g in ready.groups())
            continue
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
    """text+data (flash) and data+bss (RAM) from arm-none-eabi-size of zephyr.elf."""
    size = os.environ.get("CROSS_COMPILE", "arm-none-eabi-") + "size"
    if not shutil.which(size):
        size = "arm-none-eabi-size"
    out = subprocess.run([size, "-B", str(elf_of(bdir))],
                         capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(x) for x in out.splitlines()[1].split()[:3])
    return text + data, data + bss


def print_table(results: list[Result]) -> None:
    ref = next((r for r in results if r.default), None)
    print(f"  {'variant':<19} {'model':<5} {'instr/inference':>15} {'instr/MAC':>9} {'vs default':>10} "
          f"{'flash B':>8} {'arena used/size B':>17} {'model B':>8} {'golden':>6}")
    for r in results:
        speed = (f"{ref.instr_per_inference / r.instr_per_inference:.2f}x"
                 if ref and ref.instr_per_inference and r.instr_per_inference else "-")
        arena = f"{r.arena_used_bytes:,}/{r.arena_bytes:,}" if r.arena_bytes else "-"
        print(f"{'*' if r.default else ' '} {r.variant:<19} {r.model:<5} {r.instr_per_inference:>15,} "
              f"{r.instr_per_mac:>9.3f} {speed:>10} {r.flash_bytes:>8,} {arena:>17} {r.model_bytes:>8,} "
              f"{'ok' if r.golden_ok else 'FAIL':>6}")
    if ref:
        print(f"* the app's default configuration ({ref.variant}: {ref.description}, {ref.model} model)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default=",".join(VARIANTS),
                    help="comma-separated subset of: " + ", ".join(VARIANTS) + " (default: all)")
    ap.add_argument("--build-root", type=Path, default=Path("/tmp"),
                    help="parent of the build directories and of the generated dense model (default /tmp)")
    ap.add_argument("--pristine", action="store_true", help="pristine builds (-p always)")
    ap.add_argument("--no-build", action="store_true", help="run existing builds only")
    ap.add_argument("--qemu", default="qemu-system-arm", help="QEMU binary")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per QEMU run")
    ap.add_argument("--dense-tflite", type=Path, default=DENSE_TFLITE,
                    help="the old dense encoder's .tflite (default artifacts/dense/encoder_int8.tflite)")
    ap.add_argument("--dense-golden", type=Path, default=DENSE_GOLDEN,
                    help="its golden vectors, .npz with raw, decimated, q, codes, sensor_rate_hz, hop "
                         "(default artifacts/dense/golden_vectors.npz)")
    ap.add_argument("--json", type=Path, help="write the results as JSON here")
    ap.add_argument("--max-default-instr", type=int, default=None, metavar="N",
                    help="fail (exit 1) when the default configuration's variant needs more than N instructions "
                    "per inference, or exceeds its arena (scripts/test.sh: 50000)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(name)s: %(message)s")

    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown or not names:
        LOG.error("unknown variant(s) %s (known: %s)", ", ".join(unknown) or "(none given)", ", ".join(VARIANTS))
        return 2
    if not shutil.which(args.qemu):
        LOG.error("%s not found (apt-get install -y qemu-system-arm)", args.qemu)
        return 2
    models: dict[str, ModelDirs] = {"committed": committed_model()}
    if any(VARIANTS[n].model == "dense" for n in names):
        missing = [str(p) for p in (args.dense_tflite, args.dense_golden) if not p.is_file()]
        if missing:
            LOG.error("dense model files missing: %s", ", ".join(missing))
            return 2
        if not args.no_build:
            models["dense"] = generate_dense(args.dense_tflite, args.dense_golden, args.build_root / "dense_model")
        else:
            models["dense"] = ModelDirs("dense", None, None, [], args.dense_tflite.stat().st_size, 0)

    results: list[Result] = []
    for name in names:
        var = VARIANTS[name]
        mdl = models[var.model]
        res = Result(variant=name, description=var.description, model=mdl.label,
                     default=name == DEFAULT_VARIANT, model_bytes=mdl.tflite_bytes)
        bdir = args.build_root / f"encoder_cost_{name}"
        if not args.no_build:
            try:
                bdir = build(name, var.configs, mdl.cmake_args, args.build_root, args.pristine)
            except RuntimeError as e:
                LOG.error("%s", e)
                return 1
        res.build_dir = str(bdir)
        try:
            elf = elf_of(bdir)
        except FileNotFoundError as e:
            LOG.error("%s", e)
            return 1
        out = run_qemu(elf, args.qemu, args.timeout)
        LOG.info("%s output:\n%s", name, out)
        parse(out, res)
        res.flash_bytes, res.ram_bytes = flash_ram(bdir)
        results.append(res)

    print_table(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        doc = {"board": BOARD, "qemu_flags": QEMU_FLAGS, "default_variant": DEFAULT_VARIANT,
               "models": {m.label: {"macs": m.macs, "tflite_bytes": m.tflite_bytes,
                                    "model_dir": str(m.model_dir or REPO_ROOT / FIRMWARE_MODEL_DIR)}
                          for m in models.values()},
               "results": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    ok = bool(results) and all(r.golden_ok for r in results)
    for r in results:
        if r.default and args.max_default_instr is not None and r.instr_per_inference > args.max_default_instr:
            print(f"{r.variant}: {r.instr_per_inference:,} instructions per inference, over the budget of "
                  f"{args.max_default_instr:,}")
            ok = False
        if r.default and not 0 < r.arena_used_bytes <= r.arena_bytes:
            print(f"{r.variant}: arena {r.arena_used_bytes} of {r.arena_bytes} bytes")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
