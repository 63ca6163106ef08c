#!/usr/bin/env bash
# Pipes and substitution: a .sub.html page and a static file with
# ?pipe=header(X-A,1)|status(201), sandserve against wptserve 4.0.3 in the
# same run with the same load generator.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_wrk; need_wptserve; build_sandserve
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc >/dev/null; }

root=$(mktemp -d)
cat > "$root/page.sub.html" <<'HTML'
<!doctype html>
<meta charset="utf-8">
<title>{{host}} substitution</title>
<script>
const uuid = "{{uuid()}}";
const cross = "http://{{domains[www]}}:{{ports[http][0]}}/common/blank.html";
const here = "{{location[server]}}{{location[path]}}";
const token = "{{GET[token]}}";
</script>
<p>Served from {{location[host]}} for {{header_or_default(user-agent, an unnamed client)}}.</p>
HTML
head -c 1024 /dev/urandom | base64 -w 64 | head -c 1024 > "$root/1k.txt"
pipe='?pipe=header(X-A,1)|status(201)'
config=$(mktemp)
echo '{"subdomains": ["www"], "browser_host": "localhost"}' > "$config"

RESULTS=()
port=$(free_port); start_sandserve "$root" "$port" --log-level warn --config "$config"
measure "sandserve:sub.html" "$LAST_PID" "http://127.0.0.1:$port/page.sub.html?token=abc"
measure "sandserve:pipe" "$LAST_PID" "http://127.0.0.1:$port/1k.txt$pipe"

port=$(free_port); start_wptserve "$root" "$port" www
measure "wptserve:sub.html" "$LAST_PID" "http://127.0.0.1:$port/page.sub.html?token=abc"
measure "wptserve:pipe" "$LAST_PID" "http://127.0.0.1:$port/1k.txt$pipe"

echo ".sub.html page and a piped 1 KiB static file, wrk -t1 -c$CONNECTIONS -d${DURATION}s, $(nproc) cores shared"
report "wptserve:sub.html"
ratio "sandserve:sub.html" "wptserve:sub.html"
ratio "sandserve:pipe" "wptserve:pipe"
