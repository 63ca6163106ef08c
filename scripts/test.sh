#!/usr/bin/env bash
# Runs the whole sandserve test suite: unit tests and end-to-end tests over
# real sockets. Needs only the Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

# The end-to-end tests build the example handlers for wasm32-wasip2.
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
# The workspace builds wasmtime with the project's patch (Cargo.toml).
bash scripts/wasmtime-patched.sh

# The Python handler tests run .py files in the Python runner component
# (built with componentize-py, installed on first use), and compare them
# with wptserve 4.0.3, the reference.
bash scripts/build-python-runner.sh
python3 -c 'import wptserve' 2>/dev/null || python3 -m pip install -q wptserve==4.0.3

# The browser tests run testharness.js pages in headless Chromium.
bash scripts/browser-deps.sh

# Handlers in C (Debian's clang and wasi-libc) and JavaScript
# (componentize-js from npm), each installed when missing.
bash scripts/build-c-guests.sh
bash scripts/build-js-guests.sh

# The shared-stash tests start redis-server; deploy/ runs behind HAProxy.
bash scripts/redis-deps.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole suite (cargo prints one per test binary).
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
[ "$status" -eq 0 ] || exit "$status"

# The deployment example: two instances behind HAProxy sharing one Redis,
# checked through the balancer (with the build the tests used).
cargo build --locked -p sandserve
SANDSERVE_BIN="${CARGO_TARGET_DIR:-target}/debug/sandserve" bash deploy/run.sh --smoke
