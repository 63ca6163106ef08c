//! Any string given as `?pipe=` parses or is refused, never panics; a parsed
//! trickle plan is finite.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sandserve::testing::{Pace, PipeLimits, Pipeline, Step};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(pipeline) = Pipeline::parse(text, &PipeLimits::default()) {
        for step in &pipeline.steps {
            if let Step::Trickle(plan) = step {
                if let Some((Pace::Repeat(_), rest)) = plan.split_last() {
                    assert!(rest.iter().any(|p| matches!(p, Pace::Bytes(n) if *n > 0)));
                }
            }
        }
    }
});
