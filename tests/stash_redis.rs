//! A stash shared by several servers through a Redis server: two sandserve
//! servers with the same store, every operation of the stash across them
//! from a Rust handler and from a Python one, under contention, with its
//! limits, while the store dies and comes back, and against keys crafted
//! to reach the store's commands.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sandserve::Config;
use sandserve_tests::redis::{RedisServer, Reply};
use sandserve_tests::{
    built, compile_first, guests, python_runner, python_runner_cache, Conn, DocRoot, Resp,
    TestServer,
};

const K: &str = "0b6e1c4e-8f4e-4c57-9a65-3a7c0a4cf001";

/// A document root with the stash handlers of each language.
fn root() -> DocRoot {
    let root = DocRoot::new();
    for name in ["stash-roundtrip", "stash-counter"] {
        std::fs::copy(guests::path(name), root.path().join(format!("{name}.wasm"))).unwrap();
    }
    let py = concat!(env!("CARGO_MANIFEST_DIR"), "/redis/stash.py");
    std::fs::copy(py, root.path().join("stash.py")).unwrap();
    root
}

/// A server on `root` whose stash is in `redis` under `prefix`.
fn server(
    root: &DocRoot,
    redis: &RedisServer,
    prefix: &str,
    edit: impl FnOnce(&mut Config),
) -> TestServer {
    let url = redis.url();
    TestServer::start_with(root, |c| {
        c.stash.backend = url;
        c.stash.key_prefix = prefix.into();
        c.python.runner = Some(python_runner());
        c.wasm.cache_dir = Some(python_runner_cache());
        c.wasm.max_instances = 64;
        edit(c);
    })
}

/// Two servers sharing `redis` under a prefix of their own.
fn pair(
    root: &DocRoot,
    redis: &RedisServer,
    edit: impl Fn(&mut Config),
) -> (TestServer, TestServer) {
    let prefix = format!("test-{}", fastrand::u64(..));
    (
        server(root, redis, &prefix, &edit),
        server(root, redis, &prefix, &edit),
    )
}

fn get(addr: SocketAddr, path: &str) -> Resp {
    let mut conn = Conn::connect(addr);
    conn.send(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes());
    conn.read_response(false)
}

fn rust(op: &str, key: &str, extra: &str) -> String {
    format!("/stash-roundtrip.wasm?action={op}&key={key}{extra}")
}

fn python(op: &str, key: &str, extra: &str) -> String {
    format!("/stash.py?op={op}&key={key}{extra}")
}

#[test]
fn every_operation_holds_across_servers() {
    let redis = RedisServer::start();
    let root = root();
    let (a, b) = pair(&root, &redis, |_| {});
    for (lang, path) in [
        ("rust", rust as fn(&str, &str, &str) -> String),
        ("python", python),
    ] {
        let key = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f";
        // put once, whichever server is asked.
        let put = get(a.addr, &path("put", key, "&value=one"));
        assert_eq!(put.status, 200, "{lang}: {}", put.text());
        let again = get(b.addr, &path("put", key, "&value=two"));
        assert_ne!(
            again.status, 200,
            "{lang}: a second put through the other server"
        );
        assert!(
            again.text().contains("already present"),
            "{lang}: {}",
            again.text()
        );
        // peek leaves it; take removes it, once.
        let peeked = get(b.addr, &path("peek", key, ""));
        assert_eq!(
            (peeked.status, peeked.text().as_str()),
            (200, "one"),
            "{lang}"
        );
        let taken = get(b.addr, &path("take", key, ""));
        assert_eq!(
            (taken.status, taken.text().as_str()),
            (200, "one"),
            "{lang}"
        );
        assert_eq!(
            get(a.addr, &path("take", key, "")).status,
            404,
            "{lang}: taken once"
        );
        // Paths scope keys: the same key under another path is another entry.
        assert_eq!(
            get(a.addr, &path("put", key, "&value=elsewhere&path=/other")).status,
            200
        );
        assert_eq!(get(b.addr, &path("take", key, "")).status, 404, "{lang}");
        let other = get(b.addr, &path("take", key, "&path=/other"));
        assert_eq!(other.text(), "elsewhere", "{lang}");
    }
    // Every key the servers made carries their prefix as a hash tag.
    let keys = redis.client().keys();
    assert!(!keys.is_empty());
    assert!(keys.iter().all(|k| k.starts_with(b"{test-")), "{keys:?}");
}

