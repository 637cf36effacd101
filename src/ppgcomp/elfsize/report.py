"""The size report: a JSON document (also the ``--baseline`` input), its Markdown rendering, and the diff.

JSON layout (``schema`` = ``ppgcomp.elfsize/1``)::

    {"schema", "elf", "machine", "image",
     "totals": {"flash": {"used", "section_bytes", "origin", "end", "limit"}, "ram": {...}},
     "sections": [{"name", "vma", "lma", "size", "type", "flash", "ram"}],
     "attribution": {"available", "dwarf", "reason"},
     "components": {"model": {"flash", "ram"}, ...},       # sums to totals.*.used
     "largest_symbols": [{"name", "address", "size", "component", "section", "flash", "ram", "source",
                          "rule"}],
     "budget": {"image", "ok", "overruns": [{"scope", "region", "used", "limit", "over"}]} | null}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ppgcomp.elfsize.attribution import Attribution
from ppgcomp.elfsize.budget import ImageBudget, Overrun
from ppgcomp.elfsize.components import ALL_COMPONENTS
from ppgcomp.elfsize.errors import InputError
from ppgcomp.elfsize.loader import LoadedElf
from ppgcomp.elfsize.memory import REGIONS, MemoryUsage
from ppgcomp.elfsize.outputs import write_outputs

SCHEMA = "ppgcomp.elfsize/1"


def build_report(loaded: LoadedElf, usage: MemoryUsage, attribution: Attribution, budget: ImageBudget | None,
                 overruns: list[Overrun], top: int) -> dict[str, Any]:
    totals: dict[str, Any] = {}
    for region in REGIONS:
        total = usage.region(region)
        totals[region] = {"used": total.used, "section_bytes": total.section_bytes, "origin": total.origin,
                          "end": total.end, "region_size": total.size,
                          "limit": budget.totals.get(region) if budget else None}
    return {
        "schema": SCHEMA,
        "elf": str(loaded.path),
        "machine": loaded.machine,
        "image": budget.key if budget else None,
        "totals": totals,
        "sections": [{"name": s.name, "vma": s.vma, "lma": s.lma, "size": s.size,
                      "type": "NOBITS" if s.nobits else "PROGBITS", "flash": s.in_flash, "ram": s.in_ram}
                     for s in usage.sections if s.size],
        "attribution": {"available": attribution.available, "dwarf": attribution.dwarf,
                        "reason": attribution.reason},
        "components": {c: dict(v) for c, v in attribution.components.items()},
        "largest_symbols": [{"name": s.name, "address": s.address, "size": s.size, "component": s.component, "section": s.section, "flash": s.flash,
                             "ram": s.ram, "source": s.source, "rule": s.rule}
                            for s in attribution.largest(top)],
        "budget": None if budget is None else {
            "image": budget.key, "ok": not overruns,
            "overruns": [{"scope": o.scope, "region": o.region, "used": o.used, "limit": o.limit, "over": o.over}
                         for o in overruns]},
    }


def report_json(report: dict[str, Any]) -> str:
    """The JSON text of a report, as ``--json`` writes it."""
    return json.dumps(report, indent=2, sort_keys=False) + "\n"


def write_json(report: dict[str, Any], path: str | Path) -> None:
    """Write the report as JSON to ``path``, atomically (see :mod:`ppgcomp.elfsize.outputs`)."""
    write_outputs([(Path(path), report_json(report))])


def load_baseline(path: str | Path) -> dict[str, Any]:
    """Read an earlier JSON report; raise :class:`InputError` if it is not one."""
    path = Path(path)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such baseline file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: baseline is not a JSON report ({exc})".splitlines()[0]) from None
    ok = isinstance(doc, dict) and doc.get("schema") == SCHEMA and isinstance(doc.get("totals"), dict) \
        and isinstance(doc.get("components"), dict)
    if not ok:
        raise InputError(f"{path}: baseline is not an elf_size JSON report (schema {SCHEMA})")
    return doc


@dataclass(frozen=True)
class Growth:
    """Change of one figure against the baseline."""

    scope: str
    region: str
    before: int | None
    after: int

    @property
    def delta(self) -> int:
        return self.after - (self.before or 0)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def diff(baseline: dict[str, Any], report: dict[str, Any]) -> list[Growth]:
    """Growth of the totals and of each component, region by region."""
    rows: list[Growth] = []
    for region in REGIONS:
        before = _int_or_none((baseline["totals"].get(region) or {}).get("used"))
        rows.append(Growth("total", region, before, report["totals"][region]["used"]))
    for comp in ALL_COMPONENTS:
        for region in REGIONS:
            before = _int_or_none((baseline["components"].get(comp) or {}).get(region))
            after = report["components"][comp][region]
            rows.append(Growth(comp, region, before, after))
    return rows


def _kib(n: int | None) -> str:
    return "-" if n is None else f"{n / 1024:.1f} KiB"


def _signed(n: int) -> str:
    return f"{n:+d}"


def render_markdown(report: dict[str, Any], growth: list[Growth] | None = None) -> str:
    lines = [f"# Size report: `{report['elf']}`", ""]
    if report["image"]:
        lines += [f"Budget image: `{report['image']}`", ""]
    lines += [("| Region | Used (bytes) | Used | Sections sum (bytes) | Limit | % of limit | Region start | "
              "Region size | % of region |"),
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for region in REGIONS:
        t = report["totals"][region]
        pct = f"{100 * t['used'] / t['limit']:.1f}%" if t["limit"] else "-"
        size = t.get("region_size")
        origin = "-" if t["origin"] is None else f"{t['origin']:#x}"
        of_region = f"{100 * t['used'] / size:.1f}%" if size else "-"
        lines.append(f"| {region} | {t['used']} | {_kib(t['used'])} | {t['section_bytes']} | "
                     f"{t['limit'] if t['limit'] is not None else '-'} | {pct} | {origin} | "
                     f"{size if size is not None else '-'} | {of_region} |")
    lines.append("")
    attrib = report["attribution"]
    if not attrib["available"]:
        lines += [f"Attribution unavailable: {attrib['reason']}.", ""]
    else:
        flash_used = report["totals"]["flash"]["used"] or 1
        lines += ["## Components", "", "| Component | Flash (bytes) | RAM (bytes) | % of flash |",
                  "|---|---:|---:|---:|"]
        for comp, v in report["components"].items():
            lines.append(f"| {comp} | {v['flash']} | {v['ram']} | {100 * v['flash'] / flash_used:.1f}% |")
        lines += ["", "## Largest symbols", "", "| Symbol | Component | Section | Flash | RAM | Source |",
                  "|---|---|---|---:|---:|---|"]
        for s in report["largest_symbols"]:
            lines.append(f"| `{s['name']}` | {s['component']} | {s['section']} | {s['flash']} | {s['ram']} | "
                         f"{s['source'] or '(' + s['rule'] + ')'} |")
        lines.append("")
    budget = report["budget"]
    if budget is not None:
        if budget["ok"]:
            lines += [f"Within budget for `{budget['image']}`.", ""]
        else:
            lines += ["## Over budget", "", "| Scope | Region | Used | Limit | Over by (bytes) |",
                      "|---|---|---:|---:|---:|"]
            for o in budget["overruns"]:
                lines.append(f"| {o['scope']} | {o['region']} | {o['used']} | {o['limit']} | {o['over']} |")
            lines.append("")
    if growth is not None:
        lines += ["## Growth against baseline", "", "| Scope | Region | Before | After | Change (bytes) |",
                  "|---|---|---:|---:|---:|"]
        for g in growth:
            if g.before == g.after and g.scope != "total":
                continue
            before = "-" if g.before is None else str(g.before)
            lines.append(f"| {g.scope} | {g.region} | {before} | {g.after} | {_signed(g.delta)} |")
        lines.append("")
    return "\n".join(lines)
