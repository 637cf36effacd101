"""Size budgets: load and validate the YAML budget file, pick an image's budget, list the overruns.

File format (see ``app/budgets.yaml``)::

    images:
      nrf5340dk_nrf5340_cpuapp:            # image key: <board> for the app, <board>/<image> for others
        flash: 256K                        # total limits: bytes as an integer, or 256K / 256 KiB / 1M / 0x40000
        ram: 64K
        regions:                           # optional: the linker's MEMORY regions, for ld-exact origins
          flash: {origin: 0x0, size: 1M}
          ram: {origin: 0x20000000, size: 448K}
        components:                        # optional per-component limits, each flash and/or ram
          model: {flash: 130K}
          arena: {ram: 4K}

Component names are those of :data:`ppgcomp.elfsize.components.ALL_COMPONENTS`; any other name is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ppgcomp.elfsize.components import ALL_COMPONENTS, COMPONENTS
from ppgcomp.elfsize.errors import InputError
from ppgcomp.elfsize.memory import REGIONS, RegionSpec

_SIZE_RE = re.compile(r"^\s*(\d+)\s*(k|kb|kib|m|mb|mib)?\s*$", re.IGNORECASE)
_UNITS = {None: 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20}
_IMAGE_KEYS = {"flash", "ram", "regions", "components", "description"}


@dataclass(frozen=True)
class Limits:
    """Byte limits for flash and RAM; None means no limit."""

    flash: int | None = None
    ram: int | None = None

    def get(self, region: str) -> int | None:
        return self.flash if region == "flash" else self.ram


@dataclass
class ImageBudget:
    """The budget of one image (one board / sysbuild image)."""

    key: str
    totals: Limits
    components: dict[str, Limits] = field(default_factory=dict)
    regions: dict[str, RegionSpec] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class Overrun:
    """One limit exceeded: ``scope`` is ``total`` or a component name."""

    scope: str
    region: str
    used: int
    limit: int

    @property
    def over(self) -> int:
        return self.used - self.limit


def parse_size(value: Any, where: str) -> int:
    """Bytes from an int, or a string such as ``256K``, ``64 KiB``, ``1M`` or ``0x40000``."""
    if isinstance(value, bool):
        raise InputError(f"{where}: expected a size in bytes, got {value!r}")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str):
        text = value.strip()
        if text.lower().startswith("0x"):
            try:
                size = int(text, 16)
            except ValueError:
                raise InputError(f"{where}: bad size {value!r}") from None
        else:
            match = _SIZE_RE.match(text)
            if not match:
                raise InputError(f"{where}: bad size {value!r} (use bytes, or e.g. 256K, 64 KiB, 1M, 0x40000)")
            unit = match.group(2).lower() if match.group(2) else None
            size = int(match.group(1)) * _UNITS[unit]
    else:
        raise InputError(f"{where}: expected a size in bytes, got {value!r}")
    if size < 0:
        raise InputError(f"{where}: size must not be negative ({value!r})")
    return size


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _limits(value: Any, where: str) -> Limits:
    data = _mapping(value, where)
    unknown = set(data) - set(REGIONS)
    if unknown:
        raise InputError(f"{where}: unknown key {min(unknown)!r} (expected flash and/or ram)")
    return Limits(flash=parse_size(data["flash"], f"{where}.flash") if data.get("flash") is not None else None,
                  ram=parse_size(data["ram"], f"{where}.ram") if data.get("ram") is not None else None)


def _image(key: str, value: Any, where: str) -> ImageBudget:
    data = _mapping(value, where)
    unknown = set(data) - _IMAGE_KEYS
    if unknown:
        raise InputError(f"{where}: unknown key {min(unknown)!r} (expected one of {sorted(_IMAGE_KEYS)})")
    totals = _limits({r: data.get(r) for r in REGIONS}, where)
    components: dict[str, Limits] = {}
    for name, limits in _mapping(data.get("components") or {}, f"{where}.components").items():
        if name not in ALL_COMPONENTS:
            raise InputError(f"{where}.components: unknown component {name!r} "
                             f"(known: {', '.join(ALL_COMPONENTS)})")
        components[name] = _limits(limits, f"{where}.components.{name}")
    regions: dict[str, RegionSpec] = {}
    for name, spec in _mapping(data.get("regions") or {}, f"{where}.regions").items():
        if name not in REGIONS:
            raise InputError(f"{where}.regions: unknown region {name!r} (expected flash and/or ram)")
        spec = _mapping(spec, f"{where}.regions.{name}")
        if "origin" not in spec or "size" not in spec:
            raise InputError(f"{where}.regions.{name}: needs both origin and size")
        regions[name] = RegionSpec(parse_size(spec["origin"], f"{where}.regions.{name}.origin"),
                                   parse_size(spec["size"], f"{where}.regions.{name}.size"))
    return ImageBudget(key=key, totals=totals, components=components, regions=regions,
                       description=str(data.get("description") or ""))


def load_budgets(path: str | Path) -> dict[str, ImageBudget]:
    """Read and validate a budget file; raise :class:`InputError` with a one-line reason if it is bad."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such budget file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read budget file: {exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise InputError(f"{path}: malformed YAML{where}: {problem}") from None
    doc = _mapping(doc, f"{path}")
    if set(doc) - {"images"}:
        raise InputError(f"{path}: unknown top-level key {min(set(doc) - {'images'})!r} "
                         "(expected 'images')")
    images = _mapping(doc.get("images"), f"{path}: images")
    if not images:
        raise InputError(f"{path}: 'images' is empty")
    return {str(key): _image(str(key), value, f"{path}: images.{key}") for key, value in images.items()}


def select_image(budgets: dict[str, ImageBudget], board: str | None, source: str | Path) -> ImageBudget:
    """The budget for ``board`` (an image key); with one image in the file, ``board`` may be omitted."""
    if board is None:
        if len(budgets) == 1:
            return next(iter(budgets.values()))
        raise InputError(f"{source}: holds several images ({', '.join(budgets)}); choose one with --board")
    if board in budgets:
        return budgets[board]
    raise InputError(f"{source}: no budget for --board {board!r} (images: {', '.join(budgets)})")


def check(budget: ImageBudget, used: dict[str, int], components: dict[str, dict[str, int]] | None) -> list[Overrun]:
    """All limits of ``budget`` that the usage exceeds; component limits only when attribution is available."""
    overruns: list[Overrun] = []
    for region in REGIONS:
        limit = budget.totals.get(region)
        if limit is not None and used[region] > limit:
            overruns.append(Overrun("total", region, used[region], limit))
    if components is None:
        return overruns
    for name in (*COMPONENTS, *sorted(set(budget.components) - set(COMPONENTS))):
        limits = budget.components.get(name)
        if limits is None:
            continue
        for region in REGIONS:
            limit = limits.get(region)
            value = components.get(name, {}).get(region, 0)
            if limit is not None and value > limit:
                overruns.append(Overrun(name, region, value, limit))
    return overruns
