//! A hostile WebSocket handler: accepts, then computes forever. The CPU-time
//! limit stops it; the client gets a close frame with 1011.

use sandserve_websocket_guest::{websocket_handler, Connection, Error, WebSocketHandler};

struct Spin;

impl WebSocketHandler for Spin {
    fn transfer(_conn: &Connection) -> Result<(), Error> {
        let mut x: u64 = 1;
        loop {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

websocket_handler!(Spin);