#[test]
fn one_of_a_thousand_concurrent_takes_wins() {
    let redis = RedisServer::start();
    let root = root();
    let (a, b) = pair(&root, &redis, |_| {});
    assert_eq!(get(a.addr, &rust("put", K, "&value=prize")).status, 200);
    let won = AtomicUsize::new(0);
    let lost = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..50 {
            let addr = if t % 2 == 0 { a.addr } else { b.addr };
            let (won, lost) = (&won, &lost);
            s.spawn(move || {
                for _ in 0..20 {
                    let r = get(addr, &rust("take", K, ""));
                    match r.status {
                        200 => {
                            assert_eq!(r.text(), "prize");
                            won.fetch_add(1, Ordering::Relaxed);
                        }
                        404 => {
                            lost.fetch_add(1, Ordering::Relaxed);
                        }
                        other => panic!("a take answered {other}: {}", r.text()),
                    }
                }
            });
        }
    });
    assert_eq!(won.into_inner(), 1, "exactly one take gets the value");
    assert_eq!(lost.into_inner(), 999);
}

#[test]
fn counters_lose_no_update_across_servers() {
    let redis = RedisServer::start();
    let root = root();
    let (a, b) = pair(&root, &redis, |_| {});
    // Rust: compare-and-swap, retried; Python: read and write under the
    // stash lock (a lease in the store). 2 servers × 4 clients each.
    for (path, per_client) in [
        (format!("/stash-counter.wasm?key={K}"), 50),
        (python("count", K, "&path=/py-counter"), 10),
    ] {
        std::thread::scope(|s| {
            for t in 0..8 {
                let addr = if t % 2 == 0 { a.addr } else { b.addr };
                let path = path.as_str();
                s.spawn(move || {
                    for _ in 0..per_client {
                        let r = get(addr, path);
                        assert_eq!(r.status, 200, "{path}: {}", r.text());
                    }
                });
            }
        });
        let last = get(a.addr, &path);
        assert_eq!(
            last.text(),
            (8 * per_client + 1).to_string(),
            "{path}: no lost update"
        );
    }
}

#[test]
fn the_lock_is_given_back_when_its_holder_fails_and_runs_out_when_its_server_dies() {
    let redis = RedisServer::start();
    let root = root();
    let (a, b) = pair(&root, &redis, |c| c.stash.lock_lease_secs = 1.0);
    // A handler that fails holding the lock: the instance ends, the lease
    // is given back, the other server takes the lock at once.
    let failed = get(a.addr, &python("fail-holding-lock", K, ""));
    assert_eq!(failed.status, 500);
    let start = Instant::now();
    assert_eq!(get(b.addr, &python("count", K, "")).text(), "1");
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "waited {:?}",
        start.elapsed()
    );
    // A lease whose holder's server died (set here by hand, with a token
    // nobody renews) runs out, and then the lock is taken.
    let prefix = redis
        .client()
        .keys()
        .into_iter()
        .find_map(|k| {
            let k = String::from_utf8(k).ok()?;
            Some(k[..k.find('}')? + 1].to_string())
        })
        .expect("a key of the pair");
    let lock = format!("{prefix}:lock");
    let set = redis
        .client()
        .command(&[b"SET", lock.as_bytes(), b"dead-server", b"PX", b"700"]);
    assert_eq!(set.unwrap(), Reply::Status("OK".into()));
    let start = Instant::now();
    assert_eq!(get(b.addr, &python("count", K, "")).text(), "2");
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(500),
        "did not wait for the lease: {waited:?}"
    );
    // Held longer than its lease, a lock is renewed, not lost: a second
    // holder waits for the first.
    std::thread::scope(|s| {
        let holder = s.spawn(|| get(a.addr, &python("hold-lock", K, "&secs=1.5")));
        // The holder has the lock once the store has it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis
            .client()
            .command(&[b"EXISTS", lock.as_bytes()])
            .unwrap()
            != Reply::Integer(1)
        {
            assert!(Instant::now() < deadline, "the holder never took the lock");
            std::thread::sleep(Duration::from_millis(5));
        }
        let start = Instant::now();
        assert_eq!(get(b.addr, &python("count", K, "")).text(), "3");
        assert!(
            start.elapsed() > Duration::from_millis(1000),
            "the lease lapsed while held: {:?}",
            start.elapsed()
        );
        assert_eq!(holder.join().unwrap().text(), "held");
    });
}

