#!/usr/bin/env bash
# HTTP/2: the 1 KiB static file over h2 (h2load, 32 connections, 10 streams
# each at once) against HTTP/1.1 keep-alive over TLS (h2load --h1, 32
# connections) on the same server in the same run, and HTTP/1.1 without TLS
# (wrk) for reference. h2load is Debian's nghttp2-client (installed when
# missing).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_wrk
command -v h2load >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nghttp2-client >/dev/null; }
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc >/dev/null; }
build_sandserve

root=$(mktemp -d)
head -c 1024 /dev/urandom >"$root/1k.bin"
certs=$(mktemp -d)
http=$(free_port); https=$(free_port); h2=$(free_port)
cat >"$root/config.json" <<JSON
{"browser_host": "localhost", "server_host": "127.0.0.1",
 "ports": {"http": [$http], "https": [$https], "h2": [$h2]},
 "ssl": {"type": "openssl", "openssl": {"base_path": "$certs"}}}
JSON
"$SANDSERVE" serve "$root" --config "$root/config.json" >/dev/null 2>&1 &
pid=$!; PIDS+=("$pid"); wait_port "$h2"

ROWS=()
# h2load_row NAME [h2load flags] URL: requests/s and mean/max latency (µs).
h2load_row() {
  local name=$1 out rps mean; shift
  h2load -D 1 "$@" >/dev/null 2>&1 || true   # warm-up
  out=$(h2load -D "$DURATION" "$@")
  if ! grep -q "0 failed, 0 errored" <<<"$out"; then
    echo "error: $name: $(grep -E 'requests:' <<<"$out")" >&2; exit 1
  fi
  rps=$(awk '/^finished in/ {gsub(",", "", $4); print $4}' <<<"$out")
  mean=$(to_us "$(awk '/^time for request:/ {print $6}' <<<"$out")")
  ROWS+=("$name $rps $mean")
}
h2load_row "h2 (32 connections x 10 streams)" -c 32 -m 10 "https://127.0.0.1:$h2/1k.bin"
h2load_row "h2 (32 connections x 1 stream)" -c 32 -m 1 "https://127.0.0.1:$h2/1k.bin"
h2load_row "https/1.1 keep-alive (32)" --h1 -c 32 "https://127.0.0.1:$https/1k.bin"
out=$(wrk -t1 -c32 -d"${DURATION}s" --latency "http://127.0.0.1:$http/1k.bin")
ROWS+=("http/1.1 keep-alive (wrk, 32) $(awk '/^Requests\/sec:/ {print $2}' <<<"$out") $(to_us "$(awk '/^    Latency/ {print $2}' <<<"$out")")")

printf '%-36s %12s %14s\n' workload "requests/s" "mean µs"
for row in "${ROWS[@]}"; do
  name=${row% * *}; rest=${row##"$name "}
  set -- $rest
  printf '%-36s %12.0f %14.0f\n' "$name" "$1" "$2"
done
set -- ${ROWS[0]##*x 10 streams) }; a=$1
b=$(awk '{print $(NF-1)}' <<<"${ROWS[2]}")
printf 'h2 (10 streams a connection) / https/1.1 keep-alive: %.2f×\n' "$(echo "$a/$b" | bc -l)"
