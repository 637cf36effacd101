#!/usr/bin/env python3
"""Train, quantize, verify and export the PPG encoder. Run with --help for the options."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ppgcomp.cli import main

if __name__ == "__main__":
    sys.exit(main())
