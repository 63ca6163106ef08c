//! Decoding a `Transfer-Encoding: chunked` request body (RFC 9112 §7.1).
//!
//! The decoder is a state machine fed with whatever bytes have arrived; it
//! never needs the whole body at once and rejects anything malformed.

/// Longest chunk-size line (size, extensions) or trailer line accepted.
const MAX_LINE: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a chunk size.
    Size { digits: usize },
    /// After the size: extensions or whitespace until the line ends.
    SizeRest,
    /// Chunk data, this many bytes left.
    Data(u64),
    /// The CRLF after chunk data.
    DataEnd { seen_cr: bool },
    /// A trailer line (or the final empty line), this many bytes into it.
    Trailer { len: usize },
    /// Done.
    Done,
}

/// Why a chunked body was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkError(pub &'static str);

impl std::fmt::Display for ChunkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad chunked body: {}", self.0)
    }
}

impl std::error::Error for ChunkError {}

/// Incremental decoder for a chunked body.
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: State,
    size: u64,
    line: usize,
    total: u64,
    max_total: u64,
}

/// What one call to [`ChunkedDecoder::decode`] achieved.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// All of the input was used; more is needed.
    NeedMore,
    /// The body ended; this many bytes of the input belonged to it.
    Done(usize),
}

/// Whether the body grew past the allowed size.
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The body is malformed (400).
    Malformed(ChunkError),
    /// The decoded body is larger than allowed (413).
    TooLarge,
}

impl ChunkedDecoder {
    /// A decoder that refuses bodies larger than `max_total` decoded bytes.
    pub fn new(max_total: u64) -> Self {
        ChunkedDecoder {
            state: State::Size { digits: 0 },
            size: 0,
            line: 0,
            total: 0,
            max_total,
        }
    }

    /// Decodes `input`, appending body bytes to `out`.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, DecodeError> {
        let bad = |why| Err(DecodeError::Malformed(ChunkError(why)));
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Size { digits } => {
                    if let Some(d) = (b as char).to_digit(16) {
                        if digits >= 16 {
                            return bad("chunk size too long");
                        }
                        self.size = self.size * 16 + u64::from(d);
                        self.state = State::Size { digits: digits + 1 };
                        self.line += 1;
                    } else if digits == 0 {
                        return bad("chunk size missing");
                    } else if b == b';' || b == b' ' || b == b'\t' {
                        self.state = State::SizeRest;
                        self.line += 1;
                    } else if b == b'\r' || b == b'\n' {
                        self.state = State::SizeRest;
                        continue;
                    } else {
                        return bad("invalid character in chunk size");
                    }
                    i += 1;
                }
                State::SizeRest => {
                    self.line += 1;
                    if self.line > MAX_LINE {
                        return bad("chunk size line too long");
                    }
                    if b == b'\n' {
                        self.line = 0;
                        if self.size == 0 {
                            self.state = State::Trailer { len: 0 };
                        } else {
                            self.total = self.total.saturating_add(self.size);
                            if self.total > self.max_total {
                                return Err(DecodeError::TooLarge);
                            }
                            self.state = State::Data(self.size);
                        }
                        self.size = 0;
                    } else if b == b'\r' {
                        match input.get(i + 1) {
                            Some(b'\n') | None => {}
                            Some(_) => return bad("bare CR in chunk size line"),
                        }
                    } else if b < 0x20 && b != b'\t' {
                        return bad("control character in chunk extension");
                    }
                    i += 1;
                }
                State::Data(left) => {
                    let take = (left.min((input.len() - i) as u64)) as usize;
                    out.extend_from_slice(&input[i..i + take]);
                    i += take;
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataEnd { seen_cr: false }
                    } else {
                        State::Data(left)
                    };
                }
                State::DataEnd { seen_cr } => {
                    match (b, seen_cr) {
                        (b'\r', false) => self.state = State::DataEnd { seen_cr: true },
                        (b'\n', _) => self.state = State::Size { digits: 0 },
                        _ => return bad("chunk data not followed by CRLF"),
                    }
                    i += 1;
                }
                State::Trailer { len } => {
                    i += 1;
                    if b == b'\n' {
                        if len == 0 {
                            self.state = State::Done;
                            return Ok(Progress::Done(i));
                        }
                        self.state = State::Trailer { len: 0 };
                    } else if b == b'\r' && len == 0 {
                        // The CR of an empty line: stays at length zero.
                    } else {
                        if len + 1 > MAX_LINE {
                            return bad("trailer line too long");
                        }
                        self.state = State::Trailer { len: len + 1 };
                    }
                }
                State::Done => return Ok(Progress::Done(i)),
            }
        }
        Ok(if self.state == State::Done {
            Progress::Done(i)
        } else {
            Progress::NeedMore
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8], split: usize) -> Result<(Vec<u8>, usize), DecodeError> {
        let mut d = ChunkedDecoder::new(1 << 20);
        let mut out = Vec::new();
        let mut used = 0;
        for piece in input.chunks(split.max(1)) {
            match d.decode(piece, &mut out)? {
                Progress::Done(n) => return Ok((out, used + n)),
                Progress::NeedMore => used += piece.len(),
            }
        }
        Err(DecodeError::Malformed(ChunkError("ended early")))
    }

    #[test]
    fn decodes_in_any_split() {
        let body = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        for split in 1..body.len() {
            let (out, used) = decode_all(body, split).unwrap();
            assert_eq!(out, b"hello, world", "split {split}");
            assert_eq!(used, body.len() - 4, "split {split}");
        }
    }

    #[test]
    fn accepts_bare_lf_and_uppercase_hex() {
        let (out, _) = decode_all(b"A\n0123456789\n0\n\n", 64).unwrap();
        assert_eq!(out, b"0123456789");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            &b"x\r\n"[..],
            b"\r\n",
            b"-1\r\n",
            b"5\r\nhelloXX",
            b"11111111111111111\r\n",
            b"5 x\x01\r\n",
        ] {
            assert!(
                matches!(decode_all(bad, 64), Err(DecodeError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn enforces_the_size_limit() {
        let mut d = ChunkedDecoder::new(4);
        let mut out = Vec::new();
        assert_eq!(
            d.decode(b"5\r\nhello\r\n", &mut out),
            Err(DecodeError::TooLarge)
        );
    }
}
