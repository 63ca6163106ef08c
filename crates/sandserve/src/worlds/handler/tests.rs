//! The executor on its own: components written in the text format, run on
//! an engine of their own, with the capabilities the world grants and a
//! client kept in memory — no sockets, no server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::HandlerWorld;
use crate::http::testing::{request, MemIo, Written};
use crate::http::{ResponseWriter, Transport};
use crate::reply::{ErrorAnswer, Reply};
use crate::stash::Stash;
use crate::topology::Topology;
use crate::wasm::{Fault, Runtime, WasmLimits};
use wasmtime::Trap;

/// A component of the handler world whose `handle` runs `body` (core
/// WebAssembly: `$req`, `$resp` and `$w` are the three borrowed handles;
/// `$done` drops them and returns the pointer to an `ok` result; at 64 is
/// "teapot", at 128 a raw response of 41 bytes).
fn component(body: &str) -> Vec<u8> {
    let text = format!(
        r#"(component
  (import "sandserve:handler/http@0.1.0" (instance $http
    (export "request" (type (sub resource)))
    (export "response" (type (sub resource)))
    (export "response-writer" (type $w (sub resource)))
    (export "[method]response-writer.write-raw"
      (func (param "self" (borrow $w)) (param "data" (list u8))))
  ))
  (import "sandserve:handler/timing@0.1.0" (instance $timing
    (export "sleep" (func (param "duration" u64)))
  ))
  (alias export $http "request" (type $request))
  (alias export $http "response" (type $response))
  (alias export $http "response-writer" (type $writer))
  (alias export $http "[method]response-writer.write-raw" (func $write-raw))
  (alias export $timing "sleep" (func $sleep))

  (core module $libc (memory (export "mem") 1))
  (core instance $libc (instantiate $libc))
  (core func $write-raw (canon lower (func $write-raw) (memory (core memory $libc "mem"))))
  (core func $sleep (canon lower (func $sleep)))
  (core func $drop-request (canon resource.drop $request))
  (core func $drop-response (canon resource.drop $response))
  (core func $drop-writer (canon resource.drop $writer))

  (core module $main
    (import "libc" "mem" (memory 1))
    (import "host" "write-raw" (func $write_raw (param i32 i32 i32)))
    (import "host" "sleep" (func $sleep (param i64)))
    (import "host" "drop-request" (func $drop_request (param i32)))
    (import "host" "drop-response" (func $drop_response (param i32)))
    (import "host" "drop-writer" (func $drop_writer (param i32)))
    (data (i32.const 64) "teapot")
    (data (i32.const 128) "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nraw")
    (func $recurse (param i32) (result i32)
      (call $recurse (i32.add (local.get 0) (i32.const 1))))
    (func $done (param $req i32) (param $resp i32) (param $w i32) (result i32)
      (call $drop_request (local.get $req))
      (call $drop_response (local.get $resp))
      (call $drop_writer (local.get $w))
      (i32.const 0))
    (func (export "handle") (param $req i32) (param $resp i32) (param $w i32) (result i32)
      {body})
  )
  (core instance $main (instantiate $main
    (with "libc" (instance $libc))
    (with "host" (instance
      (export "write-raw" (func $write-raw))
      (export "sleep" (func $sleep))
      (export "drop-request" (func $drop-request))
      (export "drop-response" (func $drop-response))
      (export "drop-writer" (func $drop-writer))))
  ))
  (type $error-record (record (field "code" u16) (field "message" string)))
  (export $error "error" (type $error-record))
  (func $handle
    (param "request" (borrow $request))
    (param "response" (borrow $response))
    (param "writer" (borrow $writer))
    (result (result (error $error)))
    (canon lift (core func $main "handle") (memory (core memory $libc "mem"))))
  (export "handle" (func $handle))
)"#
    );
    wat::parse_str(text).expect("a valid component")
}

const DONE: &str = "(call $done (local.get $req) (local.get $resp) (local.get $w))";

/// Runs `body` once under `limits`; the reply, what reached the client,
/// and how long it took.
async fn run(body: &str, limits: WasmLimits) -> (Reply, Vec<u8>, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.wasm");
    std::fs::write(&path, component(body)).unwrap();
    let limits = WasmLimits {
        disk_cache: false,
        max_instances: 2,
        ..limits
    };
    let runtime = Runtime::new(&limits, dir.path()).unwrap();
    let topology = Topology::localhost();
    let tenants = Arc::new(crate::tenants::Tenants::new(None, 0));
    let stash = Arc::new(Stash::new(Default::default(), tenants.clone()));
    let sessions = Arc::new(crate::session::Sessions::new(
        stash.clone(),
        Default::default(),
    ));
    let world = HandlerWorld::new(
        Arc::new(runtime),
        stash,
        sessions,
        Arc::new(topology),
        tenants,
        100,
    )
    .unwrap();
    let handler = world
        .load(&crate::wasm::Source::path(&path))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (io, written): (MemIo, Written) = MemIo::new();
    let writer = ResponseWriter::new(Transport::new(Box::new(io)), false, false);
    let started = Instant::now();
    let (reply, writer) = world
        .serve(
            &handler,
            "/h.wasm",
            Arc::new(request("GET", "/h.wasm", &[])),
            Vec::new(),
            None,
            writer,
        )
        .await;
    let took = started.elapsed();
    drop(writer);
    (reply, written.take(), took)
}

