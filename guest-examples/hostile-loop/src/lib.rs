//! Hostile: spins forever. The CPU-time limit must stop it.

use sandserve_guest::{handler, Error, Reply, Request, Response};

fn handle(_request: &Request, _response: &mut Response) -> Result<Reply, Error> {
    let mut x: u64 = 1;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

handler!(handle);
