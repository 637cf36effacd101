"""Benchmark: time the full size analysis (load, totals, DWARF attribution, report) of one ELF.

Prints the best and median wall-clock time over ``--repeat`` runs. The issue requires <= 3 s on the real
nRF5340 app-core zephyr.elf; this is a benchmark that prints the figure, not a test.

    ppgcomp-bench-elf-size build/zephyr/zephyr.elf --repeat 5
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

from ppgcomp.elfsize.attribution import attribute
from ppgcomp.elfsize.errors import InputError
from ppgcomp.elfsize.loader import load_elf
from ppgcomp.elfsize.memory import measure
from ppgcomp.elfsize.report import build_report, render_markdown

TARGET_S = 3.0


def analyse_once(path: Path, use_dwarf: bool) -> dict:
    loaded = load_elf(path)
    usage = measure(loaded)
    attribution = attribute(loaded, usage, use_dwarf=use_dwarf)
    report = build_report(loaded, usage, attribution, None, [], 15)
    render_markdown(report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time elf_size's analysis of an ELF (target: <= 3 s on the "
                                                 "nRF5340 app-core zephyr.elf).")
    parser.add_argument("elf", type=Path, help="the ELF to analyse")
    parser.add_argument("--repeat", type=int, default=3, help="number of timed runs (default 3)")
    parser.add_argument("--no-dwarf", action="store_true", help="time attribution without DWARF")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    times: list[float] = []
    report: dict = {}
    try:
        for _ in range(max(1, args.repeat)):
            start = time.perf_counter()
            report = analyse_once(args.elf, not args.no_dwarf)
            times.append(time.perf_counter() - start)
    except InputError as exc:
        print(f"bench_elf_size.py: error: {exc}", file=sys.stderr)
        return 2
    flash, ram = report["totals"]["flash"]["used"], report["totals"]["ram"]["used"]
    unattributed = report["components"]["unattributed"]["flash"]
    best, median = min(times), statistics.median(times)
    print(f"elf: {args.elf} ({args.elf.stat().st_size} bytes)")
    print(f"flash used: {flash} B, ram used: {ram} B, unattributed flash: {unattributed} B "
          f"({100 * unattributed / max(flash, 1):.1f}%), dwarf: {report['attribution']['dwarf']}")
    print(f"analysis time: best {best:.3f} s, median {median:.3f} s over {len(times)} runs "
          f"(target <= {TARGET_S:.1f} s: {'met' if best <= TARGET_S else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
