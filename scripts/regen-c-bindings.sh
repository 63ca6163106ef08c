#!/usr/bin/env bash
# Generates the C bindings of the handler world into
# guest-examples/c/bindings/ (committed, so that building the C handlers
# needs no wit-bindgen). Run it after changing wit/handler.wit.
set -euo pipefail
cd "$(dirname "$0")/.."
WIT_BINDGEN=0.63.0
if ! wit-bindgen --version 2>/dev/null | grep -q " $WIT_BINDGEN\$"; then
  cargo install --locked "wit-bindgen-cli@$WIT_BINDGEN"
fi
wit-bindgen c wit --world handler --out-dir guest-examples/c/bindings
