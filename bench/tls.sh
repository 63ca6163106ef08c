#!/usr/bin/env bash
# TLS: a 1 KiB static file over keep-alive on https against http on the same
# server in the same run, then a new connection for every request (so a full
# TLS handshake each time on https) to count handshakes per second.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_wrk; build_sandserve
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc >/dev/null; }

root=$(mktemp -d); certs=$(mktemp -d)
head -c 1024 /dev/urandom | base64 -w 64 | head -c 1024 > "$root/1k.txt"
http=$(free_port); https=$(free_port)
config=$(mktemp)
cat > "$config" <<JSON
{"browser_host": "127.0.0.1", "ports": {"http": [$http], "https": [$https]},
 "ssl": {"type": "openssl", "openssl": {"base_path": "$certs"}}}
JSON
"$SANDSERVE" serve "$root" --config "$config" --log-level warn >/dev/null 2>&1 &
LAST_PID=$!; PIDS+=("$LAST_PID"); wait_port "$http"; wait_port "$https"

RESULTS=()
measure "http-keep-alive" "$LAST_PID" "http://127.0.0.1:$http/1k.txt"
measure "https-keep-alive" "$LAST_PID" "https://127.0.0.1:$https/1k.txt"
close() { # measure with a new connection per request
  local name=$1 url=$2 out
  wrk -t1 -c"$CONNECTIONS" -d1s -H "Connection: close" "$url" >/dev/null 2>&1 || true
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Connection: close" "$url")
  RESULTS+=("$name $(awk '/^Requests\/sec:/ {print $2}' <<<"$out") $(to_us "$(awk '$1 == "50%" {print $2}' <<<"$out")") $(to_us "$(awk '$1 == "99%" {print $2}' <<<"$out")") $(rss_kib "$LAST_PID")")
}
close "http-new-connection" "http://127.0.0.1:$http/1k.txt"
close "https-new-handshake" "https://127.0.0.1:$https/1k.txt"

echo "1 KiB static file, wrk -t1 -c$CONNECTIONS -d${DURATION}s, $(nproc) cores shared; TLS 1.3 (rustls, ring)"
report "http-keep-alive"
ratio "https-keep-alive" "http-keep-alive"
ratio "https-new-handshake" "http-new-connection"
