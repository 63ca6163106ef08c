//! Request heads and chunked bodies: any bytes are parsed or refused with a
//! status, never a panic, and never more bytes used than given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sandserve::testing::{
    body_framing, head_error_status, parse_head, ChunkedDecoder, Framing, Limits,
};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_request_line: 256,
        max_header_lines: 16,
        max_header_bytes: 1024,
        ..Limits::default()
    };
    match parse_head(data, &limits) {
        Ok(Some((head, used))) => {
            assert!(used <= data.len());
            if let Ok(Framing::Chunked) = body_framing(&head) {
                let mut decoder = ChunkedDecoder::new(1 << 20);
                let _ = decoder.decode(&data[used..], &mut Vec::new());
            }
        }
        Ok(None) => {}
        Err(e) => assert!(matches!(head_error_status(e), 400 | 414 | 431 | 505)),
    }
});
