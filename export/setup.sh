#!/usr/bin/env bash
# Creates (or refreshes) the exporter's Python environment in <repo>/.venv.
# Idempotent and quick when nothing changed: a stamp records the requirements
# it was built from, so `npm test` can call it every time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
req="$root/export/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
py="${PYTHON:-python3}"
if ! command -v "$py" >/dev/null; then
  echo "setup:export: $py not found; install Python >= 3.10 (or set PYTHON=/path/to/python3)" >&2
  exit 1
fi
if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  echo "setup:export: $py is $("$py" --version 2>&1); the exporter needs Python >= 3.10" >&2
  exit 1
fi
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
echo "setup:export: installing export/requirements.txt into .venv (torch is large; this takes a few minutes once)" >&2
"$venv/bin/pip" install --disable-pip-version-check --retries 0 -q -r "$req"
echo "$want" > "$stamp"
