#!/usr/bin/env bash
# The hello handler: sandserve running guest-examples/hello, against
# wptserve 4.0.3 running the equivalent hello.py, and `wasmtime serve` 48
# running the equivalent wasi:http component (bench/peers/wasi-http-hello),
# same run, same load generator. Then the per-request overhead (criterion,
# through sandserve's own host code).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_wrk; need_wptserve; build_sandserve
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc >/dev/null; }
command -v wasmtime >/dev/null || cargo install --locked wasmtime-cli@48.0.8
(cd "$REPO" && bash scripts/build-guests.sh >/dev/null)
peer_target="$TARGET/bench-peers"
CARGO_TARGET_DIR="$peer_target" cargo build -q --release --locked --target wasm32-wasip2 \
  --manifest-path "$BENCH_DIR/peers/wasi-http-hello/Cargo.toml"

root=$(mktemp -d)
cp "$TARGET/guests/wasm32-wasip2/release/hello.wasm" "$root/hello.wasm"
cp "$BENCH_DIR/peers/hello.py" "$root/hello.py"
RESULTS=()

port=$(free_port); start_sandserve "$root" "$port" --log-level warn
measure "sandserve:hello.wasm" "$LAST_PID" "http://127.0.0.1:$port/hello.wasm"

# The same, resetting instance memory without PAGEMAP_SCAN (kernels before 6.7).
echo '{"wasm": {"memory_reset": "plain"}}' > "$root/plain.json"
port=$(free_port); start_sandserve "$root" "$port" --log-level warn --config "$root/plain.json"
measure "sandserve:plain-reset" "$LAST_PID" "http://127.0.0.1:$port/hello.wasm"

port=$(free_port)
wasmtime serve -Scli --addr "127.0.0.1:$port" "$peer_target/wasm32-wasip2/release/wasi_http_hello.wasm" >/dev/null 2>&1 &
LAST_PID=$!; PIDS+=("$LAST_PID"); wait_port "$port"
measure "wasmtime-serve-48:hello" "$LAST_PID" "http://127.0.0.1:$port/"

port=$(free_port); start_wptserve "$root" "$port"
measure "wptserve-4.0.3:hello.py" "$LAST_PID" "http://127.0.0.1:$port/hello.py"

echo "hello handler, keep-alive, wrk -t1 -c$CONNECTIONS -d${DURATION}s, $(nproc) cores shared"
report "wptserve-4.0.3:hello.py"
ratio "sandserve:hello.wasm" "wasmtime-serve-48:hello"
ratio "sandserve:plain-reset" "sandserve:hello.wasm"
ratio "sandserve:hello.wasm" "wptserve-4.0.3:hello.py"
echo
(cd "$REPO" && cargo bench -q -p sandserve --bench handler_overhead 2>&1 | grep -E "time:|p50")
