//! The `wpt serve` layer over real sockets: generated test wrappers and
//! their rules, the tree's forbidden paths and rewrites, `--inject-script`,
//! `--latency`, ports of schemes sandserve does not serve, and header values
//! that browsers send with control characters in them.

use std::time::{Duration, Instant};

use sandserve::config::PortSpec;
use sandserve_tests::{parse_all, DocRoot, TestServer};

fn tree() -> DocRoot {
    let root = DocRoot::new();
    root.file(
        "d/t.any.js",
        "// META: title=A & <b>\n// META: script=/h.js?a=1&b=2\n// META: timeout=long\n\
         test(() => {});\n",
    )
    .file("d/win.any.js", "// META: global=window\ntest(() => {});\n")
    .file(
        "d/all.any.js",
        "// META: global=window,worker,worker-module\n",
    )
    .file(
        "d/t.any.js.headers",
        "X-From-Source: yes\nContent-Type: text/html; charset=utf-8\n",
    )
    .file("d/__dir__.headers", "X-Dir: 1\n")
    .file("d/p.window.js", "test(() => {});\n")
    .file(
        "d/w.worker.js",
        "importScripts('/resources/testharness.js');\n",
    )
    .file("d/s.sub.any.js", "// META: title={{host}}\n")
    .file("tools/runner/index.html", "runner")
    .file("tools/secret.txt", "secret")
    .file("css/tools/x.txt", "secret")
    .file("results/r.txt", "r")
    .file("resources/webidl2/lib/webidl2.js", "webidl2")
    .file("page.html", "<!doctype html>\n<p>page</p>\n")
    .file("plain.txt", "text");
    root
}

fn wpt_server(root: &DocRoot) -> TestServer {
    TestServer::start_with(root, |c| c.wpt.enabled = true)
}

