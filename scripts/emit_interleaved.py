#!/usr/bin/env python3
"""`python scripts/emit_interleaved.py ...` is `ppgcomp-emit-interleaved ...` (ppgcomp.export.interleave). Both need the package installed into the
environment: scripts/setup_env.sh runs `pip install -e . --no-deps`."""

import sys

from ppgcomp.export.interleave import main

if __name__ == "__main__":
    sys.exit(main())
