"""Command line: ``elf_size.py ELF [--budget FILE] [--board NAME] [--config FILE] [--json OUT] [--markdown OUT]
[--baseline JSON]``.

Where the flash and RAM regions start (and so what "used" counts from) comes from the build's ``.config``
beside the ELF when there is one (:mod:`ppgcomp.elfsize.buildconfig`: an MCUboot slot0 image is measured from
its slot), else from the budget's ``regions``, else from the lowest address of the image's sections.

Exit status: 0 within budget (or no budget given), 1 over budget, 2 bad input (including a malformed section
table and an output file that cannot be written). Bad input is reported as one line on stderr, never a
traceback (``-vv`` adds the traceback to the debug log). The ``--json`` and ``--markdown`` files are written
all together or not at all (:mod:`ppgcomp.elfsize.outputs`), so exit 2 leaves no new or partial report.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ppgcomp.elfsize.attribution import attribute
from ppgcomp.elfsize.budget import ImageBudget, check, load_budgets, select_image
from ppgcomp.elfsize.buildconfig import find_config, regions_from_config
from ppgcomp.elfsize.components import DESCRIPTIONS
from ppgcomp.elfsize.errors import InputError
from ppgcomp.elfsize.loader import ELFTOOLS_ERRORS, load_elf
from ppgcomp.elfsize.memory import FLASH, RAM, RegionSpec, measure
from ppgcomp.elfsize.outputs import write_outputs
from ppgcomp.elfsize.report import build_report, diff, load_baseline, render_markdown, report_json

log = logging.getLogger("ppgcomp.elfsize")

EXIT_OK = 0
EXIT_OVER_BUDGET = 1
EXIT_BAD_INPUT = 2

PROG = "elf_size.py"


def build_parser() -> argparse.ArgumentParser:
    components = "\n".join(f"  {name:<13} {text}" for name, text in DESCRIPTIONS.items())
    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Flash and RAM use of a linked firmware ELF (e.g. build/zephyr/zephyr.elf), as GNU ld's "
                    "--print-memory-usage counts it, split by component, and checked against a size budget.",
        epilog="components:\n" + components + "\n\n"
               "exit status: 0 within budget (or no --budget), 1 over budget (a table names each overrun and\n"
               "by how many bytes), 2 bad input (missing, non-ELF, truncated or host ELF; a malformed section\n"
               "table, e.g. a bad section name index or overlapping allocated sections; bad budget or\n"
               "baseline; a --json/--markdown file that cannot be written). On exit 2 no output file is\n"
               "written: --json and --markdown are written together, each replaced only when all are ready.\n"
               "A stripped ELF still gives totals; attribution is then marked unavailable.",
    )
    parser.add_argument("elf", type=Path, metavar="ELF", help="linked 32-bit firmware image (zephyr.elf)")
    parser.add_argument("--budget", type=Path, metavar="FILE",
                        help="YAML budget file with per-image flash/RAM totals and component limits "
                             "(e.g. app/budgets.yaml)")
    parser.add_argument("--board", metavar="NAME",
                        help="image key in the budget file: <board> for the app core image, <board>/<image> for "
                             "another sysbuild image, e.g. nrf5340dk_nrf5340_cpuapp/hci_ipc (optional when the "
                             "file holds one image)")
    config = parser.add_mutually_exclusive_group()
    config.add_argument("--config", type=Path, metavar="FILE",
                        help="the build's Kconfig output (zephyr/.config) from which to take the linker's FLASH and "
                             "RAM regions (default: the .config beside the ELF, if any); an MCUboot slot0 image "
                             "is then measured from the start of its slot")
    config.add_argument("--no-config", action="store_true",
                        help="ignore a .config beside the ELF (regions from the budget, else from the sections)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the full report as JSON to OUT")
    parser.add_argument("--markdown", type=Path, metavar="OUT", help="write the report as Markdown to OUT")
    parser.add_argument("--baseline", type=Path, metavar="JSON",
                        help="earlier JSON report: show the growth of the totals and of each component")
    parser.add_argument("--top", type=int, default=15, metavar="N", help="largest symbols to list (default 15)")
    parser.add_argument("--no-dwarf", action="store_true",
                        help="ignore DWARF debug info; attribute by symbol and section names only")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on stdout unless over budget")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more diagnostics on stderr (-vv: debug)")
    return parser


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s: %(message)s"))
    root = logging.getLogger("ppgcomp")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _regions(args: argparse.Namespace, budget: ImageBudget | None) -> dict[str, RegionSpec]:
    """The regions to measure against: the build's .config over the budget's ``regions``."""
    regions = dict(budget.regions) if budget else {}
    config = None if args.no_config else (args.config or find_config(args.elf))
    if config is None:
        return regions
    for name, spec in regions_from_config(config).items():
        old = regions.get(name)
        if old is not None and old != spec:
            log.warning("%s region: budget says origin %#x size %d, the build (%s) %#x size %d; using the build's",
                        name, old.origin, old.size, config, spec.origin, spec.size)
        regions[name] = spec
    log.info("regions from %s: %s", config,
             ", ".join(f"{n} {r.origin:#x}+{r.size:#x}" for n, r in sorted(regions.items())))
    return regions


def run(args: argparse.Namespace) -> int:
    budget: ImageBudget | None = None
    if args.budget is not None:
        budget = select_image(load_budgets(args.budget), args.board, args.budget)
    elif args.board is not None:
        log.warning("--board %s given without --budget; no limits are checked", args.board)
    baseline = load_baseline(args.baseline) if args.baseline is not None else None
    if args.top < 0:
        raise InputError("--top must not be negative")

    loaded = load_elf(args.elf)
    regions = _regions(args, budget)
    usage = measure(loaded, regions or None)
    attribution = attribute(loaded, usage, use_dwarf=not args.no_dwarf)
    if not attribution.available:
        log.warning("%s: %s; totals only, component limits not checked", args.elf, attribution.reason)
    used = {FLASH: usage.flash.used, RAM: usage.ram.used}
    overruns = check(budget, used, attribution.components if attribution.available else None) if budget else []

    report = build_report(loaded, usage, attribution, budget, overruns, args.top)
    growth = diff(baseline, report) if baseline is not None else None
    markdown = render_markdown(report, growth)
    outputs: list[tuple[Path, str]] = []
    if args.json is not None:
        outputs.append((args.json, report_json(report)))
    if args.markdown is not None:
        outputs.append((args.markdown, markdown))
    write_outputs(outputs)  # all or nothing: a failure leaves no new or partial file
    if not args.quiet or overruns:
        print(markdown)
    if overruns:
        for o in overruns:
            log.error("over budget: %s %s uses %d bytes, limit %d, over by %d bytes", o.scope, o.region, o.used,
                      o.limit, o.over)
        return EXIT_OVER_BUDGET
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return run(args)
    except InputError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ELFTOOLS_ERRORS as exc:  # pyelftools met damage that the loader's checks let through
        log.debug("pyelftools failed", exc_info=True)
        print(f"{PROG}: error: {args.elf}: truncated or corrupt ELF ({type(exc).__name__}: {exc})".splitlines()[0],
              file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # the contract is one line on stderr, never a traceback
        log.debug("internal error", exc_info=True)
        print(f"{PROG}: error: cannot analyse {args.elf}: {type(exc).__name__}: {exc} (run with -vv for details)"
              .splitlines()[0], file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
