"""ELF size analysis for the firmware images: flash/RAM totals as the linker counts them, attribution to
components, size budgets and growth reports. The command line is :mod:`ppgcomp.elfsize.cli`
(``scripts/elf_size.py``)."""

from ppgcomp.elfsize.errors import InputError

__all__ = ["InputError"]
