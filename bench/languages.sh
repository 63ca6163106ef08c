#!/usr/bin/env bash
# Hello in each language side by side, on one sandserve (release): Rust
# (guest-examples/hello), C, JavaScript, Python on the world directly, and a
# wptserve-style hello.py in the Python runner. For each: the component's
# size, its first request with an empty compile cache (the compile), its
# first request after a restart (loading the compiled form from the disk
# cache), then requests/s and p50/p99 latency (wrk, keep-alive).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_wrk; build_sandserve
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc >/dev/null; }
(cd "$REPO" && bash scripts/build-guests.sh >/dev/null && bash scripts/build-c-guests.sh >/dev/null \
  && bash scripts/build-js-guests.sh >/dev/null && bash scripts/build-python-runner.sh >/dev/null)

root=$(mktemp -d); cache=$(mktemp -d)
cp "$TARGET/guests/wasm32-wasip2/release/hello.wasm" "$root/rust.wasm"
cp "$TARGET/c-guests/hello.wasm" "$root/c.wasm"
cp "$TARGET/js-guests/hello.wasm" "$root/js.wasm"
cp "$TARGET/python/hello-python.wasm" "$root/python.wasm"
cp "$BENCH_DIR/peers/hello.py" "$root/runner.py"
echo "{\"wasm\": {\"cache_dir\": \"$cache\"}}" >"$root/config.json"
files="rust.wasm c.wasm js.wasm python.wasm runner.py"

# first_request PORT FILE: milliseconds for one request on a new connection.
first_request() {
  curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$1/$2" | awk '{printf "%.0f", $1 * 1000}'
}

declare -A compile load
port=$(free_port); start_sandserve "$root" "$port" --log-level warn --config "$root/config.json"
for f in $files; do compile[$f]=$(first_request "$port" "$f"); done
kill "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
port=$(free_port); start_sandserve "$root" "$port" --log-level warn --config "$root/config.json"
for f in $files; do load[$f]=$(first_request "$port" "$f"); done

RESULTS=()
for f in $files; do measure "$f" "$LAST_PID" "http://127.0.0.1:$port/$f"; done

printf '%-12s %10s %12s %12s %12s %10s %10s\n' hello "size KiB" "compile ms" "cached ms" "requests/s" "p50 µs" "p99 µs"
for row in "${RESULTS[@]}"; do
  set -- $row
  size=$(( $(stat -c %s "$root/$1") / 1024 ))
  printf '%-12s %10d %12d %12d %12.0f %10.0f %10.0f\n' "$1" "$size" "${compile[$1]}" "${load[$1]}" "$2" "$3" "$4"
done
echo "(runner.py: the size is the handler's; the runner component is $(( $(stat -c %s "$TARGET/python/runner.wasm") / 1024 )) KiB, compiled at start-up)"
