//! Template substitution over real sockets: every key, the escaping rules,
//! `.sub.` triggers, `.sub.headers`, and failures.

use base64::Engine;
use sandserve_tests::{DocRoot, TestServer};
use sha2::Digest;

fn start(root: &DocRoot) -> TestServer {
    TestServer::start_with(root, |c| {
        c.browser_host = "web-platform.test".into();
        c.alternate_hosts = [("alt".to_string(), "not-web-platform.test".to_string())].into();
        c.subdomains = vec!["www".into(), "www1".into(), "élève".into()];
        c.not_subdomains = vec!["nonexistent".into()];
        c.bind_address = true;
        c.server_host = Some("127.0.0.1".into());
    })
}

fn sub_of(
    server: &TestServer,
    root: &DocRoot,
    template: &str,
    extra_headers: &[&str],
) -> (u16, String) {
    let name = format!("t{}.sub.txt", fastrand::u64(..));
    root.file(&name, template);
    let resp = server.request(
        "GET",
        &format!("/{name}?a=1&b=x+y&a=2&blank="),
        extra_headers,
    );
    (resp.status, resp.text())
}

#[test]
fn every_key() {
    let root = DocRoot::new();
    let server = start(&root);
    let port = server.addr.port();
    let host = format!("Host: web-platform.test:{port}");
    let cases: Vec<(&str, String)> = vec![
        ("{{host}}", "web-platform.test".into()),
        ("{{domains[]}}", "web-platform.test".into()),
        ("{{domains[www]}}", "www.web-platform.test".into()),
        (
            "{{domains[élève]}}",
            "xn--lve-6lad.web-platform.test".into(),
        ),
        (
            "{{domains[nonexistent]}}",
            "nonexistent.web-platform.test".into(),
        ),
        ("{{hosts[][www1]}}", "www1.web-platform.test".into()),
        ("{{hosts[alt][www]}}", "www.not-web-platform.test".into()),
        ("{{hosts[alt][]}}", "not-web-platform.test".into()),
        ("{{ports[http][0]}}", port.to_string()),
        (
            "{{location[server]}}",
            format!("http://web-platform.test:{port}"),
        ),
        ("{{location[scheme]}}", "http".into()),
        ("{{location[host]}}", format!("web-platform.test:{port}")),
        ("{{location[hostname]}}", "web-platform.test".into()),
        ("{{location[port]}}", port.to_string()),
        ("{{location[query]}}", "?a=1&b=x+y&a=2&blank=".into()),
        ("{{GET[a]}}", "1".into()),
        ("{{GET[b]}}", "x y".into()),
        ("{{GET[blank]}}", "".into()),
        ("{{GET[missing]}}", "".into()),
        ("{{headers[x-test]}}", "Hello".into()),
        ("{{header_or_default(X-Test, d)}}", "Hello".into()),
        (
            "{{header_or_default(X-Absent, some default)}}",
            "some default".into(),
        ),
        ("{{url_base}}", "/".into()),
        ("{{browser_host}}", "web-platform.test".into()),
        ("{{server_host}}", "127.0.0.1".into()),
        ("{{alternate_hosts[alt]}}", "not-web-platform.test".into()),
        (
            "{{$x:host}}-{{$x}}",
            "web-platform.test-web-platform.test".into(),
        ),
        (
            "{{host trailing text is ignored}}",
            "web-platform.test".into(),
        ),
        ("{{host}}}", "web-platform.test}".into()),
    ];
    for (template, expected) in cases {
        let (status, text) = sub_of(&server, &root, template, &[&host, "X-Test: Hello"]);
        assert_eq!(
            (status, text.as_str()),
            (200, expected.as_str()),
            "{template}"
        );
    }
    let (_, text) = sub_of(&server, &root, "{{location[path]}}", &[]);
    assert!(
        text.starts_with("/t") && text.ends_with(".sub.txt"),
        "{text}"
    );
}

