#!/usr/bin/env python3
"""`python scripts/bench_receive.py ...` is `ppgcomp-bench-receive ...` (ppgcomp.receiver.bench). Both need the package installed into the
environment: scripts/setup_env.sh runs `pip install -e . --no-deps`."""

import sys

from ppgcomp.receiver.bench import main

if __name__ == "__main__":
    sys.exit(main())
