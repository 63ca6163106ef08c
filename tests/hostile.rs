//! Hostile clients against the limits that keep a public server up: bodies
//! that come too slowly or crowd out others, clients that never read, and
//! clients that leave while a handler works for them. Each is bounded in time
//! and count, on loopback.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use sandserve_tests::{guests, DocRoot, TestServer};

/// Closes a connection with a reset (RST) rather than a FIN.
fn reset(stream: TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(stream);
}

#[test]
fn empty_lines_alone_are_refused_at_once() {
    let root = DocRoot::new();
    let server = TestServer::start(&root);
    let mut conn = server.connect();
    conn.send(&b"\r\n".repeat(5));
    let resp = conn.read_response(false);
    assert_eq!(resp.status, 400);
    assert!(
        resp.json_error().1.contains("empty lines"),
        "{}",
        resp.text()
    );
    assert!(conn.closed());
}

#[test]
fn a_body_too_slow_is_cut() {
    let root = DocRoot::new();
    root.file("a.txt", "alpha");
    let server = TestServer::start_with(&root, |c| {
        c.timeouts.header_read_secs = 0.5;
        c.limits.min_body_rate = 1000;
    });
    let mut conn = server.connect();
    conn.send(b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    // Ten bytes every 200 ms: 50 bytes a second, well under the minimum.
    let started = Instant::now();
    let mut answer = Vec::new();
    for _ in 0..40 {
        if conn.stream.write_all(b"0123456789").is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        conn.stream.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 512];
        if let Ok(n) = conn.stream.read(&mut buf) {
            answer.extend_from_slice(&buf[..n]);
        }
        conn.stream.set_nonblocking(false).unwrap();
        if !answer.is_empty() {
            break;
        }
    }
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn bodies_share_one_budget() {
    let root = DocRoot::new();
    root.file("a.txt", "alpha");
    let server = TestServer::start_with(&root, |c| {
        c.timeouts.header_read_secs = 1.0;
        c.limits.max_buffered_body_mib = 1;
    });
    // One upload holds 800 KiB of the 1 MiB while it arrives, 32 KiB every
    // 100 ms…
    let mut first = server.connect();
    first.send(b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 819200\r\n\r\n");
    let mut writer = first.stream.try_clone().unwrap();
    let uploading = std::thread::spawn(move || {
        for _ in 0..25 {
            writer.write_all(&[b'x'; 32 << 10]).unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    std::thread::sleep(Duration::from_millis(100));
    // …so another that would pass the budget waits, then gets 503.
    let started = Instant::now();
    let mut second = server.connect();
    second.send(b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 819200\r\n\r\n");
    let resp = second.read_response(false);
    assert_eq!(resp.status, 503, "{}", resp.text());
    assert!(resp.json_error().1.contains("max_buffered_body_mib"));
    assert!(started.elapsed() >= Duration::from_millis(900));
    // The first finishes; its room comes back.
    uploading.join().unwrap();
    assert_eq!(first.read_response(false).status, 404, "POST to a file");
    let mut third = server.connect();
    third.send(
        b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 819200\r\nConnection: close\r\n\r\n",
    );
    third.send(&vec![b'x'; 819200]);
    assert_eq!(third.read_response(false).status, 404);
}

#[test]
fn a_client_that_never_reads_is_dropped() {
    let root = DocRoot::new();
    root.file("big.bin", vec![b'z'; 64 << 20]);
    let server = TestServer::start_with(&root, |c| c.timeouts.send_secs = 1.0);
    let mut conn = server.connect();
    conn.send(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    // Read nothing while the buffers fill and the send timeout passes…
    std::thread::sleep(Duration::from_secs(3));
    // …then everything that was sent: it stops short, and the server closed.
    let started = Instant::now();
    let got = conn.read_to_close();
    assert!(got.len() < 64 << 20, "{} bytes", got.len());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(server.get("/big.bin?pipe=slice(0,3)").body, b"zzz");
}

#[test]
fn a_handler_whose_client_left_is_stopped_at_once() {
    let root = DocRoot::new();
    std::fs::copy(
        guests::path("hostile-sleep-forever"),
        root.path().join("sleep.wasm"),
    )
    .unwrap();
    std::fs::copy(guests::path("hello"), root.path().join("hello.wasm")).unwrap();
    let server = TestServer::start_with(&root, |c| c.wasm.max_instances = 16);
    for leave in [reset as fn(TcpStream), drop] {
        // Every slot taken by a sleeper whose client then leaves…
        let before = server.monitor.stats().instances_started;
        let sleepers: Vec<TcpStream> = (0..16)
            .map(|_| {
                let mut c = server.connect();
                c.send(b"GET /sleep.wasm HTTP/1.1\r\nHost: x\r\n\r\n");
                c.stream
            })
            .collect();
        server.wait_for("16 sleepers", |s| s.instances_started >= before + 16);
        assert_eq!(server.monitor.stats().instances_running, 16);
        // …and a waiting request whose client leaves too.
        let waiter = {
            let mut c = server.connect();
            c.send(b"GET /hello.wasm HTTP/1.1\r\nHost: x\r\n\r\n");
            c.stream
        };
        std::thread::sleep(Duration::from_millis(50));
        let started = Instant::now();
        for s in sleepers {
            leave(s);
        }
        leave(waiter);
        server.wait_for("every slot free", |s| s.instances_running == 0);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        // The slots serve others at once.
        let started = Instant::now();
        assert_eq!(server.get("/hello.wasm").status, 200);
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}

/// A document root with a secret beside it, reachable only through links.
fn root_beside_a_secret() -> (DocRoot, DocRoot) {
    let outside = DocRoot::new();
    outside
        .file("secret.txt", "TOP SECRET")
        .file("secret.headers", "X-Secret: TOP SECRET\n")
        .file("d/page.txt", "TOP SECRET page");
    let root = DocRoot::new();
    root.file("page.txt", "fine")
        .file("d/page.txt", "fine too")
        .file("hash.sub.txt", "{{file_hash(sha256, /linked/secret.txt)}}")
        .file(
            "proc.sub.txt",
            "{{file_hash(sha256, /proc-root/etc/hostname)}}",
        );
    let link = |target: &std::path::Path, name: &str| {
        std::os::unix::fs::symlink(target, root.path().join(name)).unwrap();
    };
    link(&outside.path().join("secret.headers"), "page.txt.headers");
    link(&outside.path().join("secret.headers"), "d/__dir__.headers");
    link(
        &outside.path().join("secret.headers"),
        "hash.sub.txt.sub.headers",
    );
    link(outside.path(), "linked");
    link(std::path::Path::new("/proc/self/root"), "proc-root");
    (outside, root)
}

#[test]
fn no_reader_follows_a_link_out_of_the_root() {
    let (_outside, root) = root_beside_a_secret();
    let server = TestServer::start(&root);
    for path in ["/page.txt", "/d/page.txt"] {
        let resp = server.get(path);
        assert_eq!(resp.status, 200, "{path}");
        assert!(
            !String::from_utf8_lossy(&resp.head).contains("SECRET"),
            "{path}"
        );
    }
    for path in ["/hash.sub.txt", "/proc.sub.txt"] {
        let resp = server.get(path);
        assert_eq!(resp.status, 500, "{path}: {}", resp.text());
        assert!(
            resp.text().contains("no such file"),
            "{path}: {}",
            resp.text()
        );
    }
}

#[test]
fn a_fifo_is_not_a_file() {
    let root = DocRoot::new();
    sandserve_tests::mkfifo(&root.path().join("pipe.txt"));
    let server = TestServer::start(&root);
    let started = Instant::now();
    assert_eq!(server.get("/pipe.txt").status, 404);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn swapping_a_directory_for_a_link_serves_nothing_outside() {
    let (outside, root) = root_beside_a_secret();
    let server = TestServer::start(&root);
    let (d, aside, link) = (
        root.path().join("d"),
        root.path().join("d-aside"),
        root.path().join("d-link"),
    );
    std::os::unix::fs::symlink(outside.path().join("d"), &link).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // The directory goes aside and the link takes its name, and back.
                let _ = std::fs::rename(&d, &aside);
                let _ = std::fs::rename(&link, &d);
                let _ = std::fs::rename(&d, &link);
                let _ = std::fs::rename(&aside, &d);
            }
        })
    };
    let mut served = 0;
    for _ in 0..800 {
        let resp = server.get("/d/page.txt");
        assert!(
            !resp.text().contains("SECRET"),
            "an outside file was served"
        );
        served += usize::from(resp.status == 200);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(served > 0, "the inside file was served sometimes");
}

/// A connection from a loopback address of our choosing: another client.
fn connect_from(source: [u8; 4], server: &TestServer) -> sandserve_tests::Conn {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&std::net::SocketAddr::from((source, 0)).into())
        .unwrap();
    socket.connect(&server.addr.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(sandserve_tests::READ_TIMEOUT))
        .unwrap();
    sandserve_tests::Conn::from_stream(stream)
}

#[test]
fn one_client_cannot_take_what_others_need() {
    let root = DocRoot::new();
    root.file("a.txt", "alpha");
    std::fs::copy(
        guests::path("hostile-sleep-forever"),
        root.path().join("sleep.wasm"),
    )
    .unwrap();
    let server = TestServer::start_with(&root, |c| {
        c.per_client.enabled = Some(true);
        c.per_client.connections = 6;
        c.per_client.handler_requests = 3;
        c.per_client.sleeping = 2;
    });
    let me = [127, 0, 0, 1];
    let other = [127, 0, 0, 2];
    // Two sleepers: the most this address may have asleep; a third is 429.
    let before = server.monitor.stats().instances_started;
    let mut sleepers: Vec<_> = (0..2)
        .map(|_| {
            let mut c = connect_from(me, &server);
            c.send(b"GET /sleep.wasm?ms=4000 HTTP/1.1\r\nHost: x\r\n\r\n");
            c
        })
        .collect();
    server.wait_for("two sleepers", |s| s.instances_started >= before + 2);
    let mut third = connect_from(me, &server);
    third.send(b"GET /sleep.wasm?ms=4000 HTTP/1.1\r\nHost: x\r\n\r\n");
    let resp = third.read_response(false);
    assert_eq!(resp.status, 429);
    assert!(
        resp.json_error().1.contains("2 sleeping handlers"),
        "{}",
        resp.text()
    );
    // Another address sleeps as it likes.
    let mut theirs = connect_from(other, &server);
    theirs.send(b"GET /sleep.wasm?ms=10 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(theirs.read_response(false).text(), "awake");
    // Connections: three open here already, three more, then refused at once.
    let mut more: Vec<_> = (0..3).map(|_| connect_from(me, &server)).collect();
    more[0].send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(more[0].read_response(false).status, 200);
    let mut refused = connect_from(me, &server);
    let raw = refused.read_to_close();
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
        "{text}"
    );
    assert!(text.contains("6 open connections"), "{text}");
    let mut fine = connect_from(other, &server);
    fine.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(fine.read_response(false).status, 200);
    for s in &mut sleepers {
        assert_eq!(s.read_response(false).text(), "awake");
    }
    assert!(server.monitor.stats().connections_refused >= 1);
}

#[test]
fn one_client_cannot_take_the_memory_of_all_instances() {
    let root = DocRoot::new();
    std::fs::copy(guests::path("hostile-memory"), root.path().join("m.wasm")).unwrap();
    let server = TestServer::start_with(&root, |c| {
        c.wasm.max_total_memory_mib = Some(64);
        c.per_client.enabled = Some(true);
        c.per_client.instance_memory_mib = Some(28);
    });
    let me = [127, 0, 0, 1];
    let other = [127, 0, 0, 2];
    let hold = b"GET /m.wasm?mib=20&hold_ms=3000 HTTP/1.1\r\nHost: x\r\n\r\n";
    let before = server.monitor.stats().instances_started;
    let mut holder = connect_from(me, &server);
    holder.send(hold);
    server.wait_for("20 MiB held", |s| {
        s.instances_started > before && s.instance_memory >= 20 << 20
    });
    // This address has 8 MiB of its share left: a bomb of its own stops
    // there, with the answer for a client at its cap.
    let mut greedy = connect_from(me, &server);
    greedy.send(b"GET /m.wasm HTTP/1.1\r\nHost: x\r\n\r\n");
    let (code, message) = greedy.read_response(false).json_error();
    assert_eq!(code, 429);
    assert!(message.contains("28 MiB of instance memory"), "{message}");
    // Another address has the rest of the 64 MiB meanwhile.
    let mut theirs = connect_from(other, &server);
    theirs.send(b"GET /m.wasm?mib=20 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(theirs.read_response(false).text(), "held 20 MiB");
    assert_eq!(holder.read_response(false).text(), "held 20 MiB");
    server.wait_for("memory given back", |s| s.instance_memory == 0);
}

#[test]
fn connections_past_the_server_limit_are_refused_at_once() {
    let root = DocRoot::new();
    root.file("a.txt", "alpha");
    let server = TestServer::start_with(&root, |c| c.limits.max_connections = Some(8));
    let mut held: Vec<_> = (0..8).map(|_| server.connect()).collect();
    held[0].send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(held[0].read_response(false).status, 200);
    server.wait_for("eight connections", |s| s.connections_open == 8);
    let started = Instant::now();
    let raw = server.connect().read_to_close();
    assert!(
        raw.starts_with(b"HTTP/1.1 503 Service Unavailable\r\n"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    drop(held.pop());
    server.wait_for("a free place", |s| s.connections_open == 7);
    assert_eq!(server.get("/a.txt").status, 200);
}

#[test]
fn spinning_guests_take_turns_and_leave_a_thread_for_others() {
    let root = DocRoot::new();
    std::fs::copy(guests::path("hostile-loop"), root.path().join("loop.wasm")).unwrap();
    std::fs::copy(guests::path("hello"), root.path().join("hello.wasm")).unwrap();
    let server = TestServer::start_with(&root, |c| c.wasm.cpu_time_ms = 200);
    let before = server.monitor.stats().instances_started;
    let spinners: Vec<_> = (0..20)
        .map(|_| {
            let mut c = server.connect();
            c.send(b"GET /loop.wasm HTTP/1.1\r\nHost: x\r\n\r\n");
            c
        })
        .collect();
    server.wait_for("20 spinners", |s| s.instances_started >= before + 20);
    // With 20 guests yielding every tick on two threads, a request queued
    // behind all of them would wait 10 ticks; taking turns, one spins at a
    // time and the other thread is free.
    let mut took: Vec<Duration> = (0..9)
        .map(|_| {
            let started = Instant::now();
            assert_eq!(server.get("/hello.wasm").status, 200);
            started.elapsed()
        })
        .collect();
    took.sort();
    assert!(
        took[4] < Duration::from_millis(50),
        "median {:?} of {took:?}",
        took[4]
    );
    // Waiting for a turn is not CPU time: every spinner gets its full
    // 200 ms, one after another.
    let started = Instant::now();
    for mut s in spinners {
        let (code, message) = s.read_response(false).json_error();
        assert_eq!(code, 500);
        assert!(message.contains("CPU-time limit of 200 ms"), "{message}");
    }
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

/// The `sandserve` program, which compiles components in a child process.
const SANDSERVE: &str = env!("CARGO_BIN_EXE_sandserve-under-test");

/// A server whose components are compiled as `edit` sets, serving the hello
/// guest as `/h.wasm`.
fn compiling_server(edit: impl FnOnce(&mut sandserve::Config)) -> (DocRoot, TestServer) {
    let root = DocRoot::new();
    std::fs::copy(guests::path("hello"), root.path().join("h.wasm")).unwrap();
    let server = TestServer::start_with(&root, |c| {
        c.wasm.compiler = sandserve::config::Compiler::Child(SANDSERVE.into());
        edit(c);
    });
    (root, server)
}

#[test]
fn components_compile_in_a_child_process() {
    let (_root, server) = compiling_server(|_| {});
    let resp = server.get("/h.wasm");
    assert_eq!(resp.text(), "Hello, world!\n");
    assert_eq!(server.monitor.stats().loads.compiled, 1);
}

#[test]
fn a_compile_past_its_memory_is_stopped() {
    let (_root, server) = compiling_server(|c| c.wasm.compile_memory_mib = 16);
    let (code, message) = server.get("/h.wasm").json_error();
    assert_eq!(code, 500);
    assert!(
        message.contains(
            "compile limit: compiling it needed more memory than wasm.compile_memory_mib"
        ),
        "{message}"
    );
}

#[test]
fn a_compile_past_its_time_is_stopped_and_not_tried_again() {
    for compiler in [
        sandserve::config::Compiler::Child(SANDSERVE.into()),
        sandserve::config::Compiler::InProcess,
    ] {
        let (_root, server) = compiling_server(|c| {
            c.wasm.compile_secs = 0.001;
            c.wasm.compiler = compiler.clone();
        });
        for _ in 0..2 {
            let (code, message) = server.get("/h.wasm").json_error();
            assert_eq!(code, 500);
            assert!(
                message.contains("compile limit: compiling it took longer than wasm.compile_secs"),
                "{compiler:?}: {message}"
            );
        }
        assert_eq!(server.monitor.stats().loads.compiled, 0, "{compiler:?}");
    }
}

#[test]
fn a_component_over_the_size_limit_is_not_compiled() {
    let (root, server) = compiling_server(|c| c.wasm.max_component_mib = 1);
    // The hello guest and a 2 MiB custom section: still a valid component.
    let mut big = std::fs::read(guests::path("hello")).unwrap();
    let payload = vec![0u8; 2 << 20];
    let name = b"padding";
    let size = 1 + name.len() + payload.len();
    big.push(0);
    let mut n = size;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        big.push(if n == 0 { byte } else { byte | 0x80 });
        if n == 0 {
            break;
        }
    }
    big.push(name.len() as u8);
    big.extend_from_slice(name);
    big.extend_from_slice(&payload);
    std::fs::write(root.path().join("big.wasm"), big).unwrap();
    let (code, message) = server.get("/big.wasm").json_error();
    assert_eq!(code, 500);
    assert!(
        message.contains("larger than the limit of 1 MiB"),
        "{message}"
    );
    assert_eq!(server.get("/h.wasm").status, 200);
}
