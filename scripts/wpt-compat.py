#!/usr/bin/env python3
"""Runs testharness.js tests of a WPT checkout in headless Chromium twice --
served by the checkout's own `wpt serve` and by sandserve, on the same host
names and ports -- and reports, per directory, the subtests passing under
each and every test whose results differ, with the reason where one shows.

Usage: wpt-compat.py CHECKOUT DIR... [--sandserve BIN] [--out DIR]

Only the standard library is used. Chromium is driven through its DevTools
protocol (a small WebSocket client below); the checkout's own
resources/testharnessreport.js puts each page's results into the page, where
they are read. Every response the browser receives (pages, frames, workers)
is recorded, so that a test whose results differ can be explained by the
responses that differed.
"""

import argparse
import base64
import collections
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HOST = "web-platform.test"
HARNESS = {0: "OK", 1: "ERROR", 2: "TIMEOUT", 3: "PRECONDITION_FAILED"}
SUBTEST = {0: "PASS", 1: "FAIL", 2: "TIMEOUT", 3: "NOTRUN", 4: "PRECONDITION_FAILED"}
RESULTS_JS = """(() => {
  const e = document.getElementById('__testharness__results__');
  return e ? e.textContent : null;
})()"""


def log(*args):
    print("wpt-compat:", *args, file=sys.stderr, flush=True)


# --- the tests -------------------------------------------------------------

class Test:
    """One testharness URL of the manifest."""

    def __init__(self, url, long_timeout):
        self.url = "/" + url.lstrip("/")
        self.long = long_timeout
        parsed = urllib.parse.urlsplit(url)
        name = parsed.path.rsplit("/", 1)[1]
        flags = set(name.split(".")[1:-1])
        flags |= set(urllib.parse.parse_qs(parsed.query).get("wpt_flags", []))
        self.https = bool(flags & {"https", "serviceworker", "serviceworker-module"})
        self.h2 = "h2" in flags
        self.www = "www" in flags

    def address(self, ports):
        scheme = "https" if self.https else "http"
        host = ("www." + HOST) if self.www else HOST
        return f"{scheme}://{host}:{ports[scheme][0]}{self.url}"

    def timeout(self):
        return 60 if self.long else 10


def manifest_tests(checkout, out, dirs):
    """The testharness tests under `dirs`, from the checkout's own manifest."""
    path = os.path.join(out, "MANIFEST.json")
    log("updating the checkout's manifest (the first time takes about a minute)")
    subprocess.run(
        [sys.executable, os.path.join(checkout, "wpt"), "manifest", "-p", path,
         "--tests-root", checkout, "--cache-root", os.path.join(out, "wptcache"),
         "--no-download"],
        check=True, cwd=checkout, stdout=subprocess.DEVNULL)
    with open(path) as f:
        items = json.load(f)["items"].get("testharness", {})
    tests = collections.OrderedDict()
    for d in dirs:
        node = items
        for part in d.strip("/").split("/"):
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                break
        found = []

        def walk(node, prefix):
            for key, value in sorted(node.items()):
                path = f"{prefix}/{key}"
                if isinstance(value, dict):
                    walk(value, path)
                    continue
                for url, extras in value[1:]:
                    found.append(Test(url or path, extras.get("timeout") == "long"))

        if isinstance(node, dict):
            walk(node, "/" + d.strip("/"))
        tests[d.strip("/")] = found
    return tests


# --- the servers -----------------------------------------------------------

def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def server_config(out, ports):
    config = {
        "browser_host": HOST,
        "server_host": "127.0.0.1",
        "check_subdomains": False,
        "ports": {k: list(v) for k, v in ports.items()},
    }
    path = os.path.join(out, "config.json")
    with open(path, "w") as f:
        json.dump(config, f, indent=1)
    return path


def serve_wpt_main(checkout, config):
    """`wpt serve` with the test host names resolving to loopback (in this
    process and the server processes it forks), so no hosts file is needed."""
    real = socket.getaddrinfo

    def loopback(host, *args, **kwargs):
        if isinstance(host, str) and (host.endswith(HOST) or host.endswith("not-" + HOST)):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    socket.getaddrinfo = loopback
    sys.path.insert(0, checkout)
    os.chdir(checkout)
    sys.argv = [os.path.join(checkout, "wpt"), "serve", "--config", config]
    from tools.wpt import wpt  # the checkout's own
    wpt.main()


