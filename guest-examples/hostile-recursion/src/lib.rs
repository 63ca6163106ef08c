//! Hostile: recurses until the stack runs out. The stack limit must stop it.

use sandserve_guest::{handler, Error, Reply, Request, Response};

#[inline(never)]
#[allow(unconditional_recursion)]
fn deeper(n: u64, pad: [u64; 16]) -> u64 {
    let next = std::hint::black_box([n; 16]);
    deeper(n + 1, next) + pad[(n % 16) as usize]
}

fn handle(_request: &Request, _response: &mut Response) -> Result<Reply, Error> {
    Ok(deeper(0, [0; 16]).to_string().into())
}

handler!(handle);
