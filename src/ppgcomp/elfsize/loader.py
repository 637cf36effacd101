"""Open an ELF image and check, before any analysis, that it is a complete 32-bit firmware image.

Every problem is raised as :class:`InputError` with a one-line message: a missing file, a file that is not
an ELF, a truncated ELF (headers, section contents or program headers past the end of the file), and a host
executable (64-bit, x86 or position-independent, e.g. native_sim's ``zephyr.exe``) to which no flash budget
applies.
"""

from __future__ import annotations

import io
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.construct.core import ConstructError
from elftools.elf.elffile import ELFFile

from ppgcomp.elfsize.errors import InputError

log = logging.getLogger(__name__)

ELF_MAGIC = b"\x7fELF"
ELF32_HEADER_SIZE = 52
ELFCLASS32 = 1
ELFCLASS64 = 2
HOST_MACHINES = {"EM_386", "EM_X86_64"}

# Errors that pyelftools raises on damaged input.
PARSE_ERRORS: tuple[type[BaseException], ...] = (ELFError, ConstructError, struct.error, ValueError, KeyError,
                                                  IndexError)


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
    if hdr["e_shnum"] == 0 or hdr["e_shoff"] == 0:
        raise InputError(f"{path}: ELF has no section headers; cannot analyse it")
    sh_end = hdr["e_shoff"] + hdr["e_shnum"] * hdr["e_shentsize"]
    if sh_end > size:
        raise InputError(f"{path}: truncated ELF (section headers end at byte {sh_end}, file has {size})")
    ph_end = hdr["e_phoff"] + hdr["e_phnum"] * hdr["e_phentsize"]
    if hdr["e_phnum"] and ph_end > size:
        raise InputError(f"{path}: truncated ELF (program headers end at byte {ph_end}, file has {size})")
    for sec in elf.iter_sections():
        if sec["sh_type"] == "SHT_NOBITS" or sec["sh_size"] == 0:
            continue
        end = sec["sh_offset"] + sec["sh_size"]
        if end > size:
            raise InputError(f"{path}: truncated ELF (section {sec.name or '?'} ends at byte {end}, "
                             f"file has {size})")
    for seg in elf.iter_segments():
        end = seg["p_offset"] + seg["p_filesz"]
        if seg["p_type"] == "PT_LOAD" and end > size:
            raise InputError(f"{path}: truncated ELF (a load segment ends at byte {end}, file has {size})")


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
