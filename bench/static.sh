#!/usr/bin/env bash
# A 1 KiB static file over keep-alive: sandserve against wptserve 4.0.3 (the
# reference) and nginx with one worker (the practical ceiling), same run,
# same load generator (wrk, one thread, $CONNECTIONS connections).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_wrk; need_nginx; need_wptserve; build_sandserve
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc >/dev/null; }

root=$(mktemp -d)
head -c 1024 /dev/urandom | base64 -w 64 | head -c 1024 > "$root/1k.txt"
chmod 755 "$root"; chmod 644 "$root/1k.txt"   # nginx's worker runs as another user
RESULTS=()

port=$(free_port); start_nginx "$root" "$port"
measure "nginx-1-worker" "$LAST_PID" "http://127.0.0.1:$port/1k.txt"

port=$(free_port); start_sandserve "$root" "$port" --log-level warn
measure "sandserve" "$LAST_PID" "http://127.0.0.1:$port/1k.txt"

port=$(free_port); start_sandserve "$root" "$port"
measure "sandserve+access-log" "$LAST_PID" "http://127.0.0.1:$port/1k.txt"

port=$(free_port); start_wptserve "$root" "$port"
measure "wptserve-4.0.3" "$LAST_PID" "http://127.0.0.1:$port/1k.txt"

echo "1 KiB static file, keep-alive, wrk -t1 -c$CONNECTIONS -d${DURATION}s, $(nproc) cores shared by client and server"
report "wptserve-4.0.3"
echo
report "nginx-1-worker"
