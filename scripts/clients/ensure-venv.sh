#!/usr/bin/env bash
# Creates (once) the Python virtualenv with the third-party V2 clients the compatibility tests drive.
# Re-created when test/clients/requirements.txt changes. Prints the venv's python path on stdout.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/.cache/venv-clients"
req="$root/test/clients/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[clients] creating $venv (tritonclient http+grpc, numpy)…" >&2
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$want" > "$stamp"
  echo "[clients] ready" >&2
fi
echo "$venv/bin/python"
