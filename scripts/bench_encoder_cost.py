#!/usr/bin/env python3
"""`python scripts/bench_encoder_cost.py ...` is `ppgcomp-bench-encoder-cost ...` (ppgcomp.export.encoder_cost). Both need the package installed into the
environment: scripts/setup_env.sh runs `pip install -e . --no-deps`."""

import sys

from ppgcomp.export.encoder_cost import main

if __name__ == "__main__":
    sys.exit(main())
