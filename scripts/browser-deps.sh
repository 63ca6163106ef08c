#!/usr/bin/env bash
# What the browser tests (tests/browser.rs) need beyond the Rust toolchain:
# Chromium (Debian's package, installed when missing) and testharness.js,
# taken from a pinned npm package that ships it (wpt-runner), checked
# against its published digest, into $CARGO_TARGET_DIR/browser/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/debian.sh

WPT_RUNNER=7.0.0
WPT_RUNNER_SHA256=2c10b1278842e86c073631cd2a7c05a0cf0e29151a5c3a067f5b8ac0b582b898
target="${CARGO_TARGET_DIR:-$PWD/target}"
out="$target/browser"

if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  debian_install browser-deps chromium
fi

if [ ! -f "$out/testharness.js" ]; then
  mkdir -p "$out"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  curl -sSfL -o "$tmp/pkg.tgz" "https://registry.npmjs.org/wpt-runner/-/wpt-runner-$WPT_RUNNER.tgz"
  echo "$WPT_RUNNER_SHA256  $tmp/pkg.tgz" | sha256sum -c --quiet
  tar -xzf "$tmp/pkg.tgz" -C "$tmp" package/testharness/testharness.js
  mv "$tmp/package/testharness/testharness.js" "$out/testharness.js"
fi
