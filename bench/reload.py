"""Live handlers, measured: save-to-served time and start-up with 200 handlers.

Usage: reload.py SANDSERVE SMALL.wasm LARGE.wasm

- save-to-served: a new version of the handler is renamed into place, then
  requested; the time from the rename to the complete response. A cache miss
  is content never seen (the component with a unique custom section appended:
  same code, new hash); a cache hit is content already in the disk cache.
- start-up: `sandserve serve --precompile` over 200 distinct handlers, from
  launch to the summary line, with an empty cache and then a warm one.
"""
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SANDSERVE, SMALL, LARGE = sys.argv[1:4]


def leb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def variant(data, tag):
    """The component with a custom section appended: same code, new content."""
    name = b"sandserve-bench"
    payload = leb(len(name)) + name + tag.encode()
    return data + b"\x00" + leb(len(payload)) + payload


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(root, cache, *extra):
    port = free_port()
    config = os.path.join(root, "..", "config-%d.json" % port)
    with open(config, "w") as f:
        f.write('{"wasm": {"cache_dir": "%s"}}' % cache)
    proc = subprocess.Popen(
        [SANDSERVE, "serve", root, "--bind", "127.0.0.1", "--port", str(port),
         "--log-level", "warn", "--config", config, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, port


def wait_ready(proc, needle):
    for line in proc.stdout:
        if needle in line:
            return line
    raise RuntimeError("server ended before printing " + needle)


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    if resp.status != 200:
        raise RuntimeError("%s -> %d %r" % (path, resp.status, body[:200]))


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def save_to_served(label, source, runs):
    with open(source, "rb") as f:
        data = f.read()
    work = tempfile.mkdtemp()
    root, cache = os.path.join(work, "root"), os.path.join(work, "cache")
    os.makedirs(root)
    target = os.path.join(root, "h.wasm")

    def install(content):
        tmp = target + ".tmp"
        with open(tmp, "wb") as f:
            f.write(content)
        os.rename(tmp, target)

    install(data)
    proc, port = start(root, cache)
    wait_ready(proc, "bound to")
    get(port, "/h.wasm")
    misses, hits = [], []
    seen = [variant(data, "hit-a"), variant(data, "hit-b")]
    for content in seen:  # put both in the disk cache
        install(content)
        get(port, "/h.wasm")
    for i in range(runs):
        content = variant(data, "miss-%d-%f" % (i, time.time()))
        t0 = time.perf_counter()
        install(content)
        get(port, "/h.wasm")
        misses.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        install(seen[i % 2])
        get(port, "/h.wasm")
        hits.append(time.perf_counter() - t0)
    proc.terminate()
    proc.wait()
    shutil.rmtree(work)
    size = len(data) / 1024
    for kind, values in (("cache miss", misses), ("cache hit", hits)):
        print("save-to-served %-22s %8.0f KiB %-10s p50 %7.1f ms  p95 %7.1f ms  (%d runs)" % (
            label, size, kind, pct(values, 0.5) * 1000, pct(values, 0.95) * 1000, len(values)))


def startup(count):
    with open(SMALL, "rb") as f:
        data = f.read()
    work = tempfile.mkdtemp()
    root, cache = os.path.join(work, "root"), os.path.join(work, "cache")
    os.makedirs(root)
    for i in range(count):
        with open(os.path.join(root, "h%03d.wasm" % i), "wb") as f:
            f.write(variant(data, "startup-%d" % i))
    for kind in ("cold cache", "warm cache"):
        t0 = time.perf_counter()
        proc, port = start(root, cache, "--precompile")
        line = wait_ready(proc, "precompiled")
        took = time.perf_counter() - t0
        get(port, "/h%03d.wasm" % (count - 1))
        proc.terminate()
        proc.wait()
        print("start-up with %d handlers, %s: %.2f s to ready (%s)" % (count, kind, took, line.strip()))
    shutil.rmtree(work)


save_to_served("small Rust guest", SMALL, 20)
save_to_served("large guest", LARGE, 10)
startup(200)
