#!/usr/bin/env bash
# The README's test command: set everything up and run every test.
#
#   bash scripts/test.sh [pytest arguments]
#
# Always: pytest (the Python package, the portable C compiled with host gcc and checked bit-exact against
# Python, Arm ELFs built with gcc-arm-none-eabi for the size tool).
# With a Zephyr workspace (ZEPHYR_BASE set, e.g. by a sourced workspace environment, or this repository is the
# manifest repository of a west workspace), every firmware check as well, and a failure in any fails the run:
#   - pytest's native_sim end-to-end test (required, not skipped);
#   - pytest's BabbleSim BLE end-to-end test (tests/bsim/; required when BSIM_OUT_PATH is set);
#   - twister on native_sim: every ztest suite under tests/ and the app (app/sample.yaml);
#   - twister, build only: the app's Arm images with their size gates (app/budgets.yaml);
#   - the encoder-cost benchmark on QEMU mps2/an521 (golden codes checked, instructions per inference printed;
#     the default configuration's must stay within 50,000 per inference and its arena).
# Without a workspace those print one skip line with the reason. Each stage prints its wall time, and the run
# ends with a one-line-per-stage summary. Exit status: 0 all passed, 1 a stage failed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A west from the user's Zephyr environment (e.g. a sourced workspace env.sh), found before .venv shadows it.
ext_west="$(command -v west 2>/dev/null || true)"

summary=()
failed=0
# stage NAME COMMAND...: run, time, record; a failure is remembered and the next stage still runs.
stage() {
  local name="$1" t0 rc dt
  shift
  echo "=== stage: $name"
  t0=$(date +%s)
  set +e
  "$@"
  rc=$?
  set -e
  dt=$(($(date +%s) - t0))
  local verdict="ok"
  if [ "$rc" -ne 0 ]; then
    verdict="FAILED (exit $rc)"
    failed=1
  fi
  summary+=("$(printf 'stage %-28s %5d s  %s' "$name" "$dt" "$verdict")")
  echo "=== stage: $name: $verdict in $dt s"
}
print_summary() {
  local n_failed
  n_failed=$(printf '%s\n' "${summary[@]}" | grep -c 'FAILED' || true)
  echo "=== summary"
  printf '%s\n' "${summary[@]}"
  echo "stages: $((${#summary[@]} - n_failed)) passed, $n_failed failed"
}

setup() {
  APT=1 source "$ROOT/scripts/setup_env.sh"
}
stage "setup (venv, packages)" setup
if [ "$failed" -ne 0 ]; then
  print_summary
  exit 1
fi
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
zephyr_reqs() {
  local stamp="$VENV/.zephyr-requirements.sha256" want
  local reqs=("$ZEPHYR_BASE"/scripts/requirements-{base,build-test,run-test}.txt)
  want="$(cat "${reqs[@]}" | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing Zephyr's Python requirements into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check $(printf -- '-r %s ' "${reqs[@]}")
    echo "$want" > "$stamp"
  fi
}
if [ -n "$zephyr_base" ] && [ -f "$zephyr_base/scripts/twister" ]; then
  export ZEPHYR_BASE="$zephyr_base"
  # An environment that lists Zephyr's modules itself (ZEPHYR_MODULES turns off west's module discovery)
  # must be told about this one.
  if [ -n "${ZEPHYR_MODULES:-}" ] && [[ ";${ZEPHYR_EXTRA_MODULES:-};" != *";$ROOT;"* ]]; then
    export ZEPHYR_EXTRA_MODULES="${ZEPHYR_EXTRA_MODULES:+$ZEPHYR_EXTRA_MODULES;}$ROOT"
  fi
  if [ -n "$ext_west" ]; then
    # Use the workspace's own Python environment for west and twister (pytest keeps .venv's python).
    export PATH="$(dirname "$ext_west"):$PATH"
  else
    stage "setup (Zephyr requirements)" zephyr_reqs
  fi
  export PPG_E2E_REQUIRE=1
  if [ -n "${BSIM_OUT_PATH:-}" ]; then
    export PPG_BSIM_REQUIRE=1
  fi
else
  zephyr_base=""
fi

stage "pytest" "$VENV/bin/python" -m pytest --durations=10 "$@"

if [ -z "$zephyr_base" ]; then
  echo "twister: skipped: no Zephyr workspace (set ZEPHYR_BASE, or 'west init -l' + 'west update'; see README)"
  echo "encoder cost (QEMU): skipped: no Zephyr workspace"
  print_summary
  exit "$failed"
fi
echo "firmware checks: Zephyr workspace at $zephyr_base"
stage "twister native_sim" "$ROOT/scripts/run_twister.sh"
stage "twister Arm builds + size gates" "$ROOT/scripts/run_twister.sh" --arm
if command -v qemu-system-arm >/dev/null 2>&1; then
  stage "encoder cost (QEMU mps2/an521)" "$VENV/bin/python" "$ROOT/scripts/bench_encoder_cost.py" \
    --build-root "${BENCH_BUILD_ROOT:-/tmp/ppgcomp-encoder-cost}" --max-default-instr 50000
else
  echo "encoder cost (QEMU): skipped: qemu-system-arm is not installed (apt-get install qemu-system-arm)"
fi
print_summary
exit "$failed"
