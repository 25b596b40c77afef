#!/usr/bin/env bash
# One pinned Python virtualenv under .cache/, shared by the offline scripts and the test and bench set-ups:
#
#   bash scripts/python-venv.sh <name> <requirements.txt> <minimum 3.x minor> <log tag>
#
# Creates .cache/<name> (or reuses it), installs <requirements.txt> when the file changed since the last
# install (its sha256 is stamped in the venv), and prints the venv's python path as the only line on stdout;
# progress goes to stderr. A venv whose interpreter went away or is too old is rebuilt. Set PYTHON=... to
# choose the interpreter.
set -euo pipefail

if [ "$#" -ne 4 ]; then
  echo "usage: python-venv.sh <name> <requirements.txt> <minimum 3.x minor> <log tag>" >&2
  exit 2
fi
NAME="$1"
REQUIREMENTS="$2"
MIN_MINOR="$3"
TAG="$4"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.cache/$NAME"
STAMP="$VENV/.requirements.sha256"

log() { echo "[$TAG] $*" >&2; }

pick_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1; then echo "$candidate"; return; fi
  done
  log "error: no python3 found (set PYTHON=...)"
  exit 1
}

python_ok() {
  "$1" -c "import sys; sys.exit(0 if sys.version_info >= (3, $MIN_MINOR) else 1)" >/dev/null 2>&1
}

if [ ! -f "$REQUIREMENTS" ]; then
  log "error: $REQUIREMENTS does not exist"
  exit 1
fi

# A venv whose interpreter went away (or is too old) is rebuilt from scratch.
if [ -e "$VENV" ] && ! python_ok "$VENV/bin/python"; then
  log "existing venv at .cache/$NAME is unusable, recreating it…"
  rm -rf "$VENV"
fi

if [ ! -x "$VENV/bin/python" ]; then
  PY="$(pick_python)"
  if ! command -v "$PY" >/dev/null 2>&1; then
    log "error: $PY not found (set PYTHON=...)"
    exit 1
  fi
  if ! python_ok "$PY"; then
    log "error: $PY is older than Python 3.$MIN_MINOR (set PYTHON=...)"
    exit 1
  fi
  log "creating venv in .cache/$NAME with $("$PY" -c 'import sys; print(sys.version.split()[0])')…"
  mkdir -p "$REPO_ROOT/.cache"
  "$PY" -m venv "$VENV" >&2
fi

VPY="$VENV/bin/python"
want="$("$VPY" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$REQUIREMENTS")"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  log "installing $(basename "$(dirname "$REQUIREMENTS")")/$(basename "$REQUIREMENTS") (once per change of that file)…"
  "$VPY" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQUIREMENTS" >&2
  echo "$want" >"$STAMP"
  log "python deps installed"
else
  log "python deps up to date"
fi
echo "$VPY"
