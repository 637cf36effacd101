#!/usr/bin/env python3
"""`python scripts/receive.py ...` is `ppgcomp-receive ...` (ppgcomp.receiver.cli). Both need the package installed into the
environment: scripts/setup_env.sh runs `pip install -e . --no-deps`."""

import sys

from ppgcomp.receiver.cli import main

if __name__ == "__main__":
    sys.exit(main())
