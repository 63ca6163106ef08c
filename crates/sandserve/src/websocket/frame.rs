//! RFC 6455 frames: reading one from what a client sent, writing one.

use bytes::{Buf, BytesMut};

/// Opcodes.
pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// A frame as read: unmasked.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    /// The three reserved bits, as a number 0–7.
    pub rsv: u8,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

/// Why a frame cannot be read: the close code the connection fails with.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The frame is not masked, as a client's must be (1002).
    Unmasked,
    /// The payload is larger than the limit (1009).
    TooLarge { length: u64, limit: u64 },
}

impl FrameError {
    /// The close code that answers it.
    pub fn code(&self) -> u16 {
        match self {
            FrameError::Unmasked => 1002,
            FrameError::TooLarge { .. } => 1009,
        }
    }

    /// The close reason that answers it.
    pub fn reason(&self) -> String {
        match self {
            FrameError::Unmasked => "client frames must be masked".into(),
            FrameError::TooLarge { length, limit } => {
                format!("frame of {length} bytes is over the limit of {limit}")
            }
        }
    }
}

/// Reads one client frame from the start of `input`, removing it; `Ok(None)`
/// when it has not all arrived. The length is checked against `max_payload`
/// as soon as it is known, before the payload arrives.
pub fn read(input: &mut BytesMut, max_payload: u64) -> Result<Option<Frame>, FrameError> {
    if input.len() < 2 {
        return Ok(None);
    }
    let (b0, b1) = (input[0], input[1]);
    let (length, mut at) = match b1 & 0x7F {
        126 => {
            if input.len() < 4 {
                return Ok(None);
            }
            (u64::from(u16::from_be_bytes([input[2], input[3]])), 4)
        }
        127 => {
            if input.len() < 10 {
                return Ok(None);
            }
            let mut n = [0u8; 8];
            n.copy_from_slice(&input[2..10]);
            (u64::from_be_bytes(n), 10)
        }
        n => (u64::from(n), 2),
    };
    if b1 & 0x80 == 0 {
        return Err(FrameError::Unmasked);
    }
    if length > max_payload {
        return Err(FrameError::TooLarge {
            length,
            limit: max_payload,
        });
    }
    let length = length as usize;
    if input.len() < at + 4 + length {
        return Ok(None);
    }
    let mask = [input[at], input[at + 1], input[at + 2], input[at + 3]];
    at += 4;
    input.advance(at);
    let mut payload = input.split_to(length).to_vec();
    unmask(&mut payload, mask);
    Ok(Some(Frame {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0x7,
        opcode: b0 & 0x0F,
        payload,
    }))
}

/// XORs `data` with the masking key (masking and unmasking are the same).
pub fn unmask(data: &mut [u8], mask: [u8; 4]) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= mask[i & 3];
    }
}

/// The length forms a frame can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthForm {
    /// The shortest that fits.
    Shortest,
    /// 7 bits in the second byte (lengths up to 125).
    Bits7,
    /// 126, then 16 bits.
    Bits16,
    /// 127, then 64 bits.
    Bits64,
}

