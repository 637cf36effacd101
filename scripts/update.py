#!/usr/bin/env python3
"""`python scripts/update.py ...` is `ppgcomp-update ...` (ppgcomp.update.cli). Both need the package installed into the
environment: scripts/setup_env.sh runs `pip install -e . --no-deps`."""

import sys

from ppgcomp.update.cli import main

if __name__ == "__main__":
    sys.exit(main())
