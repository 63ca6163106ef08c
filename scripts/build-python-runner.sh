#!/usr/bin/env bash
# Builds the Python runner component (python/runner, with componentize-py
# pinned below) into $CARGO_TARGET_DIR/python/runner.wasm (default:
# target/python/runner.wasm), where the sandserve binary of that target
# directory finds it. Installs componentize-py in a virtual environment of
# its own when missing. Does nothing when the runner is newer than its
# sources.
set -euo pipefail
cd "$(dirname "$0")/.."

COMPONENTIZE_PY=0.25.1
target="${CARGO_TARGET_DIR:-$PWD/target}"
out="$target/python/runner.wasm"
venv="${SANDSERVE_PYTHON_VENV:-$HOME/.cache/sandserve-py}"

newest=$(find python/runner wit -type f -newer "$out" 2>/dev/null | head -1 || true)
if [ -f "$out" ] && [ -z "$newest" ] && [ "${1:-}" != "--force" ]; then
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
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
started=$(date +%s%N)
"$venv/bin/componentize-py" -q -d wit -w handler componentize -p python/runner app -o "$tmp"
mv "$tmp" "$out"
ms=$(( ($(date +%s%N) - started) / 1000000 ))
echo "build-python-runner: $out ($(( $(stat -c %s "$out") / 1024 )) KiB) in $ms ms"