class Server:
    def __init__(self, name, argv, log_path, ports):
        self.name = name
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.wait_ready(ports)

    def wait_ready(self, ports):
        deadline = time.time() + 120
        for port in ports["http"] + ports["https"]:
            while True:
                if self.proc.poll() is not None:
                    raise SystemExit(f"{self.name} exited at start-up; see {self.log_path}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise SystemExit(f"{self.name} did not listen on {port}; see {self.log_path}")
                    time.sleep(0.2)

    def stop(self):
        for sig, wait in ((signal.SIGINT, 10), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()


# --- Chromium through its DevTools protocol --------------------------------

class DevTools:
    """A WebSocket client of Chromium's DevTools endpoint, just enough for it:
    text frames out (masked), frames in (unmasked, possibly fragmented)."""

    def __init__(self, port, path):
        self.sock = socket.create_connection(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"DevTools refused the WebSocket: {head[:200]!r}")
        self.next_id = 0
        self.replies = {}
        self.on_event = lambda msg: None

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _message(self):
        parts = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
            opcode = b0 & 0x0F
            if opcode == 8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode == 9:
                self._frame(0xA, data)
                continue
            if opcode == 0xA:
                continue
            parts.append(data)
            if b0 & 0x80:
                return json.loads(b"".join(parts))

    def _frame(self, opcode, data):
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.sock.sendall(head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(data)))

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._frame(0x1, json.dumps(msg).encode())
        return self.next_id

    def pump(self, seconds):
        """Handles what arrives during `seconds`."""
        end = time.time() + seconds
        while True:
            left = end - time.time()
            if left <= 0 and not self.buf:
                return
            self.sock.settimeout(max(left, 0.001))
            try:
                msg = self._message()
            except socket.timeout:
                return
            finally:
                self.sock.settimeout(None)
            if "id" in msg:
                self.replies[msg["id"]] = msg
            else:
                self.on_event(msg)

    def call(self, method, params=None, session=None, timeout=30):
        ident = self.send(method, params, session)
        end = time.time() + timeout
        while ident not in self.replies:
            if time.time() > end:
                raise TimeoutError(f"DevTools did not answer {method}")
            self.pump(0.1)
        reply = self.replies.pop(ident)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})


