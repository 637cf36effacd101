"""Open an ELF image and check, before any analysis, that it is a complete 32-bit firmware image.

Every problem is raised as :class:`InputError` with a one-line message: a missing file, a file that is not
an ELF, a truncated ELF (headers, section contents or program headers past the end of the file), a host
executable (64-bit, x86 or position-independent, e.g. native_sim's ``zephyr.exe``) to which no flash budget
applies, and a malformed section table.

The section table is read with ``struct`` (one pass, then one sort: O(n log n) in the number of sections) and
checked before anything is counted:

* extended numbering: ``e_shnum == 0`` takes the section count from section 0's ``sh_size``, and
  ``e_shstrndx == SHN_XINDEX`` takes the section-name string table's index from section 0's ``sh_link``;
  the index must name an ``SHT_STRTAB`` section, and every section name must lie inside that table;
* a symbol table's ``sh_link`` must name a string table, and it must hold whole 16-byte entries;
* allocated sections must not overlap in the address space (exec addresses, as the linker placed them), nor
  run past its end. Empty sections take no space (Zephyr places several at one address), and neither does a
  thread-local NOBITS section (``.tbss``: its addresses are a template that overlaps the sections after it).
"""

from __future__ import annotations

import io
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import DWARFError, ELFError
from elftools.construct.core import ConstructError
from elftools.elf.elffile import ELFFile

from ppgcomp.elfsize.errors import InputError

log = logging.getLogger(__name__)

ELF_MAGIC = b"\x7fELF"
ELF32_HEADER_SIZE = 52
ELFCLASS32 = 1
ELFCLASS64 = 2
HOST_MACHINES = {"EM_386", "EM_X86_64"}
ELF32_SHDR_SIZE = 40
ELF32_PHDR_SIZE = 32
ELF32_SYM_SIZE = 16
ADDRESS_SPACE_END = 1 << 32

SHN_UNDEF = 0
SHN_LORESERVE = 0xFF00
SHN_XINDEX = 0xFFFF
_SHN_RESERVED = range(SHN_LORESERVE, SHN_XINDEX)  # special indices; SHN_XINDEX is an escape
SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_NOBITS = 8
SHT_DYNSYM = 11
SHF_ALLOC = 0x2
SHF_TLS = 0x400
# Fields of an Elf32_Shdr, in order.
_SH_NAME, _SH_TYPE, _SH_FLAGS, _SH_ADDR, _SH_OFFSET, _SH_SIZE, _SH_LINK, _SH_INFO, _SH_ADDRALIGN, _SH_ENTSIZE = range(10)

# Errors that pyelftools raises on damaged input (its DWARF parser also asserts on what it reads, divides by
# sizes it read, refuses segmented addresses, and recurses along damaged DIE links).
PARSE_ERRORS: tuple[type[BaseException], ...] = (ELFError, DWARFError, ConstructError, struct.error, ValueError,
                                                  KeyError, IndexError, AssertionError, ZeroDivisionError,
                                                  NotImplementedError, RecursionError)
# The errors of pyelftools' own: whatever raises them met a damaged ELF, not a bug of this tool.
ELFTOOLS_ERRORS: tuple[type[BaseException], ...] = (ELFError, DWARFError, ConstructError)


@dataclass
class LoadedElf:
    """An ELF image held in memory, with pyelftools' view of it."""

    path: Path
    data: bytes
    elf: ELFFile

    @property
    def machine(self) -> str:
        return str(self.elf["e_machine"])


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not an ELF file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _check_ident(path: Path, data: bytes) -> None:
    if len(data) < 4 or data[:4] != ELF_MAGIC:
        raise InputError(f"{path}: not an ELF file (no ELF magic number)")
    if len(data) < 6:
        raise InputError(f"{path}: truncated ELF ({len(data)} bytes, shorter than the ELF identification)")
    elf_class = data[4]
    if elf_class == ELFCLASS64:
        raise InputError(f"{path}: 64-bit ELF, a host executable (e.g. native_sim's zephyr.exe), not a "
                         "microcontroller image; no flash budget applies")
    if elf_class != ELFCLASS32:
        raise InputError(f"{path}: not a valid ELF file (unknown ELF class {elf_class})")
    if len(data) < ELF32_HEADER_SIZE:
        raise InputError(f"{path}: truncated ELF ({len(data)} bytes, shorter than the ELF header)")


