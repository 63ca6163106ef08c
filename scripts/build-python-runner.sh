#!/usr/bin/env bash
# Builds the Python runner components (python/runner, with componentize-py
# pinned below) into $CARGO_TARGET_DIR/python/ (default: target/python/):
# runner.wasm (the request handler world: wptserve-style .py handlers) and
# ws-runner.wasm (the websocket-handler world: pywebsocket-style _wsh.py
# handlers), where the sandserve binary of that target directory finds them,
# and hello-python.wasm (guest-examples/python: Python written against the
# world itself). Installs componentize-py in a virtual environment of its
# own when missing. Does nothing when the runner is newer than its sources.
set -euo pipefail
cd "$(dirname "$0")/.."

COMPONENTIZE_PY=0.25.1
target="${CARGO_TARGET_DIR:-$PWD/target}"
out="$target/python/runner.wasm"
venv="${SANDSERVE_PYTHON_VENV:-$HOME/.cache/sandserve-py}"

ws_out="$target/python/ws-runner.wasm"
plain_out="$target/python/hello-python.wasm"
newest=$(find python/runner wit -type f -newer "$out" 2>/dev/null | head -1 || true)
ws_newest=$(find python/runner wit -type f -newer "$ws_out" 2>/dev/null | head -1 || true)
plain_newest=$(find guest-examples/python wit -type f -newer "$plain_out" 2>/dev/null | head -1 || true)
if [ -f "$out" ] && [ -f "$ws_out" ] && [ -f "$plain_out" ] && [ -z "$newest$ws_newest$plain_newest" ] \
  && [ "${1:-}" != "--force" ]; then
  exit 0
fi

if ! "$venv/bin/componentize-py" --version 2>/dev/null | grep -qx "componentize-py $COMPONENTIZE_PY"; then
  command -v python3 >/dev/null || { echo "build-python-runner: python3 is needed" >&2; exit 1; }
  python3 -m venv "$venv" 2>/dev/null || {
    # Debian's python3 lacks venv until python3-venv is installed.
    if command -v apt-get >/dev/null; then
      apt-get install -y -q python3-venv >/dev/null
    fi
    python3 -m venv "$venv"
  }
  "$venv/bin/pip" install -q "componentize-py==$COMPONENTIZE_PY"
fi

mkdir -p "$(dirname "$out")"
trap 'rm -f "$out.tmp.$$" "$ws_out.tmp.$$" "$plain_out.tmp.$$"' EXIT
# build WORLD APP OUT [SOURCE_DIR]
build() {
  local tmp="$3.tmp.$$" started ms
  started=$(date +%s%N)
  "$venv/bin/componentize-py" -q -d wit -w "$1" componentize -p "${4:-python/runner}" "$2" -o "$tmp"
  mv "$tmp" "$3"
  ms=$(( ($(date +%s%N) - started) / 1000000 ))
  echo "build-python-runner: $3 ($(( $(stat -c %s "$3") / 1024 )) KiB) in $ms ms"
}
build handler app "$out"
build websocket-handler app_ws "$ws_out"
build handler app "$plain_out" guest-examples/python
mkdir -p demo/handlers/python
cp "$plain_out" demo/handlers/python/