#[test]
fn uuids_are_fresh_and_variables_repeat_them() {
    let root = DocRoot::new();
    let server = start(&root);
    let (_, text) = sub_of(
        &server,
        &root,
        "{{uuid()}} {{uuid()}} {{$id:uuid()}} {{$id}}",
        &[],
    );
    let parts: Vec<&str> = text.split(' ').collect();
    assert_eq!(parts.len(), 4);
    for p in &parts {
        assert_eq!(p.len(), 36, "{p}");
        assert_eq!(p.as_bytes()[14], b'4', "version 4: {p}");
        assert_eq!(p.to_lowercase(), *p);
    }
    assert_ne!(parts[0], parts[1]);
    assert_eq!(parts[2], parts[3]);
}

#[test]
fn file_hash_and_fs_path() {
    let root = DocRoot::new();
    root.file("data/blob.bin", b"some bytes to hash");
    let server = start(&root);
    let doc_root = root.path().canonicalize().unwrap();
    for alg in ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"] {
        let (status, text) = sub_of(
            &server,
            &root,
            &format!("{{{{file_hash({alg}, /data/blob.bin)}}}}"),
            &[],
        );
        assert_eq!(status, 200, "{alg}: {text}");
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&text)
                .unwrap()
                .len(),
            match alg {
                "md5" => 16,
                "sha1" => 20,
                "sha224" => 28,
                "sha256" => 32,
                "sha384" => 48,
                _ => 64,
            }
        );
    }
    let (_, text) = sub_of(&server, &root, "{{file_hash(sha256, data/blob.bin)}}", &[]);
    let expected = base64::engine::general_purpose::STANDARD
        .encode(sha2::Sha256::digest(b"some bytes to hash"));
    assert_eq!(text, expected);

    // fs_path: relative to the requesting file (also at the top of the root), / from the root.
    let (_, text) = sub_of(
        &server,
        &root,
        "{{fs_path(x.txt)}}|{{fs_path(/a/b)}}|{{fs_path(sub/../y)}}",
        &[],
    );
    assert_eq!(text, format!("{0}/x.txt|{0}/a/b|{0}/y", doc_root.display()));
    root.file("deep/dir/p.sub.txt", "{{fs_path(q)}} {{fs_path(../r)}}");
    assert_eq!(
        server.get("/deep/dir/p.sub.txt?query=1").text(),
        format!("{0}/deep/dir/q {0}/deep/r", doc_root.display())
    );
    for bad in [
        "{{fs_path(../../outside)}}",
        "{{file_hash(sha256, /../etc/passwd)}}",
        "{{file_hash(crc32, /data/blob.bin)}}",
    ] {
        let (status, _) = sub_of(&server, &root, bad, &[]);
        assert_eq!(status, 500, "{bad}");
    }
}

#[test]
fn escaping_follows_the_file_type_and_the_pipe() {
    let root = DocRoot::new();
    let template = "{{GET[v]}}";
    root.file("e.sub.html", template)
        .file("e.sub.svg", template)
        .file("e.sub.txt", template)
        .file("e.sub.js", template)
        .file("plain.txt", template)
        .file("plain.html", template);
    let server = start(&root);
    let v = "%3Cb%20x=%22y%22%3E%26%27";
    let raw = "<b x=\"y\">&'";
    let escaped = "&lt;b x=&quot;y&quot;&gt;&amp;&#x27;";
    assert_eq!(server.get(&format!("/e.sub.html?v={v}")).text(), escaped);
    assert_eq!(server.get(&format!("/e.sub.svg?v={v}")).text(), escaped);
    assert_eq!(server.get(&format!("/e.sub.txt?v={v}")).text(), raw);
    assert_eq!(server.get(&format!("/e.sub.js?v={v}")).text(), raw);
    assert_eq!(
        server.get(&format!("/plain.txt?v={v}")).text(),
        template,
        "no .sub., no substitution"
    );
    assert_eq!(
        server.get(&format!("/plain.txt?v={v}&pipe=sub")).text(),
        escaped,
        "the pipe escapes for HTML by default"
    );
    assert_eq!(
        server
            .get(&format!("/plain.html?v={v}&pipe=sub(none)"))
            .text(),
        raw
    );
    let resp = server.get(&format!("/e.sub.txt?v={v}"));
    assert_eq!(
        resp.header("content-length"),
        Some(raw.len().to_string().as_str())
    );
    assert_eq!(resp.header("content-type"), Some("text/plain"));
}

