//! Hostile: allocates 1 MiB blocks until something stops it. The memory
//! limit must. `?mib=N&hold_ms=M` takes N MiB, holds them M milliseconds,
//! and answers: several of these at once test the limit on all instances
//! together.

use std::time::Duration;

use sandserve_guest::{handler, sleep, Error, Reply, Request, Response};

fn handle(request: &Request, _response: &mut Response) -> Result<Reply, Error> {
    let number = |name: &str| request.param(name).and_then(|v| v.parse::<usize>().ok());
    let limit = number("mib").unwrap_or(usize::MAX);
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    while hoard.len() < limit {
        let mut block = vec![0u8; 1 << 20];
        block[0] = hoard.len() as u8;
        hoard.push(std::hint::black_box(block));
    }
    sleep(Duration::from_millis(number("hold_ms").unwrap_or(0) as u64));
    Ok(format!("held {} MiB", hoard.len()).into())
}

handler!(handle);
