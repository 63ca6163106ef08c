//! Hostile: allocates 1 MiB blocks until something stops it. The memory
//! limit must.

use sandserve_guest::{handler, Error, Reply, Request, Response};

fn handle(_request: &Request, _response: &mut Response) -> Result<Reply, Error> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; 1 << 20];
        block[0] = hoard.len() as u8;
        hoard.push(std::hint::black_box(block));
    }
}

handler!(handle);
