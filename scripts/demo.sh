#!/usr/bin/env bash
# Builds the example handlers, the Python runner and sandserve, then serves
# the demo document
# root on http://localhost:8000/, WebSocket handlers on ws://localhost:8001/
# (demo/sandserve.json; pass other `sandserve serve` flags after it, e.g.
# `--port 9000`).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build-guests.sh
bash scripts/build-c-guests.sh
bash scripts/build-js-guests.sh
bash scripts/build-python-runner.sh
bash scripts/wasmtime-patched.sh
cargo build --release --locked -p sandserve
exec "${CARGO_TARGET_DIR:-target}/release/sandserve" serve demo --config demo/sandserve.json "$@"