#[test]
fn entries_expire_and_give_their_bytes_back() {
    let redis = RedisServer::start();
    let root = root();
    // Room for one 300-byte entry at a time.
    let (a, b) = pair(&root, &redis, |c| {
        c.stash.ttl_secs = 0.3;
        c.stash.max_total_bytes = 600;
    });
    let big = "x".repeat(300);
    assert_eq!(
        get(a.addr, &rust("put", K, &format!("&value={big}"))).status,
        200
    );
    assert_eq!(get(b.addr, &rust("peek", K, "")).status, 200);
    let full = get(
        b.addr,
        &rust("put", K, &format!("&value={big}&path=/second")),
    );
    assert!(full.text().contains("the stash is full"), "{}", full.text());
    // Time is what is tested: past the time to live, the entry is gone in
    // the store, and its bytes count no more.
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(get(b.addr, &rust("peek", K, "")).status, 404, "expired");
    let room = get(
        b.addr,
        &rust("put", K, &format!("&value={big}&path=/second")),
    );
    assert_eq!(room.status, 200, "{}", room.text());
}

#[test]
fn size_limits_hold_per_prefix_and_per_client_across_servers() {
    let redis = RedisServer::start();
    let root = root();
    let (a, b) = pair(&root, &redis, |c| {
        c.stash.max_value_bytes = 500;
        c.stash.max_total_bytes = 1000;
    });
    let value = |n: usize| format!("&value={}", "v".repeat(n));
    let over = get(a.addr, &rust("put", K, &value(501)));
    assert!(
        over.text().contains("over the limit of 500"),
        "{}",
        over.text()
    );
    // 400 + 400 fit (with their keys and paths); a third entry through the
    // other server does not.
    assert_eq!(
        get(a.addr, &rust("put", K, &format!("{}&path=/1", value(400)))).status,
        200
    );
    assert_eq!(
        get(b.addr, &rust("put", K, &format!("{}&path=/2", value(400)))).status,
        200
    );
    let full = get(b.addr, &rust("put", K, &format!("{}&path=/3", value(400))));
    assert!(full.text().contains("the stash is full"), "{}", full.text());
    // Another prefix in the same store has a total of its own.
    let c = server(&root, &redis, "another-deployment", |c| {
        c.stash.max_total_bytes = 1000
    });
    assert_eq!(
        get(c.addr, &rust("put", K, &format!("{}&path=/3", value(400)))).status,
        200
    );
    // A take through either server frees the bytes for both.
    assert_eq!(get(b.addr, &rust("take", K, "&path=/1")).status, 200);
    assert_eq!(
        get(a.addr, &rust("put", K, &format!("{}&path=/3", value(400)))).status,
        200
    );

    // Each client's share, when the caps apply, is counted in the store.
    let (a, b) = pair(&root, &redis, |c| {
        c.per_client.enabled = Some(true);
        c.per_client.stash_bytes = 500;
    });
    assert_eq!(
        get(a.addr, &rust("put", K, &format!("{}&path=/1", value(400)))).status,
        200
    );
    let capped = get(b.addr, &rust("put", K, &format!("{}&path=/2", value(400))));
    assert!(
        capped
            .text()
            .contains("your address already has 500 bytes in the stash"),
        "{}",
        capped.text()
    );
    assert_eq!(get(b.addr, &rust("take", K, "&path=/1")).status, 200);
    assert_eq!(
        get(b.addr, &rust("put", K, &format!("{}&path=/2", value(400)))).status,
        200
    );
}

