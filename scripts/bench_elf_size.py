#!/usr/bin/env python3
"""`python scripts/bench_elf_size.py ...` is `ppgcomp-bench-elf-size ...` (ppgcomp.elfsize.bench). Both need the package installed into the
environment: scripts/setup_env.sh runs `pip install -e . --no-deps`."""

import sys

from ppgcomp.elfsize.bench import main

if __name__ == "__main__":
    sys.exit(main())
