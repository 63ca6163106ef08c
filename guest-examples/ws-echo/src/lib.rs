//! A WebSocket handler (`ws-echo_wsh.wasm` answers `/ws-echo`): echoes text
//! and binary messages. The handshake picks the first subprotocol offered,
//! and refuses with the status in `?refuse=CODE`. Text commands: `close`
//! (closes with 4000 "bye"), `ping` (sends a ping), `protocol` (answers the
//! chosen subprotocol), `put KEY VALUE` and `take KEY` (the stash, under
//! the path `/shared`, which HTTP handlers can name too).

use sandserve_websocket_guest::{
    stash, websocket_handler, Connection, Error, Handshake, Message, WebSocketHandler,
};

struct Echo;

impl WebSocketHandler for Echo {
    fn handshake(handshake: &Handshake) -> Result<(), Error> {
        if let Some(code) = handshake
            .query()
            .and_then(|q| q.strip_prefix("refuse=").and_then(|c| c.parse().ok()))
        {
            handshake.refuse(code, None);
            return Ok(());
        }
        if let Some(first) = handshake.protocols().first() {
            handshake.set_protocol(Some(first));
        }
        handshake.append_header("X-Handler", "ws-echo");
        Ok(())
    }

    fn transfer(conn: &Connection) -> Result<(), Error> {
        loop {
            let sent = match conn.receive() {
                Message::Closed { .. } => return Ok(()),
                Message::Binary(data) => conn.send_binary(&data),
                Message::Text(text) => {
                    let mut words = text.splitn(3, ' ');
                    match (words.next(), words.next(), words.next()) {
                        (Some("close"), None, None) => conn.close(Some(4000), "bye"),
                        (Some("ping"), None, None) => conn.send_ping(b"are you there"),
                        (Some("protocol"), None, None) => {
                            conn.send_text(&conn.protocol().unwrap_or_default())
                        }
                        (Some("put"), Some(key), Some(value)) => {
                            let answer = match stash::put(key, value.as_bytes(), Some("/shared")) {
                                Ok(()) => "ok".to_string(),
                                Err(e) => format!("error: {e:?}"),
                            };
                            conn.send_text(&answer)
                        }
                        (Some("take"), Some(key), None) => {
                            let value = stash::take(key, Some("/shared")).ok().flatten();
                            conn.send_text(&String::from_utf8_lossy(&value.unwrap_or_default()))
                        }
                        _ => conn.send_text(&text),
                    }
                }
            };
            if sent.is_err() {
                return Ok(());
            }
        }
    }
}

websocket_handler!(Echo);
