#!/usr/bin/env bash
# Builds the fuzz targets in fuzz/ and runs each for SECONDS (default 10).
# Installs cargo-fuzz when it is missing. Runs on the stable toolchain
# (coverage-guided, without a sanitizer: `-s none`).
#   bash scripts/fuzz.sh          # a short run of every target
#   bash scripts/fuzz.sh 3600     # an hour each
#   bash scripts/fuzz.sh 600 pipe_parser
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
shift || true
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(pipe_parser pipelines template_tokenizer request_head)
cargo fuzz build -O -s none
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "${targets[@]}"; do
  if ! cargo fuzz run -O -s none "$t" -- -max_total_time="$seconds" >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz target $t failed: the input is saved under fuzz/artifacts/$t/" >&2
    exit 1
  fi
  echo "$t: $(grep -E '^Done' "$log")"
done
