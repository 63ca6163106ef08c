//! A WebSocket handler that breaks the protocol on purpose, as tests of
//! clients need: once connected it sends a frame with all reserved bits set
//! and the reserved opcode 0xB, then a text frame whose 5-byte length is
//! written in the 16-bit form, then raw bytes that are no frame at all.

use sandserve_websocket_guest::{websocket_handler, Connection, Error, Frame, WebSocketHandler};

struct Malformed;

impl WebSocketHandler for Malformed {
    fn transfer(conn: &Connection) -> Result<(), Error> {
        let reserved = Frame {
            fin: true,
            rsv: 7,
            opcode: 0xB,
            payload: b"odd".to_vec(),
            ..Frame::default()
        };
        let long_length = Frame {
            fin: true,
            opcode: 0x1,
            payload: b"hello".to_vec(),
            length_form: Some(16),
            ..Frame::default()
        };
        let _ = conn.write_frame(&reserved);
        let _ = conn.write_frame(&long_length);
        let _ = conn.write_raw(b"\xff\xfe not a frame");
        Ok(())
    }
}

websocket_handler!(Malformed);
