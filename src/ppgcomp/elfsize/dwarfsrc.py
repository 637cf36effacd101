"""Source files of symbols from DWARF: which compile unit defines the code or data at an address.

* Code: the address ranges of each compile unit (``.debug_aranges``, else the CU's ``DW_AT_low_pc`` /
  ``DW_AT_high_pc`` / ``DW_AT_ranges``).
* Data: the CU-level ``DW_TAG_variable`` entries whose ``DW_AT_location`` is a plain address
  (``DW_OP_addr``). Only the top level of each CU is read, skipping subtrees by ``DW_AT_sibling``, which
  keeps this fast on a full Zephyr image.

The CU's name (``DW_AT_name`` joined to ``DW_AT_comp_dir``) is the source file: that is the object file the
linker took the symbol from, which is what attribution needs (a ``DW_AT_decl_file`` would often name a
header instead).

Link-time optimisation (GCC ``-flto``): the code and data come from a few ``<artificial>`` compile units
(the LTRANS partitions), while the early debug info keeps one compile unit per source file. For those
units each top-level ``DW_TAG_subprogram`` / ``DW_TAG_variable`` is charged to the source file of the
compile unit holding its ``DW_AT_abstract_origin`` (or ``DW_AT_specification``), one function at a time.
"""

from __future__ import annotations

import bisect
import logging
import posixpath
import struct
from collections.abc import Iterator

from elftools.dwarf.compileunit import CompileUnit
from elftools.dwarf.die import DIE
from elftools.dwarf.dwarfinfo import DWARFInfo

from ppgcomp.elfsize.fastdwarf import FastDwarf, FastDwarfError
from ppgcomp.elfsize.loader import PARSE_ERRORS, LoadedElf

log = logging.getLogger(__name__)

DW_OP_ADDR = 0x03


def _attr_str(die_attrs: dict, name: str) -> str | None:
    attr = die_attrs.get(name)
    if attr is None:
        return None
    value = attr.value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _cu_path(cu: CompileUnit) -> str | None:
    top = cu.get_top_DIE()
    return _join(_attr_str(top.attributes, "DW_AT_name"), _attr_str(top.attributes, "DW_AT_comp_dir"))


def _join(name: str | None, comp_dir: str | None) -> str | None:
    if not name:
        return None
    if comp_dir and not posixpath.isabs(name) and name[1:3] != ":\\":
        name = posixpath.join(comp_dir, name)
    return posixpath.normpath(name.replace("\\", "/"))