#[test]
fn wrappers_are_generated_from_their_source() {
    let root = tree();
    let s = wpt_server(&root);

    let page = s.get("/d/t.any.html");
    assert_eq!(page.status, 200);
    let body = page.text();
    assert!(body.contains("<title>A &amp; &lt;b></title>"), "{body}");
    assert!(body.contains("<meta name=\"timeout\" content=\"long\">"));
    assert!(body.contains("<script src=\"/h.js?a=1&amp;b=2\"></script>"));
    assert!(body.contains("<script src=\"/d/t.any.js\"></script>"));
    assert!(body.contains("isWindow: function() { return true; }"));
    // The source's .headers and its directory's apply to the wrapper; its
    // Content-Type replaces the wrapper's.
    assert_eq!(page.header("x-from-source"), Some("yes"));
    assert_eq!(page.header("x-dir"), Some("1"));
    assert_eq!(
        page.headers_named("content-type"),
        vec!["text/html; charset=utf-8"]
    );

    let worker = s.get("/d/t.any.worker.html?x=1").text();
    assert!(
        worker.contains("new Worker(\"/d/t.any.worker.js?x=1\")"),
        "{worker}"
    );
    assert!(!worker.contains("/h.js"), "META scripts load in the worker");
    // By default a test is exposed in a window and a dedicated worker only.
    assert_eq!(s.get("/d/t.any.sharedworker-module.html").status, 404);
    let shared = s.get("/d/all.any.sharedworker-module.html").text();
    assert!(
        shared.contains("new SharedWorker(\"/d/all.any.worker-module.js\", {type: \"module\"})")
    );
    let service = s.get("/d/all.any.serviceworker.html").text();
    assert!(service.contains("navigator.serviceWorker.register(\"/d/all.any.worker.js\""));

    let script = s.get("/d/t.any.worker.js");
    assert_eq!(
        script.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let script = script.text();
    assert!(script.contains("importScripts(\"/resources/testharness.js\");\n"));
    assert!(script.contains("importScripts(\"/h.js?a=1&b=2\");\n"));
    assert!(
        script.contains("self.META_TITLE = \"A & \\x3cb>\";\n"),
        "{script}"
    );
    assert!(script.ends_with("importScripts(\"/d/t.any.js\");\ndone();\n"));
    let module = s.get("/d/t.any.worker-module.js").text();
    assert!(
        module.ends_with("import \"/d/t.any.js\";\ndone();\n"),
        "{module}"
    );

    let window = s.get("/d/p.window.html").text();
    assert!(window.contains("<script src=\"/d/p.window.js\"></script>"));
    assert!(!window.contains("GLOBAL"));
    let dedicated = s.get("/d/w.worker.html").text();
    assert!(dedicated.contains("new Worker(\"/d/w.worker.js\")"));

    // The sources themselves are still served as they are.
    assert!(s
        .get("/d/t.any.js")
        .text()
        .starts_with("// META: title=A & <b>"));
}

#[test]
fn exposure_and_missing_sources_answer_404() {
    let root = tree();
    let s = wpt_server(&root);
    assert_eq!(s.get("/d/win.any.html").status, 200);
    let refused = s.get("/d/win.any.worker.html");
    assert_eq!(refused.status, 404);
    assert_eq!(
        refused.json_error(),
        (
            404,
            "This test cannot be loaded in dedicatedworker mode".into()
        )
    );
    assert_eq!(s.get("/d/win.any.serviceworker.html").status, 404);
    // Worker scripts are not checked: a page decides what loads them.
    assert_eq!(s.get("/d/win.any.worker.js").status, 200);
    assert_eq!(s.get("/d/missing.any.html").status, 404);
    assert_eq!(s.get("/d/missing.window.html").status, 404);
}

#[test]
fn sub_and_pipes_apply_to_wrappers_and_edits_are_live() {
    let root = tree();
    let s = wpt_server(&root);
    // `.sub.` in what the wrapper loads substitutes the wrapper.
    let sub = s.get("/d/s.sub.any.html").text();
    assert!(sub.contains("<title>127.0.0.1</title>"), "{sub}");
    let piped = s.get("/d/t.any.html?pipe=status(201)|header(X-Piped,1)");
    assert_eq!(piped.status, 201);
    assert_eq!(piped.header("x-piped"), Some("1"));
    assert!(piped.text().contains("/d/t.any.js"));

    root.file("d/t.any.js", "// META: title=edited\n");
    assert!(s
        .get("/d/t.any.html")
        .text()
        .contains("<title>edited</title>"));
}

#[test]
fn the_trees_rules_apply_only_with_wpt() {
    let root = tree();
    let s = wpt_server(&root);
    assert_eq!(s.get("/tools/secret.txt").status, 404);
    assert_eq!(s.get("/css/tools/x.txt").status, 404);
    assert_eq!(s.request("POST", "/tools/secret.txt", &[]).status, 404);
    assert_eq!(s.get("/results/").status, 404);
    assert_eq!(s.get("/tools/runner/index.html").text(), "runner");
    assert_eq!(s.get("/resources/WebIDLParser.js").text(), "webidl2");
    drop(s);

    let plain = TestServer::start(&root);
    assert_eq!(plain.get("/tools/secret.txt").text(), "secret");
    assert_eq!(plain.get("/d/t.any.html").status, 404);
    assert_eq!(plain.get("/resources/WebIDLParser.js").status, 404);
}

#[test]
fn an_injected_script_goes_into_every_html_page() {
    let root = tree();
    let script = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(script.path(), "window.injected = true;\n").unwrap();
    let path = script.path().to_path_buf();
    let s = TestServer::start_with(&root, |c| {
        c.wpt.enabled = true;
        c.wpt.inject_script = Some(path);
    });
    let element = "<script src=\"/__sandserve__/inject.js\"></script>";
    let page = s.get("/page.html");
    assert_eq!(
        page.text(),
        format!("<!doctype html>\n{element}\n<p>page</p>\n")
    );
    let wrapper = s.get("/d/p.window.html").text();
    assert!(
        wrapper.starts_with(&format!("<!doctype html>\n{element}\n")),
        "{wrapper}"
    );
    assert_eq!(s.get("/plain.txt").text(), "text");
    let served = s.get("/__sandserve__/inject.js");
    assert_eq!(served.header("content-type"), Some("text/javascript"));
    assert_eq!(served.text(), "window.injected = true;\n");
}

#[test]
fn latency_delays_every_response() {
    let root = tree();
    let s = TestServer::start_with(&root, |c| c.wpt.latency_ms = 300);
    let started = Instant::now();
    assert_eq!(s.get("/plain.txt").text(), "text");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn ports_of_schemes_not_served_still_substitute() {
    let root = DocRoot::new();
    root.file(
        "ports.sub.txt",
        "{{ports[ws][0]}} {{ports[wss][0]}} {{ports[h2][0]}}",
    );
    let s = TestServer::start_with(&root, |c| {
        c.ports.insert("ws".into(), vec![PortSpec::Auto]);
        c.ports.insert("wss".into(), vec![PortSpec::Port(49999)]);
        c.ports.insert("h2".into(), vec![PortSpec::Port(49998)]);
    });
    let r = s.get("/ports.sub.txt");
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let ports: Vec<&str> = text.split(' ').collect();
    assert!(ports[0].parse::<u16>().unwrap() > 0, "{text}");
    assert_eq!(&ports[1..], ["49999", "49998"]);
}

#[test]
fn header_values_may_hold_control_characters_but_not_nul() {
    let root = tree();
    let s = TestServer::start(&root);
    let ok = s.exchange(
        b"GET /plain.txt HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\x7fc\x1f\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(parse_all(&ok)[0].status, 200);
    for bad in [
        &b"GET /plain.txt HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n"[..],
        b"GET /plain.txt HTTP/1.1\r\nHost: x\r\nX\x01A: ab\r\n\r\n",
        b"GET /pla\x01in.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        assert_eq!(parse_all(&s.exchange(bad))[0].status, 400);
    }
}
