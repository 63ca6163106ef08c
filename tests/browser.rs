//! testharness.js tests in headless Chromium, served by sandserve with the
//! `wpt serve` layer: every wrapper kind, META scripts, pipes with their
//! timing, a cross-origin fetch to a subdomain on the second port, https
//! with the generated certificate, substitution, and a WebAssembly handler.
//!
//! The tree is `tests/browser/tree` (the project's own tests and its own
//! `testharnessreport.js`, which puts each page's results in the stash);
//! `testharness.js` itself and Chromium are installed by
//! `scripts/browser-deps.sh` (run by `scripts/test.sh`). Without them these
//! tests fail, saying what is missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sandserve::config::{PortSpec, SslKind};
use sandserve_tests::{copy_tree, guests, DocRoot, TestServer};

/// Where `scripts/browser-deps.sh` puts what the tests need.
fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .expect("target directory")
        .join("browser")
}

fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("SANDSERVE_CHROMIUM") {
        return path.into();
    }
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("no Chromium found: run `bash scripts/browser-deps.sh` (scripts/test.sh does)");
}

fn testharness() -> PathBuf {
    let path = deps_dir().join("testharness.js");
    assert!(
        path.is_file(),
        "testharness.js is missing ({}): run `bash scripts/browser-deps.sh` (scripts/test.sh does)",
        path.display()
    );
    path
}

/// The test tree with testharness.js and the handlers it uses.
fn tree() -> DocRoot {
    let root = DocRoot::new();
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/tree");
    copy_tree(&here, root.path());
    std::fs::copy(testharness(), root.path().join("resources/testharness.js")).unwrap();
    std::fs::copy(
        guests::path("stash-roundtrip"),
        root.path().join("stash.wasm"),
    )
    .unwrap();
    std::fs::copy(guests::path("hello"), root.path().join("hello.wasm")).unwrap();
    root
}

fn server(root: &DocRoot, certs: &Path) -> TestServer {
    TestServer::start_with(root, |c| {
        c.browser_host = "web-platform.test".into();
        c.server_host = Some("127.0.0.1".into());
        c.subdomains = vec!["www1".into()];
        c.wpt.enabled = true;
        c.ports
            .insert("http".into(), vec![PortSpec::Auto, PortSpec::Auto]);
        c.ports.insert("https".into(), vec![PortSpec::Auto]);
        c.ssl.kind = SslKind::Openssl;
        c.ssl.openssl.base_path = Some(certs.to_path_buf());
    })
}

/// A UUID, as stash keys are.
fn uuid() -> String {
    let a = fastrand::u64(..);
    let b = fastrand::u64(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Opens `url` in headless Chromium (names of the test domain resolve to
/// loopback) and returns the results its page reported.
fn run_page(s: &TestServer, url: &str) -> serde_json::Value {
    let key = uuid();
    let sep = if url.contains('?') { '&' } else { '?' };
    let profile = tempfile::tempdir().unwrap();
    let child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--host-resolver-rules=MAP web-platform.test 127.0.0.1, MAP *.web-platform.test 127.0.0.1",
            "--ignore-certificate-errors",
            // ShadowRealm is still behind V8's flag.
            "--js-flags=--harmony-shadow-realm",
            "--autoplay-policy=no-user-gesture-required",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("{url}{sep}report={key}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Chromium starts");
    let _browser = Browser(child);
    let take = format!("/stash.wasm?action=take&path=/results&key={key}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = s.get(&take);
        if r.status == 200 {
            return serde_json::from_str(&r.text()).expect("results are JSON");
        }
        assert!(
            Instant::now() < deadline,
            "{url}: no results within 60 s (the page never completed)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every subtest passed, and there were `count` of them.
fn assert_passed(url: &str, results: &serde_json::Value, count: usize) {
    assert_eq!(results["status"], 0, "{url}: harness status: {results}");
    let tests = results["tests"].as_array().expect("tests");
    for t in tests {
        assert_eq!(
            t["status"], 0,
            "{url}: {} failed: {}",
            t["name"], t["message"]
        );
    }
    assert_eq!(tests.len(), count, "{url}: subtests: {results}");
}

#[test]
fn testharness_tests_pass_in_chromium_through_every_wrapper() {
    let root = tree();
    let certs = tempfile::tempdir().unwrap();
    let s = server(&root, certs.path());
    let port = |scheme: &str, n: usize| {
        s.listeners
            .iter()
            .filter(|(k, _)| k == scheme)
            .nth(n)
            .map(|(_, a)| a.port())
            .unwrap()
    };
    let http = format!("http://web-platform.test:{}", port("http", 0));
    // Service workers need a secure context: localhost is one.
    let local = format!("http://localhost:{}", port("http", 0));
    let https = format!("https://web-platform.test:{}", port("https", 0));
    let pages: Vec<(String, usize)> = vec![
        (format!("{http}/plain.html"), 2),
        (format!("{http}/scope.any.html"), 3),
        (format!("{http}/scope.any.window-module.html"), 3),
        (format!("{http}/scope.any.worker.html"), 3),
        (format!("{http}/scope.any.worker-module.html"), 3),
        (format!("{http}/scope.any.sharedworker.html"), 3),
        (format!("{http}/scope.any.sharedworker-module.html"), 3),
        (format!("{local}/scope.any.serviceworker.html"), 3),
        (format!("{local}/scope.any.serviceworker-module.html"), 3),
        (format!("{http}/page.window.html"), 1),
        (format!("{http}/dedicated.worker.html"), 1),
        (format!("{http}/pipes.window.html"), 1),
        (format!("{http}/cors.sub.window.html"), 2),
        (format!("{http}/host.sub.html"), 1),
        (format!("{https}/secure.https.window.html"), 1),
        (format!("{http}/wasm.window.html"), 1),
        (format!("{http}/realm.any.shadowrealm-in-window.html"), 3),
        (
            format!("{http}/realm.any.shadowrealm-in-shadowrealm.html"),
            3,
        ),
        (
            format!("{http}/realm.any.shadowrealm-in-dedicatedworker.html"),
            3,
        ),
        (
            format!("{http}/realm.any.shadowrealm-in-sharedworker.html"),
            3,
        ),
        (
            format!("{local}/realm.https.any.shadowrealm-in-serviceworker.html"),
            3,
        ),
        (
            format!("{local}/realm.https.any.shadowrealm-in-audioworklet.html"),
            3,
        ),
    ];
    for (url, count) in pages {
        let results = run_page(&s, &url);
        assert_passed(&url, &results, count);
    }
}
