#!/usr/bin/env bash
# Python handlers: a trivial .py (bench/peers/hello.py) and a realistic one
# (bench/peers/echo_headers.py) on sandserve's Python runner and on
# wptserve 4.0.3, same run, a new connection per request for both (wptserve
# stalls ~45 ms on each keep-alive response), then keep-alive for sandserve.
# Also: server CPU per request, RSS at rest and per live instance, and the
# runner's compile and cache-load times.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_wrk; need_wptserve; build_sandserve
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc >/dev/null; }
(cd "$REPO" && bash scripts/build-python-runner.sh)

root=$(mktemp -d)
cp "$BENCH_DIR/peers/hello.py" "$BENCH_DIR/peers/echo_headers.py" "$root/"
printf 'import time\ndef main(request, response):\n    time.sleep(30)\n    return "slept"\n' >"$root/sleep.py"
cache=$(mktemp -d)
echo "{\"wasm\": {\"cache_dir\": \"$cache\"}}" >"$root/config.json"
ROWS=()

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure_py NAME PID URL [wrk flags]: requests/s, p50, p99, CPU µs per request.
measure_py() {
  local name=$1 pid=$2 url=$3; shift 3
  wrk -t1 -c"$CONNECTIONS" -d1s "$@" "$url" >/dev/null 2>&1 || true
  local t0 out t1 n rps p50 p99
  t0=$(ticks "$pid")
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url")
  t1=$(ticks "$pid")
  if grep -q "Non-2xx" <<<"$out"; then echo "error: $name: $(grep Non-2xx <<<"$out")" >&2; exit 1; fi
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(to_us "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(to_us "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  ROWS+=("$name $rps $p50 $p99 $(echo "($t1 - $t0) * 10000 / $n" | bc -l)")
}

log=$(mktemp)
port=$(free_port)
"$SANDSERVE" serve "$root" --bind 127.0.0.1 --port "$port" --config "$root/config.json" >"$log" 2>&1 &
LAST_PID=$!; PIDS+=("$LAST_PID"); wait_port "$port"
sandserve=$LAST_PID
curl -sf "http://127.0.0.1:$port/hello.py" >/dev/null   # waits for the runner
compiled=$(grep -o 'compiled .*runner.wasm ([0-9]* KiB) in [0-9]* ms' "$log" | grep -o '[0-9]* ms$' || echo "?")
kill "$sandserve"; wait "$sandserve" 2>/dev/null || true
# Restarted: the runner comes from the disk cache.
port=$(free_port)
"$SANDSERVE" serve "$root" --bind 127.0.0.1 --port "$port" --config "$root/config.json" >"$log" 2>&1 &
LAST_PID=$!; PIDS+=("$LAST_PID"); wait_port "$port"
sandserve=$LAST_PID
curl -sf "http://127.0.0.1:$port/hello.py" >/dev/null
loaded=$(grep -o 'Python runner ready in [0-9.]* s' "$log" | grep -o '[0-9.]* s' || echo "?")
rest=$(rss_kib "$sandserve")

close=(-H "Connection: close")
measure_py "sandserve:hello.py:close" "$sandserve" "http://127.0.0.1:$port/hello.py" "${close[@]}"
measure_py "sandserve:echo.py:close" "$sandserve" "http://127.0.0.1:$port/echo_headers.py" "${close[@]}"
measure_py "sandserve:hello.py:keep-alive" "$sandserve" "http://127.0.0.1:$port/hello.py"
measure_py "sandserve:echo.py:keep-alive" "$sandserve" "http://127.0.0.1:$port/echo_headers.py"
# One client at a time (a browser running a test): the latency of one request.
CONNECTIONS=1 measure_py "sandserve:hello.py:close:1-conn" "$sandserve" "http://127.0.0.1:$port/hello.py" "${close[@]}"

# Memory per live instance: 100 handlers asleep at once.
before=$(rss_kib "$sandserve")
for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$port/sleep.py" >/dev/null & done
sleep 3
asleep=$(rss_kib "$sandserve")
per_instance=$(echo "($asleep - $before) / 100 / 1024" | bc -l)
pkill -P $$ curl 2>/dev/null || true

wport=$(free_port); start_wptserve "$root" "$wport"
measure_py "wptserve-4.0.3:hello.py:close" "$LAST_PID" "http://127.0.0.1:$wport/hello.py" "${close[@]}"
measure_py "wptserve-4.0.3:echo.py:close" "$LAST_PID" "http://127.0.0.1:$wport/echo_headers.py" "${close[@]}"
CONNECTIONS=1 measure_py "wptserve-4.0.3:hello.py:close:1-conn" "$LAST_PID" "http://127.0.0.1:$wport/hello.py" "${close[@]}"

echo "Python handlers, wrk -t1 -c$CONNECTIONS (1-conn: -c1) -d${DURATION}s, $(nproc) cores shared by client and servers"
printf '%-32s %12s %10s %10s %14s\n' server "requests/s" "p50 µs" "p99 µs" "CPU µs/req"
for row in "${ROWS[@]}"; do
  set -- $row
  printf '%-32s %12.0f %10.0f %10.0f %14.0f\n' "$1" "$2" "$3" "$4" "$5"
done
rate() { local r; for r in "${ROWS[@]}"; do set -- $r; [ "$1" = "$NAME" ] && echo "$2"; done; return 0; }
a=$(NAME="sandserve:hello.py:close" rate); b=$(NAME="wptserve-4.0.3:hello.py:close" rate)
printf 'trivial handler, new connection each: sandserve / wptserve = %.2f×\n' "$(echo "$a/$b" | bc -l)"
a=$(NAME="sandserve:echo.py:close" rate); b=$(NAME="wptserve-4.0.3:echo.py:close" rate)
printf 'realistic handler, new connection each: sandserve / wptserve = %.2f×\n' "$(echo "$a/$b" | bc -l)"
printf 'sandserve RSS at rest (runner loaded): %.1f MiB; per live instance: %.1f MiB\n' "$(echo "$rest/1024" | bc -l)" "$per_instance"
echo "runner: compiled in $compiled (empty cache), loaded from the disk cache in $loaded"
