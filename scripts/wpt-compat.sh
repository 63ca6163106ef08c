#!/usr/bin/env bash
# Compatibility report for users moving from wptserve: runs the testharness.js
# tests of the chosen directories of a WPT checkout in headless Chromium
# twice, served by the checkout's own `wpt serve` and by sandserve (same host
# names, same ports), and prints per directory the subtests passing under
# each and every test whose results differ, with the reason where it shows.
#
#   scripts/wpt-compat.sh WPT_CHECKOUT [DIR...]
#
# Without DIRs it runs the directories the README reports on. Host names
# resolve to loopback inside the two servers and Chromium, so no hosts file is
# needed. Logs, the checkout's manifest and report.json (every result and the
# responses each test received) go to $WPT_COMPAT_OUT, else a new directory
# under /tmp. Needs python3 (as `wpt serve` does); installs Chromium when
# missing and builds sandserve and the Python runner.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || [ ! -f "$1/tools/serve/serve.py" ]; then
  echo "usage: scripts/wpt-compat.sh WPT_CHECKOUT [DIR...]  (a checkout has tools/serve/serve.py)" >&2
  exit 2
fi
checkout=$(cd "$1" && pwd)
shift
dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then
  dirs=(compression hr-time user-timing webstorage domparsing web-locks url)
fi

bash scripts/browser-deps.sh
bash scripts/build-python-runner.sh
bash scripts/wasmtime-patched.sh
cargo build --release --locked -p sandserve
target="${CARGO_TARGET_DIR:-$PWD/target}"
out="${WPT_COMPAT_OUT:-$(mktemp -d /tmp/wpt-compat.XXXXXX)}"
exec python3 scripts/wpt-compat.py "$checkout" "${dirs[@]}" \
  --sandserve "$target/release/sandserve" --out "$out"