class Browser:
    """Headless Chromium, with every page, frame and worker attached so that
    the responses each test received are recorded."""

    AUTO = {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True}

    def __init__(self, chromium, profile):
        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-dev-shm-usage", "--ignore-certificate-errors",
             f"--host-resolver-rules=MAP {HOST} 127.0.0.1, MAP *.{HOST} 127.0.0.1, "
             f"MAP not-{HOST} 127.0.0.1, MAP *.not-{HOST} 127.0.0.1",
             "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        active = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + 60
        while not (os.path.exists(active) and len(open(active).read().split("\n")) >= 2):
            if time.time() > deadline or self.proc.poll() is not None:
                raise SystemExit("Chromium did not open its DevTools port")
            time.sleep(0.1)
        port, path = open(active).read().split("\n")[:2]
        self.dt = DevTools(int(port), path)
        self.dt.on_event = self._event
        self.sessions = {}  # target id -> session id
        self.urls = {}  # request id -> url
        self.responses = []  # of the test being run
        self.dt.call("Target.setAutoAttach", self.AUTO)

    @staticmethod
    def ours(url):
        host = urllib.parse.urlsplit(url).hostname or ""
        return host == HOST or host.endswith("." + HOST) or host.endswith("not-" + HOST)

    def _event(self, msg):
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Target.attachedToTarget":
            session = params["sessionId"]
            self.sessions[params["targetInfo"]["targetId"]] = session
            self.dt.send("Network.enable", {}, session)
            if params["targetInfo"]["type"] in ("page", "iframe", "worker", "shared_worker", "service_worker"):
                self.dt.send("Target.setAutoAttach", self.AUTO, session)
            self.dt.send("Runtime.runIfWaitingForDebugger", {}, session)
        elif method == "Network.requestWillBeSent":
            self.urls[params["requestId"]] = params["request"]["url"]
        elif method == "Network.responseReceived":
            r = params["response"]
            if self.ours(r["url"]):
                headers = {k.lower(): v for k, v in r.get("headers", {}).items()}
                self.responses.append((r["url"], r["status"], headers.get("content-type", "")))
        elif method == "Network.loadingFailed":
            url = self.urls.get(params["requestId"])
            if url and self.ours(url) and not params.get("canceled"):
                self.responses.append((url, "failed: " + params.get("errorText", ""), ""))

    def run(self, url, harness_timeout):
        """Loads `url`; its results, or what happened instead."""
        self.responses = []
        target = self.dt.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        deadline = time.time() + 10
        while target not in self.sessions:
            if time.time() > deadline:
                raise RuntimeError("Chromium did not attach the new page")
            self.dt.pump(0.05)
        session = self.sessions[target]
        results = None
        try:
            self.dt.call("Page.navigate", {"url": url}, session)
            deadline = time.time() + harness_timeout + 15
            while time.time() < deadline:
                self.dt.pump(0.25)
                try:
                    value = self.dt.call("Runtime.evaluate",
                                         {"expression": RESULTS_JS, "returnByValue": True},
                                         session, timeout=10)
                except (RuntimeError, TimeoutError):
                    continue  # between documents
                text = value.get("result", {}).get("value")
                if text:
                    results = json.loads(text)
                    break
            self.dt.pump(0.1)
        finally:
            self.dt.call("Target.closeTarget", {"targetId": target})
            self.sessions.pop(target, None)
        if results is None:
            return {"status": "NO RESULT", "message": "no harness result within "
                    f"{harness_timeout + 15} s", "subtests": {}}, self.responses
        subtests = {}
        for t in results["tests"]:
            subtests[t["name"]] = SUBTEST.get(t["status"], str(t["status"]))
        return ({"status": HARNESS.get(results["status"], str(results["status"])),
                 "message": results.get("message"), "subtests": subtests}, self.responses)

    def close(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


# --- comparing -------------------------------------------------------------

def outcome(result):
    return (result["status"], tuple(sorted(result["subtests"].items())))


def passing(result):
    return sum(1 for s in result["subtests"].values() if s == "PASS")


def explain(page, wpt, ours):
    """Why the results of `page` differ, from the responses each run saw."""
    a = collections.OrderedDict()
    for url, status, ctype in wpt["responses"]:
        a.setdefault(url, (status, ctype))
    b = collections.OrderedDict()
    for url, status, ctype in ours["responses"]:
        b.setdefault(url, (status, ctype))
    path = lambda url: urllib.parse.urlsplit(url)._replace(scheme="", netloc="").geturl()
    if page in b and page in a and b[page][0] != a[page][0]:
        return f"the test page answered {b[page][0]} (wpt serve: {a[page][0]})"
    reasons = []
    for url in list(a) + [u for u in b if u not in a]:
        if url == page:
            continue
        theirs, mine = a.get(url), b.get(url)
        if theirs == mine:
            continue
        p = path(url)
        python = urllib.parse.urlsplit(url).path.endswith(".py")
        what = "Python handler " if python else ""
        if theirs and mine:
            if theirs[0] != mine[0]:
                reasons.append(f"{what}{p} answered {mine[0]} (wpt serve: {theirs[0]})")
            else:
                reasons.append(f"{what}{p} Content-Type {mine[1]!r} (wpt serve: {theirs[1]!r})")
        elif theirs:
            reasons.append(f"{what}{p} requested under wpt serve only (answered {theirs[0]})")
        else:
            reasons.append(f"{what}{p} requested under sandserve only (answered {mine[0]})")
    if reasons:
        return "; ".join(reasons[:4]) + ("; …" if len(reasons) > 4 else "")
    return "no response differed in status or type"


def run_all(label, argv, out, ports, chromium, tests):
    log(f"{label}: starting")
    server = Server(label, argv, os.path.join(out, f"{label}.log"), ports)
    profile = tempfile.mkdtemp(prefix="wpt-compat-profile-")
    browser = Browser(chromium, profile)
    results = {}
    try:
        total = len(tests)
        for i, test in enumerate(tests, 1):
            address = test.address(ports)
            result, responses = browser.run(address, test.timeout())
            result["responses"] = responses
            result["address"] = address
            results[test.url] = result
            if i % 25 == 0 or i == total:
                log(f"{label}: {i}/{total}")
    finally:
        browser.close()
        server.stop()
        shutil.rmtree(profile, ignore_errors=True)
    return results


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-wpt":
        return serve_wpt_main(sys.argv[2], sys.argv[3])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkout")
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--sandserve", required=True, help="the sandserve binary")
    ap.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser"))
    ap.add_argument("--out", default=None, help="where logs and report.json go")
    args = ap.parse_args()
    checkout = os.path.abspath(args.checkout)
    if not os.path.isfile(os.path.join(checkout, "tools", "serve", "serve.py")):
        raise SystemExit(f"{args.checkout}: not a WPT checkout (no tools/serve/serve.py)")
    if not args.chromium:
        raise SystemExit("no Chromium: run scripts/browser-deps.sh")
    out = os.path.abspath(args.out or tempfile.mkdtemp(prefix="wpt-compat-"))
    os.makedirs(out, exist_ok=True)

    by_dir = manifest_tests(checkout, out, args.dirs)
    tests = []
    skipped = []
    for d, found in by_dir.items():
        if not found:
            log(f"{d}: no testharness tests in the manifest")
        for t in found:
            (skipped if t.h2 else tests).append(t)
    if skipped:
        log(f"{len(skipped)} tests need the h2 port, which the 2021 tree's wpt serve does not start here: not run")

    http, http2, https, https2, ws, wss, h2 = free_ports(7)
    ports = {"http": [http, http2], "https": [https, https2], "ws": [ws], "wss": [wss], "h2": [h2]}
    config = server_config(out, ports)
    wpt = run_all("wpt-serve",
                  [sys.executable, os.path.abspath(__file__), "--serve-wpt", checkout, config],
                  out, ports, args.chromium, tests)
    ours = run_all("sandserve",
                   [args.sandserve, "serve", checkout, "--wpt-defaults", "--config", config],
                   out, ports, args.chromium, tests)

    differing = [t for t in tests if outcome(wpt[t.url]) != outcome(ours[t.url])]
    again = {"wpt_serve": {}, "sandserve": {}}
    varied = {}  # test url -> the servers whose results varied between runs
    if differing:
        log(f"{len(differing)} tests differ: running them again under each server")
        again["wpt_serve"] = run_all(
            "wpt-serve-again",
            [sys.executable, os.path.abspath(__file__), "--serve-wpt", checkout, config],
            out, ports, args.chromium, differing)
        again["sandserve"] = run_all(
            "sandserve-again",
            [args.sandserve, "serve", checkout, "--wpt-defaults", "--config", config],
            out, ports, args.chromium, differing)
        for t in differing:
            names = [name for name, first, second in
                     (("wpt serve", wpt, again["wpt_serve"]), ("sandserve", ours, again["sandserve"]))
                     if outcome(first[t.url]) != outcome(second[t.url])]
            if names:
                varied[t.url] = names

    report = {"checkout": checkout, "directories": {}}
    print(f"{'directory':<24} {'tests':>6} {'subtests':>9} {'pass: wpt serve':>16} {'pass: sandserve':>16} {'differ':>7}")
    for d, found in by_dir.items():
        run = [t for t in found if not t.h2]
        subtests = sum(max(len(wpt[t.url]["subtests"]), len(ours[t.url]["subtests"])) for t in run)
        pw = sum(passing(wpt[t.url]) for t in run)
        po = sum(passing(ours[t.url]) for t in run)
        diffs = [t for t in run if t in differing]
        print(f"{d:<24} {len(run):>6} {subtests:>9} {pw:>16} {po:>16} {len(diffs):>7}")
        entry = {"tests": len(run), "subtests": subtests, "passing_wpt_serve": pw,
                 "passing_sandserve": po, "not_run_h2": len(found) - len(run), "differences": []}
        for t in diffs:
            a, b = wpt[t.url], ours[t.url]
            page = a["address"]
            reason = explain(page, a, b)
            if t.url in varied:
                reason = (f"flaky: results varied between two runs under {' and '.join(varied[t.url])}; "
                          + reason)
            entry["differences"].append({
                "test": t.url, "wpt_serve": f"{a['status']}, {passing(a)}/{len(a['subtests'])} pass",
                "sandserve": f"{b['status']}, {passing(b)}/{len(b['subtests'])} pass",
                "reason": reason})
        report["directories"][d] = entry
    total = {k: sum(e[k] for e in report["directories"].values())
             for k in ("tests", "subtests", "passing_wpt_serve", "passing_sandserve")}
    ndiff = sum(len(e["differences"]) for e in report["directories"].values())
    print(f"{'all':<24} {total['tests']:>6} {total['subtests']:>9} {total['passing_wpt_serve']:>16} "
          f"{total['passing_sandserve']:>16} {ndiff:>7}")
    if skipped:
        print(f"not run: {len(skipped)} tests that need the h2 port")
    for d, entry in report["directories"].items():
        for diff in entry["differences"]:
            print(f"  {diff['test']}: wpt serve {diff['wpt_serve']}; sandserve {diff['sandserve']}"
                  f"\n      {diff['reason']}")
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump({"report": report, "results": {"wpt_serve": wpt, "sandserve": ours},
                   "again": again}, f, indent=1)
    log(f"report, results and server logs: {out}")


if __name__ == "__main__":
    main()
