#!/usr/bin/env bash
# Runs the whole sandserve test suite: unit tests and end-to-end tests over
# real sockets. Needs only the Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --locked "$@"
