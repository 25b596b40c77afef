#!/usr/bin/env bash
# The Python virtualenv with the third-party V2 clients the compatibility tests drive, .cache/venv-clients,
# from test/clients/requirements.txt (re-installed when it changes). Prints the venv's python path on
# stdout. See scripts/python-venv.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
exec bash "$root/scripts/python-venv.sh" venv-clients "$root/test/clients/requirements.txt" 10 clients
