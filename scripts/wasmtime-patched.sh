#!/usr/bin/env bash
# Unpacks wasmtime 48.0.8 as published on crates.io (checked against its
# SHA-256) into build/wasmtime-48.0.8 and applies this project's patches to
# it, in name order (patches/wasmtime-48.0.8-*.patch):
#   funcref: a function reference made at instantiation finds its code
#     through a table per module, not two searches (for the large modules
#     of an interpreter, whose tables are filled at each instantiation);
#   pagemap: a slot reset that finds every page a request dirtied, not only
#     the first 32 runs of them, and the swapped-out ones too.
# The workspace's [patch.crates-io] builds that copy, so this runs before
# any cargo command of the workspace; it does nothing when done.
set -euo pipefail
cd "$(dirname "$0")/.."

version=48.0.8
sha256=a2afcadb2e7d0417cb8f3f322c66eff49338b288f22290c0ca0bd3e9570732aa
patches=(patches/wasmtime-$version-*.patch)
dest=build/wasmtime-$version
stamp="$dest/.patched-$(cat "${patches[@]}" | sha256sum | cut -c1-16)"
[ -f "$stamp" ] && exit 0

mkdir -p build
# The crate as cargo keeps it, when it has it; else from crates.io.
crate=""
for cached in "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/wasmtime-$version.crate; do
  if [ -f "$cached" ] && echo "$sha256  $cached" | sha256sum -c --quiet - 2>/dev/null; then
    crate=$cached
    break
  fi
done
if [ -z "$crate" ]; then
  crate=build/wasmtime-$version.crate
  curl -sSfL --retry 3 -o "$crate" "https://static.crates.io/crates/wasmtime/wasmtime-$version.crate"
  if ! echo "$sha256  $crate" | sha256sum -c --quiet -; then
    echo "wasmtime-patched: $crate is not the published wasmtime $version" >&2
    rm -f "$crate"
    exit 1
  fi
fi

rm -rf "$dest"
tar -xzf "$crate" -C build
# git is there wherever this repository is; applied outside any repository
# so that the paths are the crate's.
for patch in "${patches[@]}"; do
  (cd "$dest" && GIT_CEILING_DIRECTORIES="$PWD/.." git apply --unsafe-paths -p1 "$OLDPWD/$patch") || {
    echo "wasmtime-patched: $patch does not apply to wasmtime $version" >&2
    exit 1
  }
done
touch "$stamp"
echo "wasmtime-patched: $dest ready"
