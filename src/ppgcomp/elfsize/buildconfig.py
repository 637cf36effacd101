"""The linker's FLASH and RAM regions of a Zephyr image, from the build's Kconfig output (``zephyr/.config``).

Zephyr's Cortex-M linker script (``include/zephyr/arch/arm/cortex_m/scripts/linker.ld``) defines its MEMORY
regions from Kconfig, so the build's ``.config`` gives them exactly::

    FLASH  ORIGIN = CONFIG_FLASH_BASE_ADDRESS + CONFIG_FLASH_LOAD_OFFSET
           LENGTH = CONFIG_FLASH_LOAD_SIZE - CONFIG_ROM_END_OFFSET                (when FLASH_LOAD_SIZE > 0)
                    CONFIG_FLASH_SIZE * 1024 - CONFIG_FLASH_LOAD_OFFSET - CONFIG_ROM_END_OFFSET  (otherwise)
    RAM    ORIGIN = CONFIG_SRAM_BASE_ADDRESS,  LENGTH = CONFIG_SRAM_SIZE * 1024

With MCUboot the app's code partition is ``slot0_partition`` (``CONFIG_USE_DT_CODE_PARTITION``), so
``CONFIG_FLASH_LOAD_OFFSET`` is the slot's offset (0x10000 on the nRF5340 here) and ``CONFIG_FLASH_LOAD_SIZE``
its size: the image is measured from the start of its own partition, as ld's ``--print-memory-usage`` does,
not from the start of the flash.
"""

from __future__ import annotations

import re
from pathlib import Path

from ppgcomp.elfsize.errors import InputError
from ppgcomp.elfsize.memory import FLASH, RAM, RegionSpec

CONFIG_NAME = ".config"
_LINE_RE = re.compile(r"^(CONFIG_\w+)=(.*)$")


def find_config(elf: Path) -> Path | None:
    """The ``.config`` beside ``elf`` (Zephyr writes both to ``<build>/zephyr/``), or None."""
    path = elf.parent / CONFIG_NAME
    return path if path.is_file() else None


def read_config(path: Path) -> dict[str, str]:
    """``CONFIG_*`` assignments of a Kconfig output file (strings without their quotes)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such build configuration") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read build configuration: {exc}".splitlines()[0]) from None
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE_RE.match(line.strip())
        if match:
            value = match.group(2)
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            values[match.group(1)] = value
    return values


def _int(values: dict[str, str], name: str, path: Path, default: int | None = None) -> int | None:
    if name not in values:
        return default
    try:
        return int(values[name], 0)
    except ValueError:
        raise InputError(f"{path}: {name}={values[name]!r} is not an integer") from None


def regions_from_config(path: Path) -> dict[str, RegionSpec]:
    """The FLASH and RAM regions that the build's linker script uses; a region Kconfig does not define is left out."""
    values = read_config(path)
    regions: dict[str, RegionSpec] = {}
    base = _int(values, "CONFIG_FLASH_BASE_ADDRESS", path)
    flash_kb = _int(values, "CONFIG_FLASH_SIZE", path, 0)
    if base is not None and flash_kb:
        offset = _int(values, "CONFIG_FLASH_LOAD_OFFSET", path, 0) or 0
        load_size = _int(values, "CONFIG_FLASH_LOAD_SIZE", path, 0) or 0
        end_offset = _int(values, "CONFIG_ROM_END_OFFSET", path, 0) or 0
        size = (load_size if load_size > 0 else flash_kb * 1024 - offset) - end_offset
        if size <= 0:
            raise InputError(f"{path}: the flash region it defines is empty (offset {offset:#x}, size {size})")
        regions[FLASH] = RegionSpec(base + offset, size)
    sram_base = _int(values, "CONFIG_SRAM_BASE_ADDRESS", path)
    sram_kb = _int(values, "CONFIG_SRAM_SIZE", path, 0)
    if sram_base is not None and sram_kb:
        regions[RAM] = RegionSpec(sram_base, sram_kb * 1024)
    return regions
