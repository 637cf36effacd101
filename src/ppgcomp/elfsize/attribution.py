"""Attribute every byte of flash and RAM to a component, symbol by symbol.

Sized ``FUNC`` and ``OBJECT`` symbols (plus sized ``NOTYPE`` ones) of the allocated sections are walked in
address order per section; aliases (same address) are counted once, and overlaps only once. Each symbol
gets a component from :mod:`ppgcomp.elfsize.components` (generated name, DWARF source path, symbol name,
section name). Bytes of a section that no symbol covers (string literals, padding, linker tables) go to the
section's rule or ``unattributed``; so do the gaps between sections that ld counts in "Used Size". The
components of a region therefore add up to its ``used`` figure exactly.

Without a symbol table (a stripped image) attribution is unavailable: everything is ``unattributed``.
"""

from __future__ import annotations

import logging
import struct
from collections import defaultdict
from dataclasses import dataclass, field

from elftools.elf.sections import SymbolTableSection

from ppgcomp.elfsize import components as C
from ppgcomp.elfsize.dwarfsrc import SourceIndex, build_source_index
from ppgcomp.elfsize.errors import InputError
from ppgcomp.elfsize.loader import LoadedElf
from ppgcomp.elfsize.memory import FLASH, RAM, MemoryUsage, Section
from ppgcomp.elfsize.references import Hole, attribute_by_reference

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SymbolUse:
    """One symbol's share of flash and RAM."""

    name: str
    address: int
    size: int
    section: str
    component: str
    flash: int
    ram: int
    source: str | None
    rule: str


@dataclass
class Attribution:
    """Per-component totals for flash and RAM, and the symbols behind them."""

    available: bool
    components: dict[str, dict[str, int]]
    symbols: list[SymbolUse] = field(default_factory=list)
    dwarf: bool = False
    reason: str = ""

    def largest(self, count: int) -> list[SymbolUse]:
        return sorted(self.symbols, key=lambda s: (-(s.flash + s.ram), s.name))[:count]


def _empty_components() -> dict[str, dict[str, int]]:
    return {comp: {FLASH: 0, RAM: 0} for comp in C.ALL_COMPONENTS}


@dataclass(frozen=True)
class _RawSymbol:
    name: str
    address: int
    size: int
    shndx: int
    is_code: bool
    file: str | None = None  # for local symbols: the STT_FILE entry they follow (source basename)


_ELF32_SYM = struct.Struct("IIIBBH")
_STT = {0: "STT_NOTYPE", 1: "STT_OBJECT", 2: "STT_FUNC"}
_SHN_LORESERVE = 0xFF00
_STT_FILE = 4
_STB_LOCAL = 0


def _read_symbols(loaded: LoadedElf) -> list[_RawSymbol] | None:
    """Sized symbols of ``.symtab`` (read with ``struct``: pyelftools is slow on tens of thousands)."""
    symtab = loaded.elf.get_section_by_name(".symtab")
    if not isinstance(symtab, SymbolTableSection):
        return None
    strtab = loaded.elf.get_section(symtab["sh_link"])
    data = loaded.data
    str_off = strtab["sh_offset"]
    str_end = str_off + strtab["sh_size"]
    fmt = struct.Struct(("<" if loaded.elf.little_endian else ">") + "IIIBBH")
    start, size = symtab["sh_offset"], symtab["sh_size"]
    entsize = symtab["sh_entsize"] or fmt.size
    if entsize != fmt.size:
        raise InputError(f"{loaded.path}: unexpected symbol table entry size {entsize}")
    thumb = loaded.machine == "EM_ARM"
    out: list[_RawSymbol] = []
    current_file: str | None = None
    for st_name, value, sym_size, info, _other, shndx in fmt.iter_unpack(data[start:start + size - size % entsize]):
        kind = _STT.get(info & 0xF)
        is_file = info & 0xF == _STT_FILE
        if not is_file and (sym_size == 0 or kind is None or shndx == 0 or shndx >= _SHN_LORESERVE):
            continue
        name_end = data.find(b"\0", str_off + st_name, str_end)
        name = data[str_off + st_name:name_end if name_end >= 0 else str_end].decode("utf-8", "replace")
        if is_file:
            current_file = name or None
            continue
        is_code = kind == "STT_FUNC"
        if is_code and thumb:
            value &= ~1
        local = info >> 4 == _STB_LOCAL
        out.append(_RawSymbol(name, value, sym_size, shndx, is_code, current_file if local else None))
    return out


