#!/usr/bin/env bash
# Runs two sandserve instances on 127.0.0.1:8081 and :8082 behind HAProxy on
# 127.0.0.1:8080, sharing one Redis (127.0.0.1:6390) for the stash and one
# compile cache (deploy/run/cache), serving the demo document root.
#
#   bash deploy/run.sh           # runs until interrupted
#   bash deploy/run.sh --smoke   # starts everything, checks it through the
#                                # balancer, stops, and exits 0 if all passed
#
# SANDSERVE_BIN names a sandserve binary to use (default: a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
run="$root/deploy/run"
mkdir -p "$run/cache"

bash scripts/redis-deps.sh
bash scripts/build-guests.sh >/dev/null
bash scripts/build-python-runner.sh >/dev/null
target="${CARGO_TARGET_DIR:-$root/target}"
bin="${SANDSERVE_BIN:-}"
if [ -z "$bin" ]; then
  bash scripts/wasmtime-patched.sh
  cargo build --release --locked -p sandserve
  bin="$target/release/sandserve"
fi
runner="$target/python/runner.wasm"

pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT

# Waits until something accepts connections on 127.0.0.1:$1.
wait_port() {
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "deploy: nothing listens on port $1" >&2
  return 1
}

redis-server --bind 127.0.0.1 --port 6390 --save "" --appendonly no \
  --dir "$run" >"$run/redis.log" 2>&1 &
pids+=($!)
wait_port 6390

config="$run/sandserve.json"
# The committed configuration, with the runner this checkout built.
python3 - "$root/deploy/sandserve.json" "$runner" "$config" <<'PY'
import json, os, sys
source, runner, out = sys.argv[1:]
config = json.load(open(source))
base = os.path.dirname(source)
config["doc_root"] = os.path.normpath(os.path.join(base, config["doc_root"]))
config["wasm"]["cache_dir"] = os.path.normpath(os.path.join(base, config["wasm"]["cache_dir"]))
config.setdefault("python", {})["runner"] = runner
json.dump(config, open(out, "w"), indent=2)
PY
# Waits until the instance on port $1 answers (it compiles every handler
# first: --precompile).
wait_ready() {
  for _ in $(seq 1 900); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$1/index.html")" = 200 ] && return 0
    sleep 1
  done
  echo "deploy: the instance on port $1 never answered" >&2
  return 1
}
# The first instance compiles every handler into the shared cache; the
# second then loads them from it.
for port in 8081 8082; do
  "$bin" serve --config "$config" --bind 127.0.0.1 --port "$port" --precompile \
    >"$run/sandserve-$port.log" 2>&1 &
  pids+=($!)
  wait_ready "$port"
done
haproxy -f "$root/deploy/haproxy.cfg" >"$run/haproxy.log" 2>&1 &
pids+=($!)
wait_port 8080
echo "deploy: http://127.0.0.1:8080/ -> sandserve :8081, :8082; stash in redis :6390"

if [ "${1:-}" != "--smoke" ]; then
  wait
  exit 0
fi

fails=0
check() { # name, expected, actual
  if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAILED: $1: expected '$2', got '$3'"; fails=$((fails + 1)); fi
}
get() { curl -s --max-time 30 "$@"; }
balancer=http://127.0.0.1:8080
key=$(python3 -c 'import uuid; print(uuid.uuid4())')
check "a file through the balancer" "200" "$(get -o /dev/null -w '%{http_code}' $balancer/index.html)"
# Put through one instance, take through the other.
check "put on :8081" "stored" "$(get "http://127.0.0.1:8081/handlers/stash-roundtrip.wasm?action=put&key=$key&value=shared")"
check "take on :8082" "shared" "$(get "http://127.0.0.1:8082/handlers/stash-roundtrip.wasm?action=take&key=$key")"
# Round robin: consecutive connections alternate, so each put and its
# take land on different instances.
for i in 1 2 3 4 5 6; do
  k=$(python3 -c 'import uuid; print(uuid.uuid4())')
  get "$balancer/handlers/stash-roundtrip.wasm?action=put&key=$k&value=v$i" >/dev/null
  check "put and take $i through the balancer" "v$i" \
    "$(get "$balancer/handlers/stash-roundtrip.wasm?action=take&key=$k")"
done
# A Python handler counting under the stash lock, 20 times through the
# balancer: no increment lost between the instances.
counter=$(python3 -c 'import uuid; print(uuid.uuid4())')
clients=()
for _ in $(seq 1 19); do
  get "$balancer/python/counter.py?key=$counter" >/dev/null &
  clients+=($!)
done
wait "${clients[@]}"
check "a counter from both instances" "20" "$(get "$balancer/python/counter.py?key=$counter")"
# One instance gone: the balancer's health check drops it, and what the
# other instance serves still finds the stash.
k=$(python3 -c 'import uuid; print(uuid.uuid4())')
get "$balancer/handlers/stash-roundtrip.wasm?action=put&key=$k&value=survives" >/dev/null
kill "${pids[1]}"
for i in 1 2 3 4; do
  check "served with one instance down ($i)" "200" \
    "$(get -o /dev/null -w '%{http_code}' $balancer/index.html)"
done
check "the stash after an instance died" "survives" \
  "$(get "http://127.0.0.1:8082/handlers/stash-roundtrip.wasm?action=take&key=$k")"
[ "$fails" -eq 0 ] && echo "deploy smoke test: passed" || { echo "deploy smoke test: $fails failed"; exit 1; }
