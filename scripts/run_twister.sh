#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Twister over this repository, from the repository root, with -W (this Zephyr tree's kernel/sched.c has one
# warning that warnings-as-errors would turn fatal). Uses `west twister` when west is available, else
# $ZEPHYR_BASE/scripts/twister. Prints the summary; exits non-zero on any failure.
#
#   scripts/run_twister.sh [--arm] [extra twister arguments, e.g. -T tests/lib/dsp]
#
#   (default)  native_sim, host toolchain: every suite under tests/ and the app (app/sample.yaml), run
#   --arm      the app's Arm images, built only: nrf5340dk/nrf5340/cpuapp (sysbuild: MCUboot, the signed app,
#              hci_ipc; and the app alone with the MAX30101 overlay) and motionsense_hrv3/nrf5340/cpuapp
#              (sysbuild: MCUboot, app, hci_ipc); each image's size gate (app/budgets.yaml) runs in its
#              build. With the cross-compile toolchain variant (Debian's arm-none-eabi) twister needs
#              --force-toolchain, which this passes.
#
# Environment: ZEPHYR_BASE (or a west workspace around this repo), TWISTER_OUT (default
# /tmp/twister-ppgcomp, or /tmp/twister-ppgcomp-arm), TWISTER_JOBS (default 2).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

arm=0
if [ "${1:-}" = "--arm" ]; then
  arm=1
  shift
fi

if [ -z "${ZEPHYR_BASE:-}" ] && command -v west >/dev/null 2>&1; then
  if topdir="$(west topdir 2>/dev/null)"; then
    export ZEPHYR_BASE="$topdir/zephyr"
  fi
fi
if [ -z "${ZEPHYR_BASE:-}" ] || [ ! -f "$ZEPHYR_BASE/scripts/twister" ]; then
  echo "run_twister: no Zephyr workspace (set ZEPHYR_BASE or source the workspace's environment)" >&2
  exit 2
fi

jobs="${TWISTER_JOBS:-2}"
if [ "$arm" = 1 ]; then
  out="${TWISTER_OUT:-/tmp/twister-ppgcomp-arm}"
  roots=(-T app)
  platforms=(-p nrf5340dk/nrf5340/cpuapp -p motionsense_hrv3/nrf5340/cpuapp --force-toolchain)
  # The host variant cannot build Arm images: use Debian's cross gcc instead.
  if [ "${ZEPHYR_TOOLCHAIN_VARIANT:-}" = host ] && command -v arm-none-eabi-gcc >/dev/null 2>&1; then
    export ZEPHYR_TOOLCHAIN_VARIANT=cross-compile
    export CROSS_COMPILE="${CROSS_COMPILE:-/usr/bin/arm-none-eabi-}"
  fi
else
  out="${TWISTER_OUT:-/tmp/twister-ppgcomp}"
  roots=(-T tests)
  if [ -f app/sample.yaml ]; then
    roots+=(-T app)
  fi
  platforms=(-p native_sim)
  export ZEPHYR_TOOLCHAIN_VARIANT=host # native_sim builds with the host's gcc (multilib)
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
"${twister[@]}" "${roots[@]}" "${platforms[@]}" -W -j "$jobs" -O "$out" --inline-logs "$@" 2>&1 |
  tee "$out.log"
rc=${PIPESTATUS[0]}
set -e

echo "----"
grep -E "test configurations passed|executed test cases passed" "$out.log" | tail -2 || true
# The Arm builds with MCUboot: its signing chain (key, signature type, slot0 validation, swap mode; the signed
# app verifies with the build's key and not with another), scripts/check_mcuboot_signing.py.
if [ "$arm" = 1 ] && [ "$rc" -eq 0 ]; then
  mapfile -t mcuboot_builds < <(find "$out" -path '*/mcuboot/zephyr/.config' -printf '%h\n' | xargs -r -n1 dirname |
    xargs -r -n1 dirname | sort)
  if [ "${#mcuboot_builds[@]}" -gt 0 ]; then
    python3 "$(dirname "${BASH_SOURCE[0]}")/check_mcuboot_signing.py" "${mcuboot_builds[@]}" || rc=$?
  fi
fi
if [ "$rc" -ne 0 ]; then
  echo "run_twister: FAILED (exit $rc); see $out" >&2
fi
exit "$rc"
