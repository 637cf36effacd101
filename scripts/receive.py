#!/usr/bin/env python3
"""Receive code packets over BLE or from a native_sim packet file and decode them to HR. See --help."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ppgcomp.receiver.cli import main

if __name__ == "__main__":
    sys.exit(main())