#[test]
fn a_store_that_dies_fails_stash_calls_in_time_and_is_used_again_when_it_returns() {
    let mut redis = RedisServer::start();
    let root = root();
    root.file("plain.txt", "no stash here");
    let (a, b) = pair(&root, &redis, |c| c.stash.timeout_secs = 1.0);
    assert_eq!(get(a.addr, &rust("put", K, "&value=before")).status, 200);
    redis.kill();
    for (lang, path) in [
        ("rust", rust("take", K, "")),
        ("python", python("take", K, "")),
    ] {
        let start = Instant::now();
        let r = get(b.addr, &path);
        let took = start.elapsed();
        assert!(
            took < Duration::from_secs(3),
            "{lang}: answered after {took:?}"
        );
        assert!(r.status >= 500, "{lang}: {}", r.text());
        let text = r.text();
        assert!(
            text.contains("the stash's store is out of reach")
                || text.contains("did not answer within"),
            "{lang}: {text}"
        );
        assert!(
            !text.contains(&redis.addr.port().to_string()),
            "{lang}: the store's address leaked: {text}"
        );
    }
    // Everything else is served meanwhile.
    assert_eq!(get(a.addr, "/plain.txt").text(), "no stash here");
    // Back (empty: it kept nothing), the store is used again.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = get(a.addr, &rust("put", K, "&value=after"));
        if r.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "not reconnected: {}", r.text());
        std::thread::sleep(Duration::from_millis(50));
    }
    // Each server finds the store again (a connection that failed is made
    // again by the next call).
    loop {
        let r = get(b.addr, &rust("take", K, ""));
        if r.status == 200 {
            assert_eq!(r.text(), "after");
            break;
        }
        assert!(Instant::now() < deadline, "not reconnected: {}", r.text());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(get(b.addr, &python("put", K, "&value=py")).status, 200);
    assert_eq!(get(a.addr, &python("take", K, "")).text(), "py");
}

#[test]
fn keys_and_paths_never_become_commands() {
    let redis = RedisServer::start();
    let root = root();
    let (a, b) = pair(&root, &redis, |_| {});
    let mut outside = redis.client();
    assert_eq!(
        outside
            .command(&[b"SET", b"sentinel", b"untouched"])
            .unwrap(),
        Reply::Status("OK".into())
    );
    // Paths are the guest's: protocol framing, inline commands, spaces,
    // another prefix's hash tag, Lua. Each is only a name.
    let paths = [
        "/a%0D%0A*1%0D%0A$8%0D%0AFLUSHALL%0D%0A",
        "/b%20FLUSHDB%0D%0A",
        "/c%0D%0AFLUSHALL",
        "/{sentinel}",
        "/d')%20redis.call('FLUSHALL')%20--",
    ];
    for (i, path) in paths.iter().enumerate() {
        let value = format!("v{i}");
        let put = get(
            a.addr,
            &rust("put", K, &format!("&value={value}&path={path}")),
        );
        assert_eq!(put.status, 200, "{path}: {}", put.text());
    }
    for (i, path) in paths.iter().enumerate() {
        let taken = get(b.addr, &rust("take", K, &format!("&path={path}")));
        assert_eq!(taken.text(), format!("v{i}"), "{path}");
    }
    // A key that is no UUID never reaches the store.
    let bad = get(a.addr, &rust("put", "x%0D%0AFLUSHALL", "&value=1"));
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert_eq!(
        outside.command(&[b"GET", b"sentinel"]).unwrap(),
        Reply::Bulk(Some(b"untouched".to_vec()))
    );
}

