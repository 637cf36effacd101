#!/usr/bin/env python3
"""`python scripts/elf_size.py ...` is `ppgcomp-elf-size ...` (ppgcomp.elfsize.cli). Both need the package installed into the
environment: scripts/setup_env.sh runs `pip install -e . --no-deps`."""

import sys

from ppgcomp.elfsize.cli import main

if __name__ == "__main__":
    sys.exit(main())