#[test]
fn sub_in_a_directory_name_turns_it_on_below() {
    let root = DocRoot::new();
    root.file("x.sub.d/inner/page.txt", "{{host}}")
        .file("other/page.txt", "{{host}}");
    let server = start(&root);
    assert_eq!(
        server.get("/x.sub.d/inner/page.txt").text(),
        "web-platform.test"
    );
    assert_eq!(server.get("/other/page.txt").text(), "{{host}}");
}

#[test]
fn sub_headers_files_win_over_plain_ones() {
    let root = DocRoot::new();
    root.file("d/page.txt", "p")
        .file("d/page.txt.headers", "X-Plain: ignored\n")
        .file(
            "d/page.txt.sub.headers",
            "X-Host: {{host}}\nX-Get: {{GET[q]}}\n",
        )
        .file("d/__dir__.sub.headers", "X-Dir: {{domains[www]}}\n")
        .file("d/broken.txt", "b")
        .file("d/broken.txt.sub.headers", "X-Bad: {{nope}}\n");
    let server = start(&root);
    let resp = server.get("/d/page.txt?q=%3Cv%3E");
    assert_eq!(resp.header("x-plain"), None);
    assert_eq!(resp.header("x-host"), Some("web-platform.test"));
    assert_eq!(resp.header("x-get"), Some("<v>"), "no escaping in headers");
    assert_eq!(resp.header("x-dir"), Some("www.web-platform.test"));
    let resp = server.get("/d/broken.txt");
    assert_eq!(resp.status, 500);
    assert!(
        resp.json_error().1.contains("unknown name \"nope\""),
        "{}",
        resp.text()
    );
}

#[test]
fn text_that_is_not_a_block_is_left_alone() {
    let root = DocRoot::new();
    let server = start(&root);
    for text in [
        "{single} braces",
        "lone }} closers",
        "unterminated {{host",
        "{{host}",
        "{ {host}}",
        "{{}",
    ] {
        let (status, out) = sub_of(&server, &root, text, &[]);
        assert_eq!((status, out.as_str()), (200, text), "{text}");
    }
    let (_, out) = sub_of(&server, &root, "a {{host}} b {{host}}\n{{GET[a]}}", &[]);
    assert_eq!(out, "a web-platform.test b web-platform.test\n1");
}

#[test]
fn failures_fail_the_whole_response() {
    let root = DocRoot::new();
    let server = start(&root);
    for (template, needle) in [
        ("{{unknown}}", "unknown name"),
        ("{{ host}}", "expected a name"),
        ("{{headers[X-Missing]}}", "no request header"),
        ("{{domains[nope]}}", "no subdomain"),
        ("{{hosts[nope][www]}}", "no host"),
        ("{{ports[https][0]}}", "no \\\"https\\\" ports"),
        ("{{ports[http][5]}}", "no http port"),
        ("{{location[nope]}}", "location has no"),
        ("{{domains}}", "not a single value"),
        ("{{uuid}}", "not a single value"),
        ("{{host[x]}}", "cannot index"),
        ("{{$never}}", "is not set"),
        ("{{uuid(1)}}", "takes 0 arguments"),
        ("ok {{host}} then {{bad}}", "unknown name"),
    ] {
        let (status, body) = sub_of(&server, &root, template, &[]);
        assert_eq!(status, 500, "{template}: {body}");
        assert!(body.contains(needle), "{template}: {body}");
        assert!(
            !body.contains("web-platform.test"),
            "nothing of a failed template is sent: {body}"
        );
    }
}
