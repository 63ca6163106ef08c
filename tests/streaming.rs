//! Large files are streamed: serving one never holds it in memory.
//! (Its own test binary, so that the memory high-water mark is this test's.)

use std::io::Read;

use sandserve_tests::{find, DocRoot, TestServer};

fn high_water_mark_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_256_mib_file_is_served_in_constant_memory() {
    const SIZE: u64 = 256 << 20;
    let root = DocRoot::new();
    let path = root.path().join("huge.bin");
    // Sparse: costs no disk, reads as zeros.
    std::fs::File::create(&path).unwrap().set_len(SIZE).unwrap();
    let server = TestServer::start(&root);
    let before = high_water_mark_kib();

    let mut conn = server.connect();
    conn.send(b"GET /huge.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut chunk = vec![0u8; 256 * 1024];
    let mut head = Vec::new();
    let mut body = 0u64;
    loop {
        let n = conn.stream.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        if body == 0 && find(&head, b"\r\n\r\n").is_none() {
            head.extend_from_slice(&chunk[..n]);
            if let Some(end) = find(&head, b"\r\n\r\n") {
                body = (head.len() - end - 4) as u64;
                head.truncate(end + 4);
            }
        } else {
            body += n as u64;
        }
    }
    let head = String::from_utf8(head).unwrap();
    assert!(
        head.contains(&format!("Content-Length: {SIZE}\r\n")),
        "{head}"
    );
    assert_eq!(body, SIZE);
    let grown_mib = (high_water_mark_kib() - before) / 1024;
    assert!(
        grown_mib < 32,
        "memory grew by {grown_mib} MiB while serving 256 MiB"
    );
}