def _classify(sym: _RawSymbol, section: Section, index: SourceIndex | None) -> tuple[str, str | None, str]:
    comp = C.component_for_generated(sym.name)
    if comp:
        return comp, None, "generated name"
    source = index.lookup(sym.address, sym.is_code) if index else None
    if source:
        return C.component_for_path(source), source, "dwarf"
    source = index.by_basename(sym.file) if index and sym.file else None
    if source:
        return C.component_for_path(source), source, "dwarf (file symbol)"
    comp = C.component_for_name(sym.name)
    if comp:
        return comp, None, "symbol name"
    comp = C.component_for_section(section.name)
    if comp:
        return comp, None, "section name"
    return C.UNATTRIBUTED, None, "none"


def _charge(totals: dict[str, dict[str, int]], comp: str, section: Section, nbytes: int) -> tuple[int, int]:
    flash = nbytes if section.in_flash else 0
    ram = nbytes if section.in_ram else 0
    totals[comp][FLASH] += flash
    totals[comp][RAM] += ram
    return flash, ram


def attribute(loaded: LoadedElf, usage: MemoryUsage, use_dwarf: bool = True) -> Attribution:
    """Split the image's flash and RAM use between the components."""
    totals = _empty_components()
    symbols = _read_symbols(loaded)
    counted = [s for s in usage.sections if s.in_flash or s.in_ram]
    if symbols is None:
        for sec in counted:
            _charge(totals, C.UNATTRIBUTED, sec, sec.size)
        _charge_gaps(totals, usage)
        return Attribution(available=False, components=totals,
                           reason="no symbol table (stripped ELF); attribution unavailable")
    index = build_source_index(loaded) if use_dwarf else None
    by_section: dict[int, list[_RawSymbol]] = defaultdict(list)
    for sym in symbols:
        by_section[sym.shndx].append(sym)
    uses: list[SymbolUse] = []
    holes: list[Hole] = []
    for sec in counted:
        cursor = sec.vma
        sec_end = sec.vma + sec.size
        for sym in sorted(by_section.get(sec.index, []), key=lambda s: (s.address, -s.size, s.name)):
            start = max(sym.address, cursor)
            end = min(sym.address + sym.size, sec_end)
            if end <= start:
                continue
            if start > cursor:
                holes.append(Hole(sec, cursor, start))
            comp, source, rule = _classify(sym, sec, index)
            flash, ram = _charge(totals, comp, sec, end - start)
            uses.append(SymbolUse(sym.name, sym.address, sym.size, sec.name, comp, flash, ram, source, rule))
            cursor = end
        if sec_end > cursor:
            holes.append(Hole(sec, cursor, sec_end))
    by_rule = [h for h in holes if C.component_for_section(h.section.name)]
    for hole in by_rule:
        _charge(totals, C.component_for_section(hole.section.name) or C.UNATTRIBUTED, hole.section, hole.size)
    open_holes = [h for h in holes if not C.component_for_section(h.section.name)]
    for hole, comp, nbytes in attribute_by_reference(loaded, open_holes, uses):
        _charge(totals, comp, hole.section, nbytes)
    _charge_gaps(totals, usage)
    if index is None:
        log.info("no DWARF debug info; attributing by symbol and section names")
    return Attribution(available=True, components=totals, symbols=uses, dwarf=index is not None)


def _charge_gaps(totals: dict[str, dict[str, int]], usage: MemoryUsage) -> None:
    """Alignment gaps between sections: counted by ld's Used Size, owned by no section."""
    for region in (FLASH, RAM):
        total = usage.region(region)
        gap = total.used - total.section_bytes
        if gap > 0:
            totals[C.UNATTRIBUTED][region] += gap
