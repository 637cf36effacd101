#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Run twister on native_sim over tests/ (and app/ when it has a sample.yaml), from the repository
# root, with -W (Zephyr's warnings are not errors here). Uses `west twister` when west is available,
# else $ZEPHYR_BASE/scripts/twister. Prints the summary; exits non-zero on any failure.
#
#   scripts/run_twister.sh [extra twister arguments, e.g. -T tests/app_dsp or -j 2]
#
# Environment: ZEPHYR_BASE (or a west workspace around this repo), TWISTER_OUT (default
# /tmp/twister-ppgcomp), TWISTER_JOBS (default 2).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [ -z "${ZEPHYR_BASE:-}" ] && command -v west >/dev/null 2>&1; then
  if topdir="$(west topdir 2>/dev/null)"; then
    export ZEPHYR_BASE="$topdir/zephyr"
  fi
fi
if [ -z "${ZEPHYR_BASE:-}" ] || [ ! -f "$ZEPHYR_BASE/scripts/twister" ]; then
  echo "run_twister: no Zephyr workspace (set ZEPHYR_BASE or source zephyr-env.sh)" >&2
  exit 2
fi

out="${TWISTER_OUT:-/tmp/twister-ppgcomp}"
jobs="${TWISTER_JOBS:-2}"
roots=(-T tests)
if [ -f app/sample.yaml ]; then
  roots+=(-T app)
fi
# Explicit -T arguments replace the default roots.
for a in "$@"; do
  if [ "$a" = "-T" ] || [ "$a" = "--testsuite-root" ]; then
    roots=()
    break
  fi
done

if command -v west >/dev/null 2>&1 && west topdir >/dev/null 2>&1; then
  twister=(west twister)
else
  twister=("$ZEPHYR_BASE/scripts/twister")
fi

set +e
"${twister[@]}" "${roots[@]}" -p native_sim -W -j "$jobs" -O "$out" --inline-logs "$@" 2>&1 |
  tee "$out.log"
rc=${PIPESTATUS[0]}
set -e

echo "----"
grep -E "^INFO +- +[0-9]+ of [0-9]+ executed test configurations passed|test configurations passed|executed test cases passed" "$out.log" | tail -3 || true
if [ "$rc" -ne 0 ]; then
  echo "run_twister: FAILED (exit $rc); see $out" >&2
fi
exit "$rc"
