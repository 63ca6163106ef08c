//! Live handlers: hot reload without restart, and the on-disk compile cache.

use std::path::Path;
use std::time::Duration;

use sandserve::LoadStats;
use sandserve_tests::{guests, Conn, DocRoot, TestServer};

/// Replaces `dst` by the bytes of `src` the way a build should: a new file
/// renamed into place.
fn install(src: &Path, dst: &Path) {
    let tmp = dst.with_extension(format!("tmp{}", fastrand::u32(..)));
    std::fs::copy(src, &tmp).unwrap();
    std::fs::rename(&tmp, dst).unwrap();
}

fn start(root: &DocRoot, cache: &Path) -> TestServer {
    let cache = cache.to_path_buf();
    TestServer::start_with(root, move |c| {
        c.wasm.max_instances = 64;
        c.wasm.cache_dir = Some(cache);
    })
}

fn stats(server: &TestServer) -> LoadStats {
    server.monitor.stats().loads
}

#[test]
fn versions_swap_under_load_and_every_answer_is_whole() {
    let (hello, other) = (guests::path("hello"), guests::path("content-type"));
    let root = DocRoot::new();
    let cache = tempfile::tempdir().unwrap();
    let target = root.path().join("v.wasm");
    install(&hello, &target);
    let server = start(&root, cache.path());
    let addr = server.addr;
    let clients: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut conn = Conn::connect(addr);
                let (mut a, mut b) = (0, 0);
                for _ in 0..300 {
                    conn.send(b"GET /v.wasm HTTP/1.1\r\nHost: x\r\n\r\n");
                    let resp = conn.read_response(false);
                    assert_eq!(resp.status, 200, "{}", resp.text());
                    match resp.text().as_str() {
                        "Hello, world!\n" => a += 1,
                        "content" => b += 1,
                        other => panic!("a mixed or partial answer: {other:?}"),
                    }
                }
                (a, b)
            })
        })
        .collect();
    // Two versions alternating quickly while the clients run.
    for i in 0..40 {
        install(if i % 2 == 0 { &other } else { &hello }, &target);
        std::thread::sleep(Duration::from_millis(15));
    }
    let mut total = (0, 0);
    for c in clients {
        let (a, b) = c.join().unwrap();
        total = (total.0 + a, total.1 + b);
    }
    assert_eq!(total.0 + total.1, 1200, "no request failed");
    assert!(
        total.0 > 0 && total.1 > 0,
        "both versions answered: {total:?}"
    );
    // The last version installed answers now.
    assert_eq!(server.get("/v.wasm").text(), "Hello, world!\n");
    let s = stats(&server);
    assert_eq!(s.compiled, 2, "each distinct content compiled once: {s:?}");
}

#[test]
fn broken_then_fixed_and_deleted() {
    let root = DocRoot::new();
    let cache = tempfile::tempdir().unwrap();
    install(&guests::path("hello"), &root.path().join("h.wasm"));
    install(&guests::path("hello"), &root.path().join("other.wasm"));
    let server = start(&root, cache.path());
    assert_eq!(server.get("/h.wasm").status, 200);

    std::fs::write(
        root.path().join("broken.tmp"),
        b"\0asm\x0d\0\x01\0\x07broken",
    )
    .unwrap();
    std::fs::rename(root.path().join("broken.tmp"), root.path().join("h.wasm")).unwrap();
    for _ in 0..2 {
        let resp = server.get("/h.wasm");
        let (code, message) = resp.json_error();
        assert_eq!(code, 500);
        assert!(
            message.contains("h.wasm: not a valid component"),
            "{message}"
        );
        assert_eq!(
            server.get("/other.wasm").status,
            200,
            "other handlers are unaffected"
        );
    }
    install(&guests::path("content-type"), &root.path().join("h.wasm"));
    assert_eq!(
        server.get("/h.wasm").text(),
        "content",
        "fixed without a restart"
    );

    std::fs::remove_file(root.path().join("h.wasm")).unwrap();
    assert_eq!(server.get("/h.wasm").status, 404);
}

#[test]
fn a_touched_file_with_the_same_content_is_not_compiled_again() {
    let root = DocRoot::new();
    let cache = tempfile::tempdir().unwrap();
    let target = root.path().join("h.wasm");
    install(&guests::path("hello"), &target);
    let server = start(&root, cache.path());
    assert_eq!(server.get("/h.wasm").status, 200);
    install(&guests::path("hello"), &target); // new inode and times, same bytes
    assert_eq!(server.get("/h.wasm").status, 200);
    let s = stats(&server);
    assert_eq!((s.compiled, s.unchanged), (1, 1), "{s:?}");
}

#[test]
fn concurrent_first_requests_compile_once() {
    let root = DocRoot::new();
    let cache = tempfile::tempdir().unwrap();
    install(&guests::path("request-info"), &root.path().join("r.wasm"));
    let server = start(&root, cache.path());
    let addr = server.addr;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut conn = Conn::connect(addr);
                barrier.wait();
                conn.send(b"GET /r.wasm HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                conn.read_response(false).status
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 200);
    }
    assert_eq!(stats(&server).compiled, 1);
}

#[test]
fn the_disk_cache_survives_a_restart_and_recovers_from_corruption() {
    let root = DocRoot::new();
    let cache = tempfile::tempdir().unwrap();
    install(&guests::path("hello"), &root.path().join("h.wasm"));

    let first = start(&root, cache.path());
    assert_eq!(first.get("/h.wasm").status, 200);
    assert_eq!(
        stats(&first),
        LoadStats {
            compiled: 1,
            disk_hits: 0,
            unchanged: 0
        }
    );
    first.stop();

    let second = start(&root, cache.path());
    assert_eq!(second.get("/h.wasm").text(), "Hello, world!\n");
    assert_eq!(
        stats(&second),
        LoadStats {
            compiled: 0,
            disk_hits: 1,
            unchanged: 0
        },
        "no compile after a restart"
    );
    second.stop();

    // Corrupt the entry: flip bytes in the middle of the artifact.
    let artifact = find_artifact(cache.path());
    let mut bytes = std::fs::read(&artifact).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0xff;
    }
    std::fs::write(&artifact, &bytes).unwrap();
    let third = start(&root, cache.path());
    assert_eq!(third.get("/h.wasm").text(), "Hello, world!\n");
    assert_eq!(
        stats(&third).compiled,
        1,
        "the corrupt entry was discarded and compiled again"
    );
    third.stop();

    // …and rewritten soundly: the next start hits it.
    let fourth = start(&root, cache.path());
    assert_eq!(fourth.get("/h.wasm").status, 200);
    assert_eq!(stats(&fourth).disk_hits, 1);

    // A truncated entry too.
    fourth.stop();
    let artifact = find_artifact(cache.path());
    let len = std::fs::metadata(&artifact).unwrap().len();
    std::fs::File::options()
        .write(true)
        .open(&artifact)
        .unwrap()
        .set_len(len / 3)
        .unwrap();
    let fifth = start(&root, cache.path());
    assert_eq!(fifth.get("/h.wasm").status, 200);
    assert_eq!(stats(&fifth).compiled, 1);
}

fn find_artifact(cache: &Path) -> std::path::PathBuf {
    let engine_dir = std::fs::read_dir(cache)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("wasmtime-"))
        .expect("an engine directory")
        .path();
    std::fs::read_dir(engine_dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .expect("a cache entry")
}
