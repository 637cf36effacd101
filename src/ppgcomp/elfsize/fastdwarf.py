"""A small, fast reader of just the DWARF that attribution needs (pyelftools' general DIE parser is too slow
for a full Zephyr image: it parses every abbreviation table and attribute through ``construct``).

Reads, with ``struct`` and hand-rolled LEB128:

* ``.debug_aranges``: address ranges -> compile unit offset;
* each CU's top DIE: ``DW_AT_name`` and ``DW_AT_comp_dir`` (forms string, strp, line_strp);
* the CU's top-level ``DW_TAG_variable`` DIEs whose ``DW_AT_location`` is ``DW_OP_addr``, skipping every
  other subtree by ``DW_AT_sibling`` (or by walking it when the producer gave none).

DWARF versions 2 to 5, 32- and 64-bit DWARF. Anything it does not understand raises :class:`FastDwarfError`,
and the caller falls back to pyelftools.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

DW_TAG_VARIABLE = 0x34
DW_AT_SIBLING = 0x01
DW_AT_LOCATION = 0x02
DW_AT_NAME = 0x03
DW_AT_COMP_DIR = 0x1B
DW_OP_ADDR = 0x03
DW_FORM_STRING, DW_FORM_STRP, DW_FORM_LINE_STRP = 0x08, 0x0E, 0x1F
DW_FORM_INDIRECT, DW_FORM_IMPLICIT_CONST = 0x16, 0x21
REF_FORMS = {0x11: 1, 0x12: 2, 0x13: 4, 0x14: 8}
DW_FORM_REF_UDATA, DW_FORM_REF_ADDR = 0x15, 0x10
# Fixed sizes; "A" = address size, "O" = offset size (4 or 8), None = variable (handled in _skip).
_FIXED: dict[int, int | str] = {
    0x01: "A", 0x05: 2, 0x06: 4, 0x07: 8, 0x0B: 1, 0x0C: 1, 0x0E: "O", 0x10: "O", 0x11: 1, 0x12: 2, 0x13: 4,
    0x14: 8, 0x17: "O", 0x19: 0, 0x1C: 4, 0x1D: "O", 0x1E: 16, 0x1F: "O", 0x20: 8, 0x21: 0, 0x24: 8,
    0x25: 1, 0x26: 2, 0x27: 3, 0x28: 4, 0x29: 1, 0x2A: 2, 0x2B: 3, 0x2C: 4, 0x1F20: "O", 0x1F21: "O",
}
_ULEB_FORMS = {0x0F, 0x15, 0x1A, 0x1B, 0x22, 0x23, 0x1F01, 0x1F02}
_BLOCK_LEN = {0x03: 2, 0x04: 4, 0x0A: 1}  # block2, block4, block1


class FastDwarfError(Exception):
    """DWARF this reader does not handle; use pyelftools instead."""


def _uleb(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _sleb(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return (result - (1 << shift) if byte & 0x40 else result), pos


def _cstr(buf: bytes, pos: int) -> tuple[bytes, int]:
    end = buf.index(b"\0", pos)
    return buf[pos:end], end + 1


Abbrev = tuple[int, bool, list[tuple[int, int, int]]]  # tag, has children, [(attr, form, implicit const)]


class FastDwarf:
    """Top-level view of ``.debug_info``; ``sections`` maps section names to their bytes."""

    def __init__(self, sections: dict[str, bytes], little_endian: bool) -> None:
        self.info = sections[".debug_info"]
        self.abbrev = sections.get(".debug_abbrev", b"")
        self.str = sections.get(".debug_str", b"")
        self.line_str = sections.get(".debug_line_str", b"")
        self.aranges_data = sections.get(".debug_aranges")
        self.e = "<" if little_endian else ">"
        self._abbrev_cache: dict[int, dict[int, Abbrev]] = {}

    def _uint(self, buf: bytes, pos: int, size: int) -> int:
        if size == 3:
            return int.from_bytes(buf[pos:pos + 3], "little" if self.e == "<" else "big")
        return struct.unpack_from(self.e + {1: "B", 2: "H", 4: "I", 8: "Q"}[size], buf, pos)[0]

    def _abbrevs(self, offset: int) -> dict[int, Abbrev]:
        cached = self._abbrev_cache.get(offset)
        if cached is not None:
            return cached
        table: dict[int, Abbrev] = {}
        buf, pos = self.abbrev, offset
        while True:
            code, pos = _uleb(buf, pos)
            if code == 0:
                break
            tag, pos = _uleb(buf, pos)
            children = buf[pos] != 0
            pos += 1
            attrs: list[tuple[int, int, int]] = []
            while True:
                attr, pos = _uleb(buf, pos)
                form, pos = _uleb(buf, pos)
                if attr == 0 and form == 0:
                    break
                const = 0
                if form == DW_FORM_IMPLICIT_CONST:
                    const, pos = _sleb(buf, pos)
                attrs.append((attr, form, const))
            table[code] = (tag, children, attrs)
        self._abbrev_cache[offset] = table
        return table

    def _value(self, form: int, pos: int, addr_size: int, off_size: int, version: int) -> tuple[object, int]:
        """Read one attribute value: an int, bytes (strings, blocks) or None (not needed); and the new pos."""
        buf = self.info
        if form == DW_FORM_INDIRECT:
            form, pos = _uleb(buf, pos)
        if form == DW_FORM_STRING:
            return _cstr(buf, pos)
        if form in _BLOCK_LEN:
            n = self._uint(buf, pos, _BLOCK_LEN[form])
            pos += _BLOCK_LEN[form]
            return buf[pos:pos + n], pos + n
        if form in (0x09, 0x18):  # block, exprloc
            n, pos = _uleb(buf, pos)
            return buf[pos:pos + n], pos + n
        if form in _ULEB_FORMS:
            return _uleb(buf, pos)
        if form == 0x0D:  # sdata
            return _sleb(buf, pos)
        size = _FIXED.get(form)
        if size is None:
            raise FastDwarfError(f"unsupported DW_FORM 0x{form:x}")
        if size == "A":
            size = addr_size
        elif size == "O":
            size = addr_size if (form == DW_FORM_REF_ADDR and version == 2) else off_size
        assert isinstance(size, int)
        if size == 0:
            return None, pos
        if size > 8:
            return None, pos + size
        return self._uint(buf, pos, size), pos + size

    def _string(self, form: int, value: object) -> str | None:
        if form == DW_FORM_STRING and isinstance(value, bytes):
            raw = value
        elif form == DW_FORM_STRP and isinstance(value, int):
            raw = _cstr(self.str, value)[0]
        elif form == DW_FORM_LINE_STRP and isinstance(value, int):
            raw = _cstr(self.line_str, value)[0]
        else:
            return None
        return raw.decode("utf-8", "replace")

    def iter_units(self) -> Iterator[tuple[int, str | None, str | None, list[int]]]:
        """For each CU: (offset, DW_AT_name, DW_AT_comp_dir, addresses of its top-level variables)."""
        buf, pos = self.info, 0
        while pos < len(buf):
            cu_off = pos
            length = self._uint(buf, pos, 4)
            pos += 4
            off_size = 4
            if length == 0xFFFFFFFF:
                length = self._uint(buf, pos, 8)
                pos += 8
                off_size = 8
            unit_end = pos + length
            version = self._uint(buf, pos, 2)
            pos += 2
            if version >= 5:
                unit_type = buf[pos]
                addr_size = buf[pos + 1]
                abbrev_off = self._uint(buf, pos + 2, off_size)
                pos += 2 + off_size
                if unit_type in (0x04, 0x05):  # skeleton, split_compile: dwo_id
                    pos += 8
                elif unit_type in (0x02, 0x06):  # type, split_type
                    pos += 8 + off_size
            elif version >= 2:
                abbrev_off = self._uint(buf, pos, off_size)
                addr_size = buf[pos + off_size]
                pos += off_size + 1
            else:
                raise FastDwarfError(f"unsupported DWARF version {version}")
            name, comp_dir, variables = self._unit(pos, unit_end, cu_off, addr_size, off_size, version,
                                                   self._abbrevs(abbrev_off))
            yield cu_off, name, comp_dir, variables
            pos = unit_end

    def _unit(self, pos: int, end: int, cu_off: int, addr_size: int, off_size: int, version: int,
              abbrevs: dict[int, Abbrev]) -> tuple[str | None, str | None, list[int]]:
        buf = self.info
        name = comp_dir = None
        variables: list[int] = []
        depth = 0
        while pos < end:
            code, pos = _uleb(buf, pos)
            if code == 0:
                depth -= 1
                if depth <= 0:
                    break
                continue
            try:
                tag, children, attrs = abbrevs[code]
            except KeyError:
                raise FastDwarfError(f"unknown abbreviation {code} in CU at 0x{cu_off:x}") from None
            sibling: int | None = None
            location: bytes | None = None
            for attr, form, _const in attrs:
                value, pos = self._value(form, pos, addr_size, off_size, version)
                if depth == 0:
                    if attr == DW_AT_NAME:
                        name = self._string(form, value)
                    elif attr == DW_AT_COMP_DIR:
                        comp_dir = self._string(form, value)
                elif depth == 1:
                    if attr == DW_AT_SIBLING and isinstance(value, int):
                        if form in REF_FORMS or form == DW_FORM_REF_UDATA:
                            sibling = cu_off + value
                        elif form == DW_FORM_REF_ADDR:
                            sibling = value
                    elif attr == DW_AT_LOCATION and tag == DW_TAG_VARIABLE and isinstance(value, bytes):
                        location = value
            if location and location[0] == DW_OP_ADDR and len(location) >= 1 + addr_size:
                variables.append(self._uint(location, 1, addr_size))
            if depth == 1 and children and sibling is not None and pos < sibling <= end:
                pos = sibling
            elif children:
                depth += 1
        return name, comp_dir, variables

    def aranges(self) -> list[tuple[int, int, int]] | None:
        """(start, length, CU offset) from ``.debug_aranges``, or None when there is no such section."""
        buf = self.aranges_data
        if buf is None:
            return None
        out: list[tuple[int, int, int]] = []
        pos = 0
        while pos < len(buf):
            start = pos
            length = self._uint(buf, pos, 4)
            pos += 4
            off_size = 4
            if length == 0xFFFFFFFF:
                length = self._uint(buf, pos, 8)
                pos += 8
                off_size = 8
            end = pos + length
            pos += 2  # version
            cu_off = self._uint(buf, pos, off_size)
            pos += off_size
            addr_size, seg_size = buf[pos], buf[pos + 1]
            pos += 2
            tuple_size = 2 * addr_size + seg_size
            if addr_size not in (1, 2, 4, 8):
                raise FastDwarfError(f".debug_aranges: address size {addr_size} at 0x{start:x}")
            rem = (pos - start) % tuple_size
            if rem:
                pos += tuple_size - rem
            while pos + tuple_size <= end:
                pos += seg_size
                addr = self._uint(buf, pos, addr_size)
                size = self._uint(buf, pos + addr_size, addr_size)
                pos += 2 * addr_size
                if addr == 0 and size == 0:
                    break
                out.append((addr, size, cu_off))
            pos = end
        return out
