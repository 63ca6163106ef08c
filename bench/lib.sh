# Shared helpers for the benchmarks in bench/. Sourced, not run.
# Each benchmark runs sandserve and its peers in the same run, on loopback,
# with the same load generator, and reports ratios.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
SANDSERVE="$TARGET/release/sandserve"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

need_wrk() {
  command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
}

need_nginx() {
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }
}

need_wptserve() {
  python3 -c 'import wptserve' 2>/dev/null || python3 -m pip install -q wptserve==4.0.3
}

build_sandserve() {
  (cd "$REPO" && bash scripts/wasmtime-patched.sh >/dev/null && cargo build --release --locked -q -p sandserve)
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
  local port=$1
  for _ in $(seq 1 200); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing listening on $port" >&2; return 1
}

# start_sandserve DOC_ROOT PORT [extra flags…]: starts it, sets LAST_PID.
start_sandserve() {
  local root=$1 port=$2; shift 2
  "$SANDSERVE" serve "$root" --bind 127.0.0.1 --port "$port" "$@" >/dev/null 2>&1 &
  LAST_PID=$!; PIDS+=("$LAST_PID"); wait_port "$port"
}

# start_wptserve DOC_ROOT PORT [SUBDOMAIN…]
start_wptserve() {
  local root=$1 port=$2; shift 2
  python3 "$BENCH_DIR/peers/wptserve_serve.py" "$root" "$port" "$@" >/dev/null 2>&1 &
  LAST_PID=$!; PIDS+=("$LAST_PID"); wait_port "$port"
}

start_nginx() {
  local root=$1 port=$2 dir
  dir=$(mktemp -d)
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 10000000;
  default_type application/octet-stream;
  server { listen 127.0.0.1:$port; root $root; location / { } }
}
CONF
  /usr/sbin/nginx -c "$dir/nginx.conf" -p "$dir" >/dev/null 2>&1 &
  LAST_PID=$!; PIDS+=("$LAST_PID"); wait_port "$port"
}

rss_kib() {
  # Resident memory of a process and its children, in KiB.
  # A process that has gone (or is a zombie, with no VmRSS) counts 0.
  local total=0 pid kib
  for pid in $1 $(pgrep -P "$1" 2>/dev/null); do
    kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    total=$((total + ${kib:-0}))
  done
  echo "$total"
}

to_us() {
  # wrk latency (e.g. 812.00us, 1.20ms, 2.00s) to microseconds.
  awk -v v="$1" 'BEGIN {
    n = v + 0;
    if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1000000; else print n }'
}

# measure NAME PID URL: runs wrk, appends "NAME rps p50_us p99_us rss_kib" to RESULTS.
measure() {
  local name=$1 pid=$2 url=$3 out rps p50 p99
  wrk -t1 -c"$CONNECTIONS" -d1s "$url" >/dev/null 2>&1 || true   # warm-up
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(to_us "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(to_us "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  RESULTS+=("$name $rps $p50 $p99 $(rss_kib "$pid")")
  if grep -q "Non-2xx" <<<"$out"; then
    echo "error: $name answered non-2xx: $(grep Non-2xx <<<"$out")" >&2; exit 1
  fi
}

# report BASELINE: prints the table, with each row's throughput as a ratio of BASELINE's.
report() {
  local base=$1 row base_rps
  for row in "${RESULTS[@]}"; do
    set -- $row; [ "$1" = "$base" ] && base_rps=$2
  done
  printf '%-28s %12s %10s %10s %10s %10s\n' server "requests/s" "p50 µs" "p99 µs" "RSS MiB" "× $base"
  for row in "${RESULTS[@]}"; do
    set -- $row
    printf '%-28s %12.0f %10.0f %10.0f %10.1f %10.2f\n' "$1" "$2" "$3" "$4" "$(echo "$5/1024" | bc -l)" "$(echo "$2/$base_rps" | bc -l)"
  done
}

# ratio A B: prints "A / B = N×" from the measured throughputs.
ratio() {
  local A_NAME=$1 B_NAME=$2 row a b
  for row in "${RESULTS[@]}"; do
    set -- $row
    [ "$1" = "$A_NAME" ] && a=$2
    [ "$1" = "$B_NAME" ] && b=$2
  done
  printf '%s / %s = %.1f×\n' "$A_NAME" "$B_NAME" "$(echo "$a/$b" | bc -l)"
}
