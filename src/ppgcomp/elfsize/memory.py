"""Flash and RAM totals from an ELF's section headers and program headers, as the linker counts them.

Each allocated section has an exec (virtual, VMA) address and, when it has contents, a load (LMA) address,
read from the load segment that holds it (``p_paddr + (sh_addr - p_vaddr)``). A section counts in flash
when its load address lies in flash, and in RAM when its exec address lies in RAM, so ``.data`` (and
``.ramfunc``) count in both, and ``.bss`` and ``noinit`` (NOBITS) in RAM only.

Two figures are kept per region:

* ``used``: what GNU ld prints as "Used Size" with ``--print-memory-usage``. ld counts a region as used up
  to the end of the last section placed in it, so alignment gaps between sections are included. The region
  origin is taken from :class:`RegionSpec` when the budget gives it, otherwise it is the lowest address of
  any section in the region (Zephyr places its first section at the region origin).
* ``section_bytes``: the plain sum of section sizes, which is what ``arm-none-eabi-size`` adds up
  (``-B``: flash = text + data, RAM = data + bss).

Which addresses are flash and which are RAM: the regions from the budget when given; otherwise, on ARM, the
Cortex-M architectural map (the Code region 0x0000_0000-0x1FFF_FFFF is flash, the SRAM region
0x2000_0000-0x3FFF_FFFF is RAM; true for the nRF5340 app core and net core); otherwise section flags
(writable or NOBITS means RAM; contents not writable, or loaded elsewhere, means flash).
Thread-local NOBITS sections (``.tbss``) take no memory of their own and are skipped, as ld does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from elftools.elf.constants import SH_FLAGS

from ppgcomp.elfsize.loader import LoadedElf

log = logging.getLogger(__name__)

FLASH = "flash"
RAM = "ram"
REGIONS = (FLASH, RAM)

ARM_CODE_REGION = (0x0000_0000, 0x2000_0000)
ARM_SRAM_REGION = (0x2000_0000, 0x4000_0000)


@dataclass(frozen=True)
class RegionSpec:
    """A memory region as the linker script's MEMORY command states it."""

    origin: int
    size: int

    def contains(self, addr: int) -> bool:
        return self.origin <= addr <= self.origin + self.size


@dataclass(frozen=True)
class Section:
    """One allocated section and where it lands."""

    index: int
    name: str
    nobits: bool
    vma: int
    lma: int | None
    size: int
    writable: bool
    in_flash: bool
    in_ram: bool


@dataclass
class RegionTotal:
    """Usage of one region (flash or RAM)."""

    name: str
    used: int = 0
    section_bytes: int = 0
    origin: int | None = None
    end: int | None = None
    size: int | None = None
    sections: list[str] = field(default_factory=list)


@dataclass
class MemoryUsage:
    """Flash and RAM totals and the allocated sections behind them."""

    flash: RegionTotal
    ram: RegionTotal
    sections: list[Section]
    other_sections: list[str]

    def region(self, name: str) -> RegionTotal:
        return self.flash if name == FLASH else self.ram


class _Classifier:
    def __init__(self, machine: str, regions: dict[str, RegionSpec] | None) -> None:
        self.regions = regions or {}
        self.arm = machine == "EM_ARM"

    def region_of(self, addr: int) -> str | None:
        if self.regions:
            for name, spec in self.regions.items():
                if spec.contains(addr):
                    return name
            return None
        if self.arm:
            if ARM_CODE_REGION[0] <= addr < ARM_CODE_REGION[1]:
                return FLASH
            if ARM_SRAM_REGION[0] <= addr < ARM_SRAM_REGION[1]:
                return RAM
            return None
        return None

    def place(self, vma: int, lma: int | None, nobits: bool, writable: bool) -> tuple[bool, bool]:
        """Return (counts in flash, counts in RAM)."""
        if self.regions or self.arm:
            in_flash = lma is not None and not nobits and self.region_of(lma) == FLASH
            return in_flash, self.region_of(vma) == RAM
        loaded_elsewhere = lma is not None and lma != vma
        in_ram = writable or nobits or loaded_elsewhere
        in_flash = not nobits and (loaded_elsewhere or not writable)
        return in_flash, in_ram


