#!/usr/bin/env bash
# Regenerate the example models (models/) and ONNX test fixtures
# (test/fixtures/models/). Idempotent; runnable from any directory:
#
#   bash scripts/models/train.sh
#
# Creates (or reuses) a virtualenv in .cache/venv-models with the pinned
# scripts/models/requirements.txt, then runs make_fixtures.py and train.py.
# Set PYTHON=/path/to/python3.11 to choose the interpreter (>= 3.11).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
VENV="$REPO_ROOT/.cache/venv-models"
REQUIREMENTS="$SCRIPT_DIR/requirements.txt"
STAMP="$VENV/.requirements.sha256"

log() { echo "[models] $*"; }

pick_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1; then echo "$candidate"; return; fi
  done
  echo "[models] error: no python3 found (set PYTHON=...)" >&2
  exit 1
}

python_ok() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

# A venv whose interpreter went away (or is too old) is rebuilt from scratch.
if [ -e "$VENV" ] && ! python_ok "$VENV/bin/python"; then
  log "existing venv at .cache/venv-models is unusable, recreating it…"
  rm -rf "$VENV"
fi

if [ ! -x "$VENV/bin/python" ]; then
  PY="$(pick_python)"
  if ! python_ok "$PY"; then
    echo "[models] error: $PY is older than Python 3.11 (set PYTHON=...)" >&2
    exit 1
  fi
  log "creating venv in .cache/venv-models with $("$PY" -c 'import sys; print(sys.version.split()[0])')…"
  mkdir -p "$REPO_ROOT/.cache"
  "$PY" -m venv "$VENV"
fi

VPY="$VENV/bin/python"
want="$("$VPY" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$REQUIREMENTS")"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  log "installing python deps…"
  "$VPY" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQUIREMENTS"
  echo "$want" >"$STAMP"
  log "python deps installed"
else
  log "python deps up to date"
fi

log "building test fixtures…"
"$VPY" "$SCRIPT_DIR/make_fixtures.py"

log "training models…"
"$VPY" "$SCRIPT_DIR/train.py"

log "done"
