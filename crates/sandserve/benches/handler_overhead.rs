//! Per-request overhead of a WebAssembly handler through the real host code:
//! a fresh store, instantiation from the pre-linked component, one call of
//! `handle` (the hello guest: a status, a header and a body), and teardown.
//!
//! Also the per-request reload check (a `stat` and a lookup).
//!
//! Needs the built guests: `bash scripts/build-guests.sh` (bench/handlers.sh
//! runs it). Prints criterion's estimate, then p50/p99 over 20,000 runs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use sandserve::testing::HandlerBench;

fn hello_wasm() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let path = target.join("guests/wasm32-wasip2/release/hello.wasm");
    assert!(
        path.exists(),
        "{} is missing: run bash scripts/build-guests.sh",
        path.display()
    );
    path
}

fn overhead(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let bench = runtime
        .block_on(HandlerBench::new(&hello_wasm()))
        .unwrap_or_else(|e| panic!("{e}"));
    let once = || async {
        assert!(black_box(bench.run_once().await));
    };

    c.bench_function("hello handler: instantiate + call + drop", |b| {
        b.to_async(&runtime).iter(once)
    });

    // The per-request reload check: stat the file, find the compiled
    // component in memory. (A file watcher would save only this.)
    c.bench_function("hello handler: reload check (stat + lookup)", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(bench.reload_check().await) })
    });

    let samples: Vec<Duration> = runtime.block_on(async {
        let mut samples = Vec::with_capacity(20_000);
        for _ in 0..20_000 {
            let start = Instant::now();
            once().await;
            samples.push(start.elapsed());
        }
        samples
    });
    let mut sorted = samples;
    sorted.sort_unstable();
    let pct = |p: f64| sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)];
    println!(
        "hello handler per request over {} runs: p50 {:.1} µs, p99 {:.1} µs",
        sorted.len(),
        pct(0.50).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6
    );
}

criterion_group!(benches, overhead);
criterion_main!(benches);
