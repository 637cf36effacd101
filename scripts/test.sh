#!/usr/bin/env bash
# Set everything up and run every test: pytest (Python, host-compiled C, ARM ELF checks, and the native_sim
# end-to-end test when a Zephyr workspace is found), then twister on native_sim when a Zephyr workspace is
# found. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A west from the user's Zephyr environment (e.g. a sourced zephyr-env), found before .venv shadows it.
ext_west="$(command -v west 2>/dev/null || true)"
APT=1 source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
case "$ext_west" in "$VENV"/*) ext_west="" ;; esac

# A Zephyr workspace: ZEPHYR_BASE is set, or this repo is the manifest repo of a west workspace.
zephyr_base="${ZEPHYR_BASE:-}"
west_bin="${ext_west:-$(command -v west 2>/dev/null || true)}"
if [ -z "$zephyr_base" ] && [ -n "$west_bin" ]; then
  if topdir="$("$west_bin" topdir 2>/dev/null)" &&
     [ "$(cd "$topdir" && "$west_bin" manifest --path 2>/dev/null | xargs -r dirname)" = "$ROOT" ]; then
    zephyr_base="$topdir/zephyr"
  fi
fi
if [ -n "$zephyr_base" ] && [ -f "$zephyr_base/scripts/twister" ]; then
  export ZEPHYR_BASE="$zephyr_base"
  if [ -n "$ext_west" ]; then
    # Use the workspace's own Python environment for west and twister (pytest keeps .venv's python).
    export PATH="$(dirname "$ext_west"):$PATH"
  else
    stamp="$VENV/.zephyr-requirements.sha256"
    reqs=("$ZEPHYR_BASE"/scripts/requirements-{base,build-test,run-test}.txt)
    want="$(cat "${reqs[@]}" | sha256sum | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
      echo "setup: installing Zephyr's Python requirements into $VENV"
      "$VENV/bin/python" -m pip install -q --disable-pip-version-check $(printf -- '-r %s ' "${reqs[@]}")
      echo "$want" > "$stamp"
    fi
  fi
else
  zephyr_base=""
fi

"$VENV/bin/python" -m pytest "$@"

if [ -z "$zephyr_base" ]; then
  echo "twister: skipped: no Zephyr workspace (set ZEPHYR_BASE, or 'west init -l' + 'west update'; see README)"
  exit 0
fi
echo "twister: Zephyr workspace at $zephyr_base"
exec "$ROOT/scripts/run_twister.sh"
