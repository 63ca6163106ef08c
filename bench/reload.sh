#!/usr/bin/env bash
# Live handlers: save-to-served time (cache miss and hit) for a small release
# Rust guest and a large (debug-built, > 1 MiB) one, and start-up time with
# 200 handlers with a cold and a warm compile cache.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
build_sandserve
(cd "$REPO" && bash scripts/build-guests.sh >/dev/null)
large_target="$TARGET/guests-debug"
CARGO_TARGET_DIR="$large_target" cargo build -q --locked --target wasm32-wasip2 \
  --manifest-path "$REPO/guest-examples/Cargo.toml" -p request-info
python3 "$BENCH_DIR/reload.py" "$SANDSERVE" \
  "$TARGET/guests/wasm32-wasip2/release/hello.wasm" \
  "$large_target/wasm32-wasip2/debug/request_info.wasm"