/// One frame's bytes: `fin`, the reserved bits `rsv` (0–7), `opcode` (0–15),
/// masked with `mask` when given, its length in the form asked for (the
/// 7-bit form holds at most 125; asking for it with more is the caller's
/// error, checked before).
pub fn encode(
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    payload: &[u8],
    form: LengthForm,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(if fin { 0x80 } else { 0 } | (rsv & 0x7) << 4 | (opcode & 0x0F));
    let masked = if mask.is_some() { 0x80 } else { 0 };
    let n = payload.len();
    let form = match form {
        LengthForm::Shortest if n < 126 => LengthForm::Bits7,
        LengthForm::Shortest if n <= usize::from(u16::MAX) => LengthForm::Bits16,
        LengthForm::Shortest => LengthForm::Bits64,
        other => other,
    };
    match form {
        LengthForm::Bits7 => out.push(masked | n as u8),
        LengthForm::Bits16 => {
            out.push(masked | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => {
            out.push(masked | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(mask) => {
            out.extend_from_slice(&mask);
            let start = out.len();
            out.extend_from_slice(payload);
            unmask(&mut out[start..], mask);
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A close frame's payload: the code (if any) and the reason.
pub fn close_payload(code: Option<u16>, reason: &str) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(code) = code {
        out.extend_from_slice(&code.to_be_bytes());
        out.extend_from_slice(reason.as_bytes());
    }
    out
}

/// Whether a close code may be sent in a close frame (RFC 6455 §7.4).
pub fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(fin: bool, opcode: u8, payload: &[u8], form: LengthForm) -> BytesMut {
        BytesMut::from(&encode(fin, 0, opcode, Some([1, 2, 3, 4]), payload, form)[..])
    }

    #[test]
    fn every_length_form_reads_back() {
        for (n, form) in [
            (0, LengthForm::Shortest),
            (125, LengthForm::Shortest),
            (126, LengthForm::Shortest),
            (65535, LengthForm::Shortest),
            (65536, LengthForm::Shortest),
            (5, LengthForm::Bits16),
            (5, LengthForm::Bits64),
        ] {
            let payload: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let mut input = client(true, BINARY, &payload, form);
            let frame = read(&mut input, 1 << 20).unwrap().unwrap();
            assert_eq!(frame.payload, payload, "{n} {form:?}");
            assert!(frame.fin);
            assert!(input.is_empty());
        }
        assert_eq!(
            encode(true, 0, TEXT, None, &[0; 126], LengthForm::Shortest)[1],
            126
        );
        assert_eq!(
            encode(true, 0, TEXT, None, &[0; 65536], LengthForm::Shortest)[1],
            127
        );
    }

    #[test]
    fn a_partial_frame_waits_and_a_whole_one_is_taken() {
        let whole = client(false, TEXT, b"hello", LengthForm::Shortest);
        for cut in 0..whole.len() {
            let mut part = BytesMut::from(&whole[..cut]);
            assert_eq!(read(&mut part, 100), Ok(None), "{cut}");
            assert_eq!(part.len(), cut);
        }
        let mut two = whole.clone();
        two.extend_from_slice(&whole);
        assert!(!read(&mut two, 100).unwrap().unwrap().fin);
        assert_eq!(two.len(), whole.len());
    }

    #[test]
    fn unmasked_and_oversized_frames_are_refused_early() {
        let mut unmasked =
            BytesMut::from(&encode(true, 0, TEXT, None, b"x", LengthForm::Shortest)[..]);
        assert_eq!(read(&mut unmasked, 100), Err(FrameError::Unmasked));
        // Only the head of a huge frame has arrived: refused already.
        let head = client(true, BINARY, &[0; 70000], LengthForm::Shortest);
        let mut just_head = BytesMut::from(&head[..14]);
        assert_eq!(
            read(&mut just_head, 65536),
            Err(FrameError::TooLarge {
                length: 70000,
                limit: 65536
            })
        );
    }

    #[test]
    fn reserved_bits_and_opcodes_are_kept() {
        let mut input = BytesMut::from(
            &encode(true, 5, 0xB, Some([9, 9, 9, 9]), b"", LengthForm::Shortest)[..],
        );
        let frame = read(&mut input, 10).unwrap().unwrap();
        assert_eq!((frame.rsv, frame.opcode), (5, 0xB));
    }

    #[test]
    fn close_codes() {
        assert!(valid_close_code(1000) && valid_close_code(4999) && valid_close_code(1011));
        assert!(!valid_close_code(1005) && !valid_close_code(1006) && !valid_close_code(999));
        assert!(!valid_close_code(1016) && !valid_close_code(2999) && !valid_close_code(5000));
        assert_eq!(close_payload(Some(1000), "ok"), b"\x03\xe8ok");
        assert!(close_payload(None, "ignored").is_empty());
    }
}
