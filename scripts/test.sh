#!/usr/bin/env bash
# Set everything up and run every test: pytest (Python, host-compiled C, ARM ELF checks), then twister on
# native_sim when a Zephyr workspace is found. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APT=1 source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"

python -m pytest "$@"

# A Zephyr workspace: ZEPHYR_BASE is set, or this repo is the manifest repo of a west workspace.
zephyr_base="${ZEPHYR_BASE:-}"
if [ -z "$zephyr_base" ] && command -v west >/dev/null; then
  if topdir="$(west topdir 2>/dev/null)" && [ "$(cd "$topdir" && west manifest --path 2>/dev/null | xargs -r dirname)" = "$ROOT" ]; then
    zephyr_base="$topdir/zephyr"
  fi
fi
if [ -z "$zephyr_base" ] || [ ! -f "$zephyr_base/scripts/twister" ]; then
  echo "twister: skipped: no Zephyr workspace (set ZEPHYR_BASE or run 'west init -l' + 'west update'; see README)"
  exit 0
fi
echo "twister: Zephyr workspace at $zephyr_base"
exec "$ROOT/scripts/run_twister.sh"
