#!/usr/bin/env python3
"""Flash/RAM size report and budget check of a firmware ELF; see ``elf_size.py --help``.

Thin wrapper over :mod:`ppgcomp.elfsize.cli`: exit 0 within budget, 1 over budget, 2 bad input.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from ppgcomp.elfsize.cli import main

if __name__ == "__main__":
    sys.exit(main())