def _check_extents(path: Path, data: bytes, elf: ELFFile) -> None:
    size = len(data)
    hdr = elf.header
    if hdr["e_shnum"] == 0 and hdr["e_shoff"] == 0:
        raise InputError(f"{path}: ELF has no section headers; cannot analyse it")
    ph_end = hdr["e_phoff"] + hdr["e_phnum"] * hdr["e_phentsize"]
    if hdr["e_phnum"] and ph_end > size:
        raise InputError(f"{path}: truncated ELF (program headers end at byte {ph_end}, file has {size})")
    if hdr["e_phnum"] and hdr["e_phentsize"] != ELF32_PHDR_SIZE:
        raise InputError(f"{path}: corrupt ELF (program header entry size {hdr['e_phentsize']}, "
                         f"expected {ELF32_PHDR_SIZE})")
    _check_sections(path, data, elf)
    for seg in elf.iter_segments():
        end = seg["p_offset"] + seg["p_filesz"]
        if seg["p_type"] == "PT_LOAD" and end > size:
            raise InputError(f"{path}: truncated ELF (a load segment ends at byte {end}, file has {size})")


def _section_headers(path: Path, data: bytes, elf: ELFFile) -> list[tuple[int, ...]]:
    """The raw section headers (``_SH_*`` fields), after checking that the table lies inside the file."""
    size = len(data)
    hdr = elf.header
    shoff, shentsize = hdr["e_shoff"], hdr["e_shentsize"]
    if shoff == 0:
        raise InputError(f"{path}: ELF has no section headers; cannot analyse it")
    if shentsize != ELF32_SHDR_SIZE:
        raise InputError(f"{path}: corrupt ELF (section header entry size {shentsize}, expected {ELF32_SHDR_SIZE})")
    fmt = struct.Struct(("<" if elf.little_endian else ">") + "10I")
    shnum = hdr["e_shnum"]
    if shnum == 0:  # extended numbering: the count is section 0's sh_size
        if shoff + ELF32_SHDR_SIZE > size:
            raise InputError(f"{path}: truncated ELF (section headers end at byte {shoff + ELF32_SHDR_SIZE}, "
                             f"file has {size})")
        shnum = fmt.unpack_from(data, shoff)[_SH_SIZE]
        if shnum == 0:
            raise InputError(f"{path}: ELF has no section headers; cannot analyse it")
    sh_end = shoff + shnum * ELF32_SHDR_SIZE
    if sh_end > size:
        raise InputError(f"{path}: truncated ELF (section headers end at byte {sh_end}, file has {size})")
    return list(fmt.iter_unpack(data[shoff:sh_end]))


def _shstrndx(path: Path, elf: ELFFile, headers: list[tuple[int, ...]]) -> int:
    """Index of the section-name string table (``SHN_XINDEX``: section 0's ``sh_link``), checked."""
    raw = elf.header["e_shstrndx"]
    if raw == SHN_XINDEX:
        index = headers[0][_SH_LINK]
        where = f"e_shstrndx is SHN_XINDEX and section 0's sh_link is {index}"
    else:
        index = raw
        where = f"e_shstrndx is {raw}"
    if raw == SHN_UNDEF:
        raise InputError(f"{path}: corrupt ELF (no section name string table: {where})")
    if not 0 < index < len(headers) or raw in _SHN_RESERVED:
        reason = ("a reserved index" if raw in _SHN_RESERVED else "the null section" if index == 0
                  else f"past the last of the {len(headers)} sections")
        raise InputError(f"{path}: corrupt ELF (bad section name string table index: {where}, {reason})")
    if headers[index][_SH_TYPE] != SHT_STRTAB:
        raise InputError(f"{path}: corrupt ELF (bad section name string table index: {where}, "
                         "which is not a string table)")
    return index


