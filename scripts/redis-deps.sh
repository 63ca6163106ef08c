#!/usr/bin/env bash
# Installs what a stash shared by several servers is tested and deployed
# with, when missing: Debian's redis-server, and HAProxy for deploy/.
set -euo pipefail
source "$(dirname "$0")/debian.sh"

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v haproxy >/dev/null || missing+=(haproxy)
command -v curl >/dev/null || missing+=(curl)
debian_install redis-deps "${missing[@]}"