class SourceIndex:
    """Maps addresses to the source file of the compile unit that defines them."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ranges: list[tuple[int, int, str]] = []
        self._data: dict[int, str] = {}
        self._basenames: dict[str, str | None] = {}
        self.units = 0

    @property
    def empty(self) -> bool:
        return not self._ranges and not self._data

    def add_range(self, start: int, end: int, path: str) -> None:
        if end > start and not is_lto_partition(path):
            self._ranges.append((start, end, path))

    def add_data(self, addr: int, path: str) -> None:
        if not is_lto_partition(path):
            self._data.setdefault(addr, path)

    def finish(self) -> None:
        self._ranges.sort()
        self._starts = [r[0] for r in self._ranges]
        for path in {r[2] for r in self._ranges} | set(self._data.values()):
            base = posixpath.basename(path)
            self._basenames[base] = None if base in self._basenames else path

    def by_basename(self, name: str) -> str | None:
        """The one compile unit whose source file has this basename (None if none or ambiguous)."""
        return self._basenames.get(posixpath.basename(name))

    def lookup(self, addr: int, is_code: bool) -> str | None:
        if not is_code and addr in self._data:
            return self._data[addr]
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0:
            start, end, path = self._ranges[i]
            if start <= addr < end:
                return path
        return self._data.get(addr)


LTO_PARTITION_NAME = "<artificial>"


def is_lto_partition(path: str | None) -> bool:
    """True for the compile unit of an LTO partition (GCC names it ``<artificial>``)."""
    return bool(path) and posixpath.basename(path) == LTO_PARTITION_NAME


def _origin_offset(die) -> int | None:
    for name in ("DW_AT_abstract_origin", "DW_AT_specification"):
        attr = die.attributes.get(name)
        if attr is None:
            continue
        if attr.form == "DW_FORM_ref_addr":
            return int(attr.value)
        return int(attr.value) + die.cu.cu_offset
    return None


def _lto_index(loaded: LoadedElf, paths: dict[int, str | None], index: SourceIndex, with_data: bool) -> None:
    """Charge the functions and variables of LTO partitions to the source files they came from."""
    cu_offsets = sorted(paths)
    dwarf = loaded.elf.get_dwarf_info(relocate_dwarf_sections=False)
    for cu in dwarf.iter_CUs():
        if not is_lto_partition(paths.get(cu.cu_offset)):
            continue
        little = cu.dwarfinfo.config.little_endian
        for die in _top_children(cu):
            if die.tag not in ("DW_TAG_subprogram", "DW_TAG_variable"):
                continue
            origin = _origin_offset(die)
            if origin is None:
                continue
            i = bisect.bisect_right(cu_offsets, origin) - 1
            path = paths.get(cu_offsets[i]) if i >= 0 else None
            if not path or is_lto_partition(path):
                continue
            attrs = die.attributes
            if die.tag == "DW_TAG_subprogram":
                if "DW_AT_low_pc" in attrs and "DW_AT_high_pc" in attrs:
                    low = attrs["DW_AT_low_pc"].value
                    high = attrs["DW_AT_high_pc"]
                    end = high.value if high.form == "DW_FORM_addr" else low + high.value
                    index.add_range(low, end, path)
                elif "DW_AT_ranges" in attrs:
                    for start, end in _die_ranges(dwarf, die):
                        index.add_range(start, end, path)
            elif with_data:
                loc = attrs.get("DW_AT_location")
                if loc is None or not isinstance(loc.value, list) or not loc.value or loc.value[0] != DW_OP_ADDR:
                    continue
                raw = loc.value[1:1 + cu["address_size"]]
                if len(raw) == cu["address_size"]:
                    index.add_data(int.from_bytes(bytes(raw), "little" if little else "big"), path)


def _die_ranges(dwarf: DWARFInfo, die) -> list[tuple[int, int]]:
    range_lists = dwarf.range_lists()
    if range_lists is None:
        return []
    base = die.cu.get_top_DIE().attributes.get("DW_AT_low_pc")
    base = base.value if base is not None else 0
    out = []
    for entry in range_lists.get_range_list_at_offset(die.attributes["DW_AT_ranges"].value, cu=die.cu):
        if hasattr(entry, "begin_offset"):
            out.append((base + entry.begin_offset, base + entry.end_offset))
        elif hasattr(entry, "base_address"):
            base = entry.base_address
    return out


def _cu_ranges(dwarf: DWARFInfo, cu: CompileUnit) -> list[tuple[int, int]]:
    top = cu.get_top_DIE()
    attrs = top.attributes
    if "DW_AT_low_pc" in attrs and "DW_AT_high_pc" in attrs:
        low = attrs["DW_AT_low_pc"].value
        high = attrs["DW_AT_high_pc"]
        end = high.value if high.form == "DW_FORM_addr" else low + high.value
        return [(low, end)]
    if "DW_AT_ranges" in attrs:
        range_lists = dwarf.range_lists()
        if range_lists is None:
            return []
        base = attrs["DW_AT_low_pc"].value if "DW_AT_low_pc" in attrs else 0
        out = []
        for entry in range_lists.get_range_list_at_offset(attrs["DW_AT_ranges"].value, cu=cu):
            if hasattr(entry, "begin_offset"):
                out.append((base + entry.begin_offset, base + entry.end_offset))
            elif hasattr(entry, "base_address"):
                base = entry.base_address
        return out
    return []


def _top_children(cu: CompileUnit) -> Iterator[DIE]:
    """The top-level DIEs of ``cu``. pyelftools follows ``DW_AT_sibling`` wherever it points, so a damaged
    one (backwards, or out of the unit) would loop for ever: that raises ValueError (DWARF unreadable)."""
    end = cu.cu_offset + cu.size
    last = -1
    for die in cu.get_top_DIE().iter_children():
        if not last < die.offset < end:
            raise ValueError(f"DW_AT_sibling leads to offset 0x{die.offset:x}, outside the rest of its unit")
        last = die.offset
        yield die


def _variables(cu: CompileUnit, path: str, index: SourceIndex) -> None:
    for die in _top_children(cu):
        if die.tag != "DW_TAG_variable":
            continue
        loc = die.attributes.get("DW_AT_location")
        if loc is None or not isinstance(loc.value, list) or not loc.value or loc.value[0] != DW_OP_ADDR:
            continue
        raw = loc.value[1:1 + cu["address_size"]]
        if len(raw) == cu["address_size"]:
            index.add_data(int.from_bytes(bytes(raw), "little" if cu.dwarfinfo.config.little_endian else "big"),
                           path)


def _section_bytes(loaded: LoadedElf, names: tuple[str, ...]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for name in names:
        sec = loaded.elf.get_section_by_name(name)
        if sec is None:
            continue
        if sec["sh_flags"] & 0x800:  # SHF_COMPRESSED
            raise FastDwarfError(f"{name} is compressed")
        out[name] = loaded.data[sec["sh_offset"]:sec["sh_offset"] + sec["sh_size"]]
    return out


def _fast_index(loaded: LoadedElf, with_data: bool) -> tuple[SourceIndex, dict[int, str | None]]:
    sections = _section_bytes(loaded, (".debug_info", ".debug_abbrev", ".debug_str", ".debug_line_str",
                                       ".debug_aranges"))
    reader = FastDwarf(sections, loaded.elf.little_endian)
    index = SourceIndex()
    paths: dict[int, str | None] = {}
    for cu_off, name, comp_dir, variables in reader.iter_units():
        index.units += 1
        path = _join(name, comp_dir)
        paths[cu_off] = path
        if path and with_data:
            for addr in variables:
                index.add_data(addr, path)
    aranges = reader.aranges()
    if aranges is None:
        raise FastDwarfError("no .debug_aranges")
    for start, length, cu_off in aranges:
        path = paths.get(cu_off)
        if path:
            index.add_range(start, start + length, path)
    return index, paths


def build_source_index(loaded: LoadedElf, with_data: bool = True) -> SourceIndex | None:
    """Index the image's DWARF, or return None when it has none (or it cannot be read)."""
    elf = loaded.elf
    if not elf.has_dwarf_info() or elf.get_section_by_name(".debug_info") is None:
        return None
    try:
        index, paths = _fast_index(loaded, with_data)
        if any(is_lto_partition(p) for p in paths.values()):
            _lto_index(loaded, paths, index, with_data)
        index.finish()
        log.debug("DWARF (fast reader): %d compile units, %d code ranges, %d data addresses", index.units,
                  len(index._ranges), len(index._data))
        return index
    except (FastDwarfError, IndexError, ValueError, KeyError, struct.error) as exc:
        log.debug("fast DWARF reader gave up (%s: %s); using pyelftools", type(exc).__name__, exc)
    index = SourceIndex()
    try:
        dwarf = elf.get_dwarf_info(relocate_dwarf_sections=False)
        aranges = dwarf.get_aranges()
        paths: dict[int, str | None] = {}
        for cu in dwarf.iter_CUs():
            index.units += 1
            path = _cu_path(cu)
            paths[cu.cu_offset] = path
            if path is None:
                continue
            if aranges is None:
                for start, end in _cu_ranges(dwarf, cu):
                    index.add_range(start, end, path)
            if with_data:
                _variables(cu, path, index)
        if aranges is not None:
            for entry in aranges.entries:
                path = paths.get(entry.info_offset)
                if path:
                    index.add_range(entry.begin_addr, entry.begin_addr + entry.length, path)
        if any(is_lto_partition(p) for p in paths.values()):
            _lto_index(loaded, paths, index, with_data)
    except PARSE_ERRORS as exc:
        log.warning("DWARF unreadable (%s: %s); attributing by symbol names only", type(exc).__name__, exc)
        return None
    index.finish()
    log.debug("DWARF: %d compile units, %d code ranges, %d data addresses", index.units, len(index._ranges),
              len(index._data))
    return index
