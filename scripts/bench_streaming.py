#!/usr/bin/env python3
"""`python scripts/bench_streaming.py ...` is `ppgcomp-bench-streaming ...` (ppgcomp.training.bench_streaming). Both need the package installed into the
environment: scripts/setup_env.sh runs `pip install -e . --no-deps`."""

import sys

from ppgcomp.training.bench_streaming import main

if __name__ == "__main__":
    sys.exit(main())
