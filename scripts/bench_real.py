#!/usr/bin/env python3
"""`python scripts/bench_real.py ...` is `ppgcomp-bench-real ...` (ppgcomp.realdata.cli): the models and two
non-learned baselines on the real-data development set. Needs the package installed into the environment:
scripts/setup_env.sh runs `pip install -e . --no-deps`."""

import sys

from ppgcomp.realdata.cli import main

if __name__ == "__main__":
    sys.exit(main())