def _check_sections(path: Path, data: bytes, elf: ELFFile) -> None:
    """Check the section table: extents, the name string table, links, and overlaps of allocated sections."""
    size = len(data)
    headers = _section_headers(path, data, elf)
    strtab = headers[_shstrndx(path, elf, headers)]
    str_off, str_size = strtab[_SH_OFFSET], strtab[_SH_SIZE]
    if str_off + str_size > size:
        raise InputError(f"{path}: truncated ELF (the section name string table ends at byte "
                         f"{str_off + str_size}, file has {size})")

    def name(sh: tuple[int, ...]) -> str:
        start = str_off + sh[_SH_NAME]
        end = data.find(b"\0", start, str_off + str_size)
        return data[start:end if end >= 0 else str_off + str_size].decode("utf-8", "replace") or "?"

    spans: list[tuple[int, int, int]] = []  # (start, end, section index) of allocated sections with a size
    for index, sh in enumerate(headers):
        if index == 0:  # the null entry; its fields hold the extended numbers
            continue
        sh_type, flags, addr, sec_size = sh[_SH_TYPE], sh[_SH_FLAGS], sh[_SH_ADDR], sh[_SH_SIZE]
        if sh[_SH_NAME] >= str_size:
            raise InputError(f"{path}: corrupt ELF (name of section {index} at offset {sh[_SH_NAME]}, past the end "
                             f"of the {str_size}-byte section name string table)")
        if sh_type != SHT_NOBITS and sec_size:
            end = sh[_SH_OFFSET] + sec_size
            if end > size:
                raise InputError(f"{path}: truncated ELF (section {name(sh)} ends at byte {end}, file has {size})")
        if sh_type in (SHT_SYMTAB, SHT_DYNSYM):
            link = sh[_SH_LINK]
            if not 0 < link < len(headers) or headers[link][_SH_TYPE] != SHT_STRTAB:
                raise InputError(f"{path}: corrupt ELF (symbol table {name(sh)} links to section {link}, "
                                 "not a string table)")
            if sh[_SH_ENTSIZE] != ELF32_SYM_SIZE or sec_size % ELF32_SYM_SIZE:
                raise InputError(f"{path}: corrupt ELF (symbol table {name(sh)}: {sec_size} bytes of "
                                 f"{sh[_SH_ENTSIZE]}-byte entries, expected whole {ELF32_SYM_SIZE}-byte entries)")
        if not flags & SHF_ALLOC or sec_size == 0 or (sh_type == SHT_NOBITS and flags & SHF_TLS):
            continue
        if addr + sec_size > ADDRESS_SPACE_END:
            raise InputError(f"{path}: corrupt ELF (allocated section {name(sh)} at 0x{addr:08x}, {sec_size} "
                             "bytes, runs past the end of the 32-bit address space)")
        spans.append((addr, addr + sec_size, index))
    spans.sort()
    last: tuple[int, int, int] | None = None  # the span reaching furthest so far
    for span in spans:
        if last is not None and span[0] < last[1]:
            a, b = headers[last[2]], headers[span[2]]
            raise InputError(f"{path}: corrupt ELF (allocated sections {name(a)} [0x{last[0]:08x}-0x{last[1]:08x}) "
                             f"and {name(b)} [0x{span[0]:08x}-0x{span[1]:08x}) overlap)")
        if last is None or span[1] > last[1]:
            last = span


def _check_target(path: Path, elf: ELFFile) -> None:
    e_type = elf.header["e_type"]
    machine = str(elf.header["e_machine"])
    if machine in HOST_MACHINES or e_type == "ET_DYN":
        raise InputError(f"{path}: host executable ({machine}, {e_type}), e.g. native_sim's zephyr.exe, not a "
                         "microcontroller image; no flash budget applies")
    if e_type == "ET_REL":
        raise InputError(f"{path}: relocatable object file, not a linked image; give the linked zephyr.elf")
    if e_type != "ET_EXEC":
        raise InputError(f"{path}: ELF type {e_type} is not a linked executable image")


def load_elf(path: str | Path) -> LoadedElf:
    """Read and validate the ELF at ``path``; raise :class:`InputError` with a one-line reason if unusable."""
    path = Path(path)
    data = _read(path)
    _check_ident(path, data)
    try:
        elf = ELFFile(io.BytesIO(data))
        _check_target(path, elf)
        _check_extents(path, data, elf)
    except InputError:
        raise
    except PARSE_ERRORS as exc:
        log.debug("pyelftools failed on %s", path, exc_info=True)
        raise InputError(f"{path}: truncated or corrupt ELF ({type(exc).__name__}: {exc})".splitlines()[0]) \
            from None
    log.debug("%s: %d bytes, %s, %d sections", path, len(data), elf.header["e_machine"], elf.num_sections())
    return LoadedElf(path=path, data=data, elf=elf)
