#!/usr/bin/env python3
"""Benchmark receive.py --replay decoding throughput (packets/s). See --help."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ppgcomp.receiver.bench import main

if __name__ == "__main__":
    sys.exit(main())
