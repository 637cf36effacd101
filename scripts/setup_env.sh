#!/usr/bin/env bash
# Sourced by scripts/train.sh and scripts/test.sh: creates .venv, installs the pinned requirements once (again only
# when requirements.txt changes) and this package editable, which puts its commands (ppgcomp-train-export, ...) on
# PATH (again only when pyproject.toml changes). With APT=1 it also installs the Debian packages the tests use.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"

if [ "${APT:-0}" = 1 ]; then
  need=()
  command -v gcc >/dev/null || need+=(gcc)
  command -v arm-none-eabi-gcc >/dev/null || need+=(gcc-arm-none-eabi)
  command -v arm-none-eabi-size >/dev/null || need+=(binutils-arm-none-eabi)
  if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${need[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python requirements into $VENV (first run downloads TensorFlow, a few minutes)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements.txt"
  echo "$want" > "$stamp"
fi
stamp="$VENV/.ppgcomp.sha256"
want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] \
   || ! "$VENV/bin/python" -c "import ppgcomp, sys; sys.exit(not ppgcomp.__file__.startswith(sys.argv[1]))" \
        "$ROOT/src/" 2>/dev/null; then
  echo "setup: installing ppgcomp (editable) into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e "$ROOT"
  echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
