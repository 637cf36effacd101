#!/usr/bin/env python3
"""`python scripts/study_frontends.py ...` is `ppgcomp-study-frontends ...` (ppgcomp.realdata.frontend_study): what
limits HR from the codes on the real-data development set. Needs the package installed into the environment:
scripts/setup_env.sh runs `pip install -e . --no-deps`."""

import sys

from ppgcomp.realdata.frontend_study import main

if __name__ == "__main__":
    sys.exit(main())
