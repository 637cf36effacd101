#!/usr/bin/env python3
"""`python scripts/train_export.py ...` is `ppgcomp-train-export ...` (ppgcomp.training.cli). Both need the package installed into the
environment: scripts/setup_env.sh runs `pip install -e . --no-deps`."""

import sys

from ppgcomp.training.cli import main

if __name__ == "__main__":
    sys.exit(main())