fn fault(reply: &Reply) -> &Fault {
    match reply {
        Reply::Error(ErrorAnswer::HandlerFailed { fault, .. }) => fault,
        other => panic!("not a handler failure: {other:?}"),
    }
}

#[tokio::test]
async fn a_returned_ok_is_the_built_response() {
    let (reply, written, _) = run(DONE, WasmLimits::default()).await;
    let Reply::Response(response) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(response.status, 200);
    assert!(response.body.is_empty());
    assert!(written.is_empty(), "nothing written by the executor itself");
}

#[tokio::test]
async fn a_returned_error_is_the_guest_s_answer() {
    let body = format!(
        "(i32.store8 (i32.const 0) (i32.const 1))
         (i32.store16 (i32.const 4) (i32.const 418))
         (i32.store (i32.const 8) (i32.const 64))
         (i32.store (i32.const 12) (i32.const 6))
         (drop {DONE}) (i32.const 0)"
    );
    let (reply, _, _) = run(&body, WasmLimits::default()).await;
    match reply {
        Reply::Error(e @ ErrorAnswer::Guest { .. }) => {
            assert_eq!(e.status(), 418);
            assert_eq!(e.to_string(), "teapot");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn raw_writes_reach_the_client_directly() {
    let body = format!("(call $write_raw (local.get $w) (i32.const 128) (i32.const 41)) {DONE}");
    let (reply, written, _) = run(&body, WasmLimits::default()).await;
    assert!(matches!(reply, Reply::Written), "{reply:?}");
    assert_eq!(written, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nraw");
}

#[tokio::test]
async fn the_response_limit_counts_raw_bytes() {
    let body = format!("(call $write_raw (local.get $w) (i32.const 128) (i32.const 41)) {DONE}");
    let limits = WasmLimits {
        max_response_bytes: 40,
        ..WasmLimits::default()
    };
    let (reply, written, _) = run(&body, limits).await;
    assert!(
        matches!(fault(&reply), Fault::ResponseTooLarge(40)),
        "{reply:?}"
    );
    assert!(written.is_empty(), "stopped before anything was written");
}

#[tokio::test]
async fn an_endless_loop_is_stopped_by_the_cpu_limit() {
    let limits = WasmLimits {
        cpu_time_ms: 200,
        ..WasmLimits::default()
    };
    let (reply, _, took) = run("(loop $l (br $l)) unreachable", limits).await;
    assert!(matches!(fault(&reply), Fault::CpuTime(_)), "{reply:?}");
    assert!(took >= Duration::from_millis(190), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(reply_text(&reply).contains("exceeded the CPU-time limit of 200 ms"));
}

#[tokio::test]
async fn a_sleep_is_not_cpu_time_but_counts_against_the_wall() {
    let limits = WasmLimits {
        cpu_time_ms: 50,
        wall_time_secs: 0.4,
        ..WasmLimits::default()
    };
    let body = format!("(call $sleep (i64.const 60000000000)) {DONE}");
    let (reply, _, took) = run(&body, limits).await;
    assert!(matches!(fault(&reply), Fault::WallTime(_)), "{reply:?}");
    assert!(took >= Duration::from_millis(390), "{took:?}");
    assert!(reply_text(&reply).contains("wall-time limit of 0.4 s"));
}

#[tokio::test]
async fn a_memory_bomb_is_stopped_by_the_limiter() {
    let limits = WasmLimits {
        max_memory_mib: 2,
        ..WasmLimits::default()
    };
    let body =
        "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) (i32.const 0)";
    let (reply, _, _) = run(body, limits).await;
    assert!(matches!(fault(&reply), Fault::Memory(2)), "{reply:?}");
    assert!(reply_text(&reply).contains("exceeded the memory limit of 2 MiB"));
}

#[tokio::test]
async fn deep_recursion_overflows_the_stack() {
    let limits = WasmLimits {
        max_stack_kib: 64,
        ..WasmLimits::default()
    };
    let body = "(drop (call $recurse (i32.const 0))) (i32.const 0)";
    let (reply, _, _) = run(body, limits).await;
    assert!(matches!(fault(&reply), Fault::StackOverflow), "{reply:?}");
}

#[tokio::test]
async fn a_silent_trap_is_a_trap_not_a_panic() {
    let (reply, _, _) = run("unreachable", WasmLimits::default()).await;
    assert!(
        matches!(fault(&reply), Fault::Trap(Trap::UnreachableCodeReached)),
        "{reply:?}"
    );
    let text = reply_text(&reply);
    assert!(text.starts_with("handler /h.wasm trapped"), "{text}");
}

fn reply_text(reply: &Reply) -> String {
    match reply {
        Reply::Error(e) => e.to_string(),
        other => format!("{other:?}"),
    }
}
