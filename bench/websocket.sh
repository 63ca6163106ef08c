#!/usr/bin/env bash
# WebSockets: echo round trips per second (16-byte text messages, 8
# connections, each waiting for its echo before sending again) and the
# memory each idle connection holds (1000 connections opened and held), for
# sandserve's ws-echo handler (a WebAssembly instance per connection) and
# for pywebsocket3 (PyPI; what `wpt serve` runs on its ws ports) with the
# same echo handler in Python, in the same run, with the same client
# (tests/bin/ws_load.rs).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc >/dev/null; }
python3 -c 'import pywebsocket3' 2>/dev/null || python3 -m pip install -q pywebsocket3==4.0.2
build_sandserve
(cd "$REPO" && bash scripts/build-guests.sh >/dev/null && bash scripts/wasmtime-patched.sh >/dev/null && cargo build --release --locked -q -p sandserve-tests --bin ws-load)
LOAD="$TARGET/release/ws-load"
HELD="${HELD:-1000}"
ECHO_CONNECTIONS="${ECHO_CONNECTIONS:-8}"

root=$(mktemp -d)
mkdir -p "$root/websockets/handlers"
cp "$REPO/demo/websockets/handlers/ws-echo_wsh.wasm" "$root/websockets/handlers/"
http=$(free_port); ws=$(free_port); py=$(free_port)
# Enough connections per client for the held ones (the default cap is 64).
cat >"$root/config.json" <<JSON
{"ports": {"http": [$http], "ws": [$ws]},
 "per_client": {"handler_requests": $((HELD + 64)), "connections": $((HELD + 64))}}
JSON
"$SANDSERVE" serve "$root" --config "$root/config.json" --bind 127.0.0.1 >/dev/null 2>&1 &
ours=$!; PIDS+=("$ours"); wait_port "$ws"
python3 -m pywebsocket3.standalone -p "$py" -d "$BENCH_DIR/peers/ws" --log-level error >/dev/null 2>&1 &
theirs=$!; PIDS+=("$theirs"); wait_port "$py"

ROWS=()
# bench NAME PID PORT PATH
bench() {
  local name=$1 pid=$2 port=$3 path=$4 echo before held after coproc_pid
  "$LOAD" echo "127.0.0.1:$port" "$path" "$ECHO_CONNECTIONS" 1 16 >/dev/null   # warm-up
  echo=$("$LOAD" echo "127.0.0.1:$port" "$path" "$ECHO_CONNECTIONS" "$DURATION" 16)
  sleep 1
  before=$(rss_kib "$pid")
  coproc HOLD { "$LOAD" hold "127.0.0.1:$port" "$path" "$HELD"; }
  read -r held _ <&"${HOLD[0]}"
  [ "$held" = ready ] || { echo "error: $name: could not hold $HELD connections" >&2; exit 1; }
  sleep 1
  after=$(rss_kib "$pid")
  coproc_pid=$HOLD_PID
  exec {HOLD[1]}>&-
  wait "$coproc_pid" 2>/dev/null || true
  ROWS+=("$name $echo $before $after")
}
bench sandserve "$ours" "$ws" /ws-echo
bench pywebsocket3 "$theirs" "$py" /echo

printf '%-14s %14s %8s %8s %14s %16s\n' server "round-trips/s" "p50 µs" "p99 µs" "RSS idle MiB" "KiB per held ws"
for row in "${ROWS[@]}"; do
  set -- $row
  printf '%-14s %14.0f %8.0f %8.0f %14.1f %16.1f\n' "$1" "$2" "$3" "$4" "$(echo "$5/1024" | bc -l)" "$(echo "($6 - $5)/$HELD" | bc -l)"
done
set -- ${ROWS[0]}; a=$2; a_mem=$(echo "($6 - $5)/$HELD" | bc -l)
set -- ${ROWS[1]}; b=$2; b_mem=$(echo "($6 - $5)/$HELD" | bc -l)
printf 'sandserve / pywebsocket3: %.2f× the round trips, %.2f× the memory per held connection\n' \
  "$(echo "$a/$b" | bc -l)" "$(echo "$a_mem/$b_mem" | bc -l)"
