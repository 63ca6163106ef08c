#!/usr/bin/env bash
# A good tenant beside a hostile one: a client asking in turn for a 1 KiB
# static file and a tiny handler, one request at a time, idle and while each
# class of attack runs (from another client address); the server's resident
# memory before, at its peak, and one timeout after the attack stops.
#   bash bench/hostile.sh            # every attack, 8 s each
#   SECONDS_EACH=15 bash bench/hostile.sh spin gzip
set -euo pipefail
source "$(dirname "$0")/lib.sh"
build_sandserve
(cd "$REPO" && bash scripts/wasmtime-patched.sh >/dev/null && cargo build --release --locked -q -p sandserve-tests --bin hostile-load)
(cd "$REPO" && bash scripts/build-guests.sh >/dev/null)
LOAD="$TARGET/release/hostile-load"
GUESTS="$TARGET/guests/wasm32-wasip2/release"
EACH=${SECONDS_EACH:-8}
ATTACKS=("$@")
[ ${#ATTACKS[@]} -gt 0 ] || ATTACKS=(trickle-overflow header-flood memory-bombs empty-lines slow-head bodies
  slow-bodies no-read sleep-reset spin gzip connection-flood compile-flood)

root=$(mktemp -d)
head -c 1024 /dev/urandom | base64 -w 64 | head -c 1024 > "$root/1k.txt"
head -c $((64 << 20)) /dev/urandom > "$root/big.bin"
cp "$GUESTS/hello.wasm" "$root/hello.wasm"
cp "$GUESTS/hostile_flood.wasm" "$root/flood.wasm"
cp "$GUESTS/hostile_memory.wasm" "$root/memory.wasm"
cp "$GUESTS/hostile_loop.wasm" "$root/loop.wasm"
cp "$GUESTS/hostile_sleep_forever.wasm" "$root/sleep.wasm"
# 400 distinct components: the hello guest with a custom section of its own.
mkdir -p "$root/compile"
python3 - "$GUESTS/hello.wasm" "$root/compile" <<'PY'
import sys
hello = open(sys.argv[1], "rb").read()
for n in range(400):
    payload = b"\x04seed" + n.to_bytes(4, "little")
    open(f"{sys.argv[2]}/c{n}.wasm", "wb").write(hello + b"\x00" + bytes([len(payload)]) + payload)
PY
cat > "$root/config.json" <<'JSON'
{
  "wasm": {"max_memory_mib": 64, "max_total_memory_mib": 512, "max_response_bytes": 16777216,
           "cpu_time_ms": 2000, "wall_time_secs": 30, "disk_cache": false},
  "limits": {"max_buffered_body_mib": 256},
  "timeouts": {"header_read_secs": 5, "send_secs": 5, "keep_alive_secs": 10, "body_secs": 30},
  "per_client": {"enabled": true}
}
JSON
# What the configuration lets the server hold beyond its own: instance
# memory, request bodies, and two pipes holding 64 MiB in and out at once.
CAPS_MIB=$((512 + 256 + 2 * 2 * 64))

port=$(free_port)
start_sandserve "$root" "$port" --config "$root/config.json" --log-level error
pid=$LAST_PID
addr="127.0.0.1:$port"
"$LOAD" "$addr" idle 2 >/dev/null   # warm up: compile the handlers
base_rss=$(rss_kib "$pid")

echo "good tenant: 1 KiB file and hello handler in turn, one at a time, ${EACH} s per row; $(nproc) cores shared by everyone"
echo "configured caps beyond the server's own memory: ${CAPS_MIB} MiB"
printf '%-18s %9s %9s %9s %9s %8s %9s %9s %9s\n' attack "file p50" "file p99" "hello p50" "hello p99" failures "RSS MiB" "peak MiB" "after MiB"
for attack in idle "${ATTACKS[@]}"; do
  before=$(rss_kib "$pid")
  peak_file=$(mktemp)
  ( peak=0; while kill -0 "$pid" 2>/dev/null; do r=$(rss_kib "$pid"); [ "$r" -gt "$peak" ] && peak=$r && echo "$peak" > "$peak_file"; sleep 0.1; done ) &
  sampler=$!
  line=$("$LOAD" "$addr" "$attack" "$EACH")
  # Everything the attack held is released within one timeout.
  sleep 6
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
  peak=$(cat "$peak_file" 2>/dev/null || echo "$before"); rm -f "$peak_file"
  after=$(rss_kib "$pid")
  set -- $line
  printf '%-18s %9s %9s %9s %9s %8s %9.1f %9.1f %9.1f\n' "$attack" "$3" "$5" "$7" "$9" "${13}" \
    "$(echo "$before/1024" | bc -l)" "$(echo "$peak/1024" | bc -l)" "$(echo "$after/1024" | bc -l)"
done
echo "(times in ms; RSS before the row, at its peak, and 6 s after the attack stopped; $(echo "$base_rss/1024" | bc) MiB at rest after warm-up)"
