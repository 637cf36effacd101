#!/usr/bin/env bash
# Set everything up and run the main job on the built-in synthetic data. Extra arguments go to
# scripts/train_export.py (see `python scripts/train_export.py --help`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
exec python scripts/train_export.py "$@"
