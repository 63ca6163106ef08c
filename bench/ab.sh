#!/usr/bin/env bash
# Two builds of sandserve side by side: the 1 KiB static file and the hello
# handler, each server measured ROUNDS times in turn (A B A B …), so that both
# see the same machine. For "did this change make it slower?".
#   bash bench/ab.sh OLD_SANDSERVE [NEW_SANDSERVE]
# NEW defaults to this checkout's release build (built first). Build OLD from
# another commit, e.g.
#   git worktree add /tmp/old REV && (cd /tmp/old && CARGO_TARGET_DIR=/tmp/old-target cargo build --release -p sandserve)
#   bash bench/ab.sh /tmp/old-target/release/sandserve
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || { echo "usage: $0 OLD_SANDSERVE [NEW_SANDSERVE]" >&2; exit 2; }
old=$(realpath "$1")
need_wrk
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc >/dev/null; }
if [ $# -ge 2 ]; then new=$(realpath "$2"); else build_sandserve; new=$SANDSERVE; fi
(cd "$REPO" && bash scripts/build-guests.sh >/dev/null)
ROUNDS=${ROUNDS:-3}

root=$(mktemp -d)
head -c 1024 /dev/urandom | base64 -w 64 | head -c 1024 > "$root/1k.txt"
cp "$TARGET/guests/wasm32-wasip2/release/hello.wasm" "$root/hello.wasm"
RESULTS=()

for round in $(seq 1 "$ROUNDS"); do
  for side in old new; do
    bin=$old; [ "$side" = new ] && bin=$new
    port=$(free_port)
    "$bin" serve "$root" --bind 127.0.0.1 --port "$port" --log-level warn >/dev/null 2>&1 &
    pid=$!; PIDS+=("$pid"); wait_port "$port"
    measure "$side:static#$round" "$pid" "http://127.0.0.1:$port/1k.txt"
    measure "$side:hello#$round" "$pid" "http://127.0.0.1:$port/hello.wasm"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done

echo "A = $old"
echo "B = $new"
echo "wrk -t1 -c$CONNECTIONS -d${DURATION}s, keep-alive, $ROUNDS rounds, $(nproc) cores shared by client and server"
printf '%-8s %-8s %12s %10s %10s\n' build load "requests/s" "p50 µs" "p99 µs"
for side in old new; do
  for load in static hello; do
    # The median round of each.
    row=$(for r in "${RESULTS[@]}"; do set -- $r; case "$1" in "$side:$load#"*) echo "$2 $3 $4";; esac; done |
      sort -n | awk '{ rows[NR] = $0 } END { print rows[int((NR + 1) / 2)] }')
    set -- $row
    printf '%-8s %-8s %12.0f %10.0f %10.0f\n' "$side" "$load" "$1" "$2" "$3"
  done
done
for r in "${RESULTS[@]}"; do echo "  $r"; done
