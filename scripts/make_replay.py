#!/usr/bin/env python3
"""`python scripts/make_replay.py ...` is `ppgcomp-make-replay ...` (ppgcomp.replay.make_replay). Both need the package installed into the
environment: scripts/setup_env.sh runs `pip install -e . --no-deps`."""

import sys

from ppgcomp.replay.make_replay import main

if __name__ == "__main__":
    sys.exit(main())
