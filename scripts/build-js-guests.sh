#!/usr/bin/env bash
# Builds the JavaScript handlers in guest-examples/js/ into components:
# each handler module is bundled with sandserve.js (rolldown), then made a
# component of the handler world by componentize-js (both pinned in
# guest-examples/js/package.json, installed here with npm when missing).
# Output: $CARGO_TARGET_DIR/js-guests/NAME.wasm; the demo gets the examples.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
js="$root/guest-examples/js"
out="${CARGO_TARGET_DIR:-$root/target}/js-guests"
mkdir -p "$out" demo/handlers/js

command -v npm >/dev/null || {
  echo "build-js-guests: npm is missing (Node.js 18 or later is needed)" >&2
  exit 1
}
if [ ! -x "$js/node_modules/.bin/componentize-js" ] || [ ! -x "$js/node_modules/.bin/rolldown" ]; then
  (cd "$js" && npm install --no-save --no-audit --no-fund --loglevel=error)
fi

externals=()
for iface in types http server stash session log timing view; do
  externals+=(--external "sandserve:handler/$iface@0.3.0")
done

for source in "$js"/*.js; do
  name=$(basename "$source" .js)
  [ "$name" = sandserve ] && continue
  wasm="$out/$name.wasm"
  # Built again only when the handler, the helper or the world changed.
  if [ -f "$wasm" ] && [ "$wasm" -nt "$source" ] && [ "$wasm" -nt "$js/sandserve.js" ] \
    && [ "$wasm" -nt "$root/wit/handler.wit" ]; then
    continue
  fi
  work=$(mktemp -d)
  cat >"$work/entry.js" <<JS
import { handle as user } from "$source";
import { wrap } from "$js/sandserve.js";
export const handle = wrap(user);
JS
  "$js/node_modules/.bin/rolldown" "$work/entry.js" --format esm --file "$work/bundle.js" \
    "${externals[@]}" >/dev/null
  start=$(date +%s%N)
  "$js/node_modules/.bin/componentize-js" "$work/bundle.js" --wit "$root/wit" -n handler \
    --disable http fetch-event -o "$wasm" >/dev/null
  echo "build-js-guests: $name.wasm ($(( $(stat -c %s "$wasm") / 1024 )) KiB) in $(( ($(date +%s%N) - start) / 1000000 )) ms"
  rm -rf "$work"
done
for wasm in "$out"/*.wasm; do
  case "$(basename "$wasm")" in hostile-*) continue ;; esac
  cp "$wasm" demo/handlers/js/
done
echo "build-js-guests: $out; demo handlers: demo/handlers/js/"
