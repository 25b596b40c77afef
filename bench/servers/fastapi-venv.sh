#!/usr/bin/env bash
# Creates (or reuses) the virtualenv of the FastAPI baseline in .cache/venv-bench from the pinned
# bench/requirements.txt and prints the interpreter's path on the last line of stdout. Progress goes
# to stderr. Idempotent; re-installs only when requirements.txt changed. Set PYTHON=... to choose the
# interpreter (>= 3.10).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
VENV="$REPO_ROOT/.cache/venv-bench"
REQUIREMENTS="$REPO_ROOT/bench/requirements.txt"
STAMP="$VENV/.requirements.sha256"

log() { echo "[bench:venv] $*" >&2; }

pick_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1; then echo "$candidate"; return; fi
  done
  log "error: no python3 found (set PYTHON=...)"
  exit 1
}

python_ok() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' >/dev/null 2>&1
}

# A venv whose interpreter went away (or is too old) is rebuilt from scratch.
if [ -e "$VENV" ] && ! python_ok "$VENV/bin/python"; then
  log "existing venv at .cache/venv-bench is unusable, recreating it…"
  rm -rf "$VENV"
fi

if [ ! -x "$VENV/bin/python" ]; then
  PY="$(pick_python)"
  if ! command -v "$PY" >/dev/null 2>&1; then
    log "error: $PY not found (set PYTHON=...)"
    exit 1
  fi
  if ! python_ok "$PY"; then
    log "error: $PY is older than Python 3.10 (set PYTHON=...)"
    exit 1
  fi
  log "creating venv in .cache/venv-bench with $("$PY" -c 'import sys; print(sys.version.split()[0])')…"
  mkdir -p "$REPO_ROOT/.cache"
  "$PY" -m venv "$VENV"
fi

VPY="$VENV/bin/python"
want="$("$VPY" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$REQUIREMENTS")"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  log "installing fastapi, uvicorn, onnxruntime, numpy from bench/requirements.txt (once; about a minute)…"
  "$VPY" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQUIREMENTS" >&2
  echo "$want" >"$STAMP"
  log "python deps installed"
else
  log "python deps up to date"
fi
echo "$VPY"
