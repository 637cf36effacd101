#!/usr/bin/env python3
"""`python scripts/bench_train_export.py ...` is `ppgcomp-bench-train-export ...` (ppgcomp.training.bench_export). Both need the package installed into the
environment: scripts/setup_env.sh runs `pip install -e . --no-deps`."""

import sys

from ppgcomp.training.bench_export import main

if __name__ == "__main__":
    sys.exit(main())
