"""Attribute bytes that no symbol covers (mostly merged string literals in ``rodata``) by who points at them.

On Cortex-M, code loads the address of a string from its literal pool, which lies inside the function's
symbol, and const tables hold pointers to strings. So every aligned word inside an attributed symbol that
points into an uncovered hole marks the start of something that symbol's component uses. A hole is cut at
those addresses and each piece goes to the component of the first symbol that points at its start (pieces
of merged strings end at the next string that is pointed at). Bytes before the first pointer of a hole
(padding, or data reached only by computed addresses) stay unattributed.
"""

from __future__ import annotations

import bisect
import logging
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ppgcomp.elfsize.components import UNATTRIBUTED
from ppgcomp.elfsize.loader import LoadedElf
from ppgcomp.elfsize.memory import Section

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hole:
    """Bytes [start, end) of a section (exec addresses) that no symbol covers."""

    section: Section
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start


class _Referrer:
    """What the reference scan needs of a symbol (duck-typed to SymbolUse)."""

    name: str
    address: int
    size: int
    section: str
    component: str


def _file_offsets(loaded: LoadedElf) -> dict[str, tuple[int, int, int]]:
    """Section name -> (exec address, file offset, size) for sections with contents."""
    out: dict[str, tuple[int, int, int]] = {}
    for sec in loaded.elf.iter_sections():
        if sec["sh_type"] != "SHT_NOBITS" and sec["sh_flags"] & 0x2 and sec["sh_size"]:
            out.setdefault(sec.name, (sec["sh_addr"], sec["sh_offset"], sec["sh_size"]))
    return out


def attribute_by_reference(loaded: LoadedElf, holes: list[Hole],
                           referrers: Iterable[_Referrer]) -> Iterator[tuple[Hole, str, int]]:
    """Yield (hole, component, bytes) until every byte of ``holes`` is given out (rest: unattributed)."""
    holes = sorted(holes, key=lambda h: h.start)
    starts = [h.start for h in holes]
    pointed: dict[int, dict[int, str]] = {i: {} for i in range(len(holes))}
    if holes and loaded.elf.elfclass == 32:
        lo, hi = holes[0].start, max(h.end for h in holes)
        word = struct.Struct(("<" if loaded.elf.little_endian else ">") + "I")
        offsets = _file_offsets(loaded)
        data = loaded.data
        for ref in referrers:
            if ref.component == UNATTRIBUTED or ref.section not in offsets:
                continue
            sec_addr, sec_off, sec_size = offsets[ref.section]
            first = (ref.address + 3) & ~3
            end = min(ref.address + ref.size, sec_addr + sec_size)
            if end - first < 4:
                continue
            blob = data[sec_off + first - sec_addr:sec_off + end - sec_addr]
            for (value,) in word.iter_unpack(blob[:len(blob) - len(blob) % 4]):
                if lo <= value < hi:
                    i = bisect.bisect_right(starts, value) - 1
                    if i >= 0 and value < holes[i].end:
                        pointed[i].setdefault(value, ref.component)
    given = 0
    for i, hole in enumerate(holes):
        marks = sorted(pointed[i].items())
        if not marks:
            yield hole, UNATTRIBUTED, hole.size
            continue
        if marks[0][0] > hole.start:
            yield hole, UNATTRIBUTED, marks[0][0] - hole.start
        for j, (addr, comp) in enumerate(marks):
            nxt = marks[j + 1][0] if j + 1 < len(marks) else hole.end
            given += nxt - addr
            yield hole, comp, nxt - addr
    log.debug("%d bytes in %d holes attributed by reference", given, len(holes))