#[test]
fn start_up_with_the_store_out_of_reach_fails_clearly_or_retries() {
    // A port nobody listens on (yet).
    let mut redis = RedisServer::start();
    redis.kill();
    let root = root();
    // The first URL holds a password, which no message may show.
    let secret = format!("redis://user:secret-password@{}/0", redis.addr);
    let config = |url: &str, retry: bool| {
        let mut c = Config {
            doc_root: Some(root.path().to_path_buf()),
            ..Config::default()
        };
        c.ports
            .insert("http".into(), vec![sandserve::config::PortSpec::Auto]);
        c.stash.backend = url.to_string();
        c.stash.timeout_secs = 0.5;
        c.python.runner = Some(python_runner());
        c.wasm.cache_dir = Some(python_runner_cache());
        if retry {
            c.stash.on_unreachable = serde_json::from_value(serde_json::json!("retry")).unwrap();
        }
        c
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let error = runtime
        .block_on(sandserve::Server::bind(config(&secret, false)))
        .err()
        .expect("a server whose store is out of reach does not start")
        .to_string();
    assert!(
        error.contains("stash.backend: cannot reach the Redis server")
            && error.contains("Connection refused"),
        "{error}"
    );
    assert!(!error.contains("secret-password"), "{error}");
    // Told to retry, it starts; stash calls fail until the store is there.
    let server = TestServer::start_config(config(&redis.url(), true));
    let r = get(server.addr, &rust("put", K, "&value=1"));
    assert_eq!(r.status, 503, "{}", r.text());
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(server.addr, &rust("put", K, "&value=1")).status != 200 {
        assert!(Instant::now() < deadline, "the store was never used");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn javascript_and_c_handlers_share_the_stash_too() {
    let redis = RedisServer::start();
    let root = root();
    // Built by scripts/build-js-guests.sh and build-c-guests.sh
    // (scripts/test.sh runs both).
    for (lang, dir, script) in [
        ("js", "js-guests", "build-js-guests.sh"),
        ("c", "c-guests", "build-c-guests.sh"),
    ] {
        std::fs::copy(
            built(dir, "stash-roundtrip", script),
            root.path().join(format!("{lang}.wasm")),
        )
        .unwrap();
    }
    let (a, b) = pair(&root, &redis, |_| {});
    for server in [&a, &b] {
        for lang in ["js", "c"] {
            compile_first(server.addr, &format!("/{lang}.wasm"));
        }
    }
    for lang in ["js", "c"] {
        let call = |op: &str, extra: &str| format!("/{lang}.wasm?action={op}&key={K}{extra}");
        assert_eq!(
            get(a.addr, &call("put", &format!("&value=from-{lang}"))).text(),
            "stored",
            "{lang}"
        );
        let again = get(b.addr, &call("put", "&value=x"));
        assert_eq!(again.status, 409, "{lang}");
        assert!(
            again.text().contains("already-present"),
            "{lang}: {}",
            again.text()
        );
        // Put (under its path, the default), taken by the Rust handler
        // through the other server: one stash, whatever the language.
        assert_eq!(
            get(b.addr, &rust("take", K, &format!("&path=/{lang}.wasm"))).text(),
            format!("from-{lang}"),
            "{lang}"
        );
        assert_eq!(get(a.addr, &call("take", "")).status, 404, "{lang}");
        // And the other way: put by the Rust handler under the path of
        // this one, taken by it.
        assert_eq!(
            get(
                b.addr,
                &rust("put", K, &format!("&value=to-{lang}&path=/{lang}.wasm"))
            )
            .status,
            200
        );
        assert_eq!(get(a.addr, &call("take", "")).text(), format!("to-{lang}"));
    }
}

#[test]
fn a_store_over_tls_is_shared_with_its_authority_trusted_and_refused_without() {
    let redis = RedisServer::start_tls();
    let root = root();
    let url = format!("rediss://localhost:{}/0", redis.addr.port());
    let ca = redis.ca_file();
    let prefix = format!("tls-{}", fastrand::u64(..));
    let tls = |c: &mut Config| {
        c.stash.backend = url.clone();
        c.stash.ca_file = Some(ca.clone());
    };
    let (a, b) = (
        server(&root, &redis, &prefix, tls),
        server(&root, &redis, &prefix, tls),
    );
    assert_eq!(get(a.addr, &rust("put", K, "&value=sealed")).status, 200);
    assert_eq!(get(b.addr, &rust("take", K, "")).text(), "sealed");
    assert_eq!(get(b.addr, &python("put", K, "&value=py")).status, 200);
    assert_eq!(get(a.addr, &python("take", K, "")).text(), "py");

    // Without the authority (the system's roots only), in plain text, or
    // by a name the certificate is not for, the server does not start, and
    // says why.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (what, backend, ca_file, why) in [
        ("untrusted", url.clone(), None, "UnknownIssuer"),
        (
            "plain text",
            format!("redis://127.0.0.1:{}/0", redis.addr.port()),
            None,
            "Connection reset",
        ),
        (
            "wrong name",
            format!("rediss://{}/0", redis.addr),
            Some(ca.clone()),
            "not valid for name",
        ),
    ] {
        let mut c = Config {
            doc_root: Some(root.path().to_path_buf()),
            ..Config::default()
        };
        c.ports
            .insert("http".into(), vec![sandserve::config::PortSpec::Auto]);
        c.stash.backend = backend;
        c.stash.ca_file = ca_file;
        c.stash.timeout_secs = 1.0;
        let started = Instant::now();
        let error = runtime
            .block_on(sandserve::Server::bind(c))
            .err()
            .unwrap_or_else(|| panic!("{what}: started"))
            .to_string();
        assert!(
            error.contains("stash.backend: cannot reach the Redis server") && error.contains(why),
            "{what}: {error}"
        );
        assert!(started.elapsed() < Duration::from_secs(3), "{what}");
    }
}
