#!/usr/bin/env bash
# The virtualenv of the FastAPI baseline, .cache/venv-bench, from the pinned bench/requirements.txt (Python
# 3.10 or newer; PYTHON=... chooses the interpreter). Prints the interpreter's path on the last line of
# stdout; progress goes to stderr. See scripts/python-venv.sh.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
exec bash "$REPO_ROOT/scripts/python-venv.sh" venv-bench "$REPO_ROOT/bench/requirements.txt" 10 bench:venv
