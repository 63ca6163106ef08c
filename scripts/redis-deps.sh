#!/usr/bin/env bash
# Installs what a stash shared by several servers is tested and deployed
# with, when missing: Debian's redis-server, and HAProxy for deploy/.
set -euo pipefail

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v haproxy >/dev/null || missing+=(haproxy)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    echo "redis-deps: installing ${missing[*]}" >&2
    apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -q "${missing[@]}" >/dev/null; }
  else
    echo "redis-deps: ${missing[*]} missing and apt-get is not here to install them" >&2
    exit 1
  fi
fi
