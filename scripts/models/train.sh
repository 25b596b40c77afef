#!/usr/bin/env bash
# Regenerate the example models (models/) and ONNX test fixtures
# (test/fixtures/models/). Idempotent; runnable from any directory:
#
#   bash scripts/models/train.sh
#
# Creates (or reuses) a virtualenv in .cache/venv-models with the pinned
# scripts/models/requirements.txt (scripts/python-venv.sh), then runs
# make_fixtures.py and train.py.
# Set PYTHON=/path/to/python3.11 to choose the interpreter (>= 3.11).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
log() { echo "[models] $*"; }

VPY="$(bash "$REPO_ROOT/scripts/python-venv.sh" venv-models "$SCRIPT_DIR/requirements.txt" 11 models)"

log "building test fixtures…"
"$VPY" "$SCRIPT_DIR/make_fixtures.py"

log "training models…"
"$VPY" "$SCRIPT_DIR/train.py"

log "done"
