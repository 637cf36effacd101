#!/usr/bin/env python3
"""Generate a held-out replay recording, its reference HR and the reference packets. See --help."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ppgcomp.receiver.make_replay import main

if __name__ == "__main__":
    sys.exit(main())
