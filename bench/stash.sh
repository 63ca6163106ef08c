#!/usr/bin/env bash
# The stash in this process's memory against the stash in Redis on loopback
# (Debian's redis-server), same run, same handler, same load generator: each
# request puts a fresh key and takes it back (guest-examples/stash-roundtrip,
# action=pair), a new UUID per request (wrk's Lua). One connection for the
# latency a stash round trip adds, 32 for throughput.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_wrk; build_sandserve
bash "$REPO/scripts/redis-deps.sh"
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc >/dev/null; }
(cd "$REPO" && bash scripts/build-guests.sh >/dev/null)

root=$(mktemp -d)
cp "$TARGET/guests/wasm32-wasip2/release/stash_roundtrip.wasm" "$root/pair.wasm"
cat >"$root/pair.lua" <<'LUA'
local hex = "0123456789abcdef"
local function uuid()
  return (string.gsub("xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx", "x", function()
    local i = math.random(1, 16)
    return string.sub(hex, i, i)
  end))
end
request = function()
  return wrk.format("GET", "/pair.wasm?action=pair&value=v&key=" .. uuid())
end
done = function(summary, latency, requests)
  io.write(string.format("LAT %d %d\n", latency:percentile(50), latency:percentile(99)))
end
LUA

redis_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no >/dev/null 2>&1 &
PIDS+=("$!"); wait_port "$redis_port"
echo "{\"stash\": {\"backend\": \"redis://127.0.0.1:$redis_port/0\"}}" >"$root/redis.json"

mem=$(free_port); start_sandserve "$root" "$mem" --log-level warn
red=$(free_port); start_sandserve "$root" "$red" --log-level warn --config "$root/redis.json"

ROWS=()
# row NAME PORT CONNECTIONS: requests/s, p50 and p99 (µs); fails on errors.
row() {
  local name=$1 port=$2 conns=$3 out
  wrk -t1 -c"$conns" -d2s -s "$root/pair.lua" "http://127.0.0.1:$port/" >/dev/null  # warm-up
  out=$(wrk -t1 -c"$conns" -d"${DURATION}s" -s "$root/pair.lua" "http://127.0.0.1:$port/")
  if grep -q "Non-2xx" <<<"$out"; then echo "error: $name: $(grep Non-2xx <<<"$out")" >&2; exit 1; fi
  ROWS+=("$name|$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")|$(awk '/^LAT/ {print $2, $3}' <<<"$out")")
}
row "memory, 1 connection" "$mem" 1
row "redis, 1 connection" "$red" 1
row "memory, 32 connections" "$mem" 32
row "redis, 32 connections" "$red" 32

printf '%-26s %12s %10s %10s\n' "put+take per request" "requests/s" "p50 µs" "p99 µs"
for r in "${ROWS[@]}"; do
  IFS='|' read -r name rps lat <<<"$r"; set -- $lat
  printf '%-26s %12.0f %10d %10d\n' "$name" "$rps" "$1" "$2"
done
p50() { IFS='|' read -r _ _ lat <<<"${ROWS[$1]}"; set -- $lat; echo "$1"; }
rps() { IFS='|' read -r _ r _ <<<"${ROWS[$1]}"; echo "$r"; }
printf 'redis adds %d µs to the p50 of a request (1 connection)\n' "$(( $(p50 1) - $(p50 0) ))"
printf 'redis / memory throughput, 32 connections: %.2f×\n' "$(echo "$(rps 3)/$(rps 2)" | bc -l)"
