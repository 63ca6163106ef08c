#!/usr/bin/env bash
# Builds the example handlers in guest-examples/ for wasm32-wasip2 (adding
# the target when it is missing) and copies them into demo/handlers/.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
out="${CARGO_TARGET_DIR:-$PWD/target}/guests"
CARGO_TARGET_DIR="$out" cargo build --release --locked --target wasm32-wasip2 \
  --manifest-path guest-examples/Cargo.toml
mkdir -p demo/handlers demo/websockets/handlers
for wasm in "$out"/wasm32-wasip2/release/*.wasm; do
  name=$(basename "$wasm" .wasm)
  case "$name" in
    hostile_*) continue ;;
    # WebSocket handlers: /NAME on the ws port runs NAME_wsh.wasm.
    ws_*) cp "$wasm" "demo/websockets/handlers/${name//_/-}_wsh.wasm" ;;
    *) cp "$wasm" "demo/handlers/${name//_/-}.wasm" ;;
  esac
done
echo "guests: $out/wasm32-wasip2/release; demo handlers: demo/handlers/, demo/websockets/handlers/"