def _load_address(loaded: LoadedElf, sec_addr: int, sec_offset: int, size: int, nobits: bool) -> int | None:
    """Load address of a section from the PT_LOAD segment that holds it, or None if it is not loaded."""
    if nobits:
        return None
    for seg in loaded.elf.iter_segments():
        if seg["p_type"] != "PT_LOAD" or seg["p_filesz"] == 0:
            continue
        vaddr, offset, filesz = seg["p_vaddr"], seg["p_offset"], seg["p_filesz"]
        in_file = offset <= sec_offset and sec_offset + size <= offset + filesz
        in_mem = vaddr <= sec_addr and sec_addr + size <= vaddr + seg["p_memsz"]
        if in_file and in_mem and sec_addr - vaddr == sec_offset - offset:
            return seg["p_paddr"] + (sec_addr - vaddr)
    return sec_addr


def read_sections(loaded: LoadedElf, regions: dict[str, RegionSpec] | None = None) -> list[Section]:
    """All allocated sections of the image with their exec and load addresses and regions."""
    cls = _Classifier(loaded.machine, regions)
    out: list[Section] = []
    for index, sec in enumerate(loaded.elf.iter_sections()):
        flags = sec["sh_flags"]
        if not flags & SH_FLAGS.SHF_ALLOC:
            continue
        nobits = sec["sh_type"] == "SHT_NOBITS"
        if nobits and flags & SH_FLAGS.SHF_TLS:
            continue
        size = sec["sh_size"]
        vma = sec["sh_addr"]
        lma = _load_address(loaded, vma, sec["sh_offset"], size, nobits)
        writable = bool(flags & SH_FLAGS.SHF_WRITE)
        in_flash, in_ram = cls.place(vma, lma, nobits, writable)
        out.append(Section(index=index, name=sec.name, nobits=nobits, vma=vma, lma=lma, size=size,
                           writable=writable, in_flash=in_flash, in_ram=in_ram))
    return out


def _extent(total: RegionTotal, spans: list[tuple[int, int]], spec: RegionSpec | None) -> None:
    if not spans:
        total.origin = spec.origin if spec else None
        total.end = total.origin
        return
    start = min(s for s, _ in spans)
    end = max(s + n for s, n in spans)
    total.origin = spec.origin if spec else start
    total.end = end
    total.used = end - total.origin


def measure(loaded: LoadedElf, regions: dict[str, RegionSpec] | None = None) -> MemoryUsage:
    """Flash and RAM totals of the image, computed as ld's memory usage table computes them."""
    regions = regions or {}
    sections = read_sections(loaded, regions)
    flash = RegionTotal(FLASH, size=regions[FLASH].size if FLASH in regions else None)
    ram = RegionTotal(RAM, size=regions[RAM].size if RAM in regions else None)
    flash_spans: list[tuple[int, int]] = []
    ram_spans: list[tuple[int, int]] = []
    other: list[str] = []
    for sec in sections:
        if sec.in_flash and sec.lma is not None:
            flash_spans.append((sec.lma, sec.size))
            flash.section_bytes += sec.size
            if sec.size:
                flash.sections.append(sec.name)
        if sec.in_ram:
            ram_spans.append((sec.vma, sec.size))
            ram.section_bytes += sec.size
            if sec.size:
                ram.sections.append(sec.name)
        if not sec.in_flash and not sec.in_ram and sec.size:
            other.append(sec.name)
    _extent(flash, flash_spans, regions.get(FLASH))
    _extent(ram, ram_spans, regions.get(RAM))
    if other:
        log.info("sections outside flash and RAM (not counted): %s", ", ".join(other))
    return MemoryUsage(flash=flash, ram=ram, sections=sections, other_sections=other)
