//! `Range: bytes=…` requests (RFC 9110 §14).

/// What a `Range` header asks of a representation of a given size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// Byte ranges `[start, end)`, sorted, with overlapping and adjacent ones merged.
    Satisfiable(Vec<(u64, u64)>),
    /// None of the ranges overlaps the representation (416).
    Unsatisfiable,
    /// Not a `bytes=` range set we can read (416, as the reference server does).
    Invalid,
}

/// Parses a `Range` header value against a representation of `size` bytes.
pub fn parse(value: &str, size: u64) -> RangeRequest {
    let value = value.trim();
    let Some(set) = value
        .get(..6)
        .filter(|unit| unit.eq_ignore_ascii_case("bytes="))
        .map(|_| &value[6..])
    else {
        return RangeRequest::Invalid;
    };
    let mut ranges = Vec::new();
    let mut any = false;
    for spec in set.split(',').map(str::trim) {
        if spec.is_empty() {
            continue;
        }
        any = true;
        let Some((first, last)) = spec.split_once('-') else {
            return RangeRequest::Invalid;
        };
        let (first, last) = (first.trim(), last.trim());
        let number = |s: &str| -> Option<u64> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        match (first.is_empty(), last.is_empty()) {
            (true, true) => return RangeRequest::Invalid,
            (true, false) => {
                // Suffix: the last N bytes.
                let Some(n) = number(last) else {
                    return RangeRequest::Invalid;
                };
                if n > 0 && size > 0 {
                    ranges.push((size.saturating_sub(n), size));
                }
            }
            (false, _) => {
                let Some(start) = number(first) else {
                    return RangeRequest::Invalid;
                };
                let end = if last.is_empty() {
                    u64::MAX
                } else {
                    match number(last) {
                        Some(end) if end >= start => end,
                        _ => return RangeRequest::Invalid,
                    }
                };
                if start < size {
                    ranges.push((start, end.saturating_add(1).min(size)));
                }
            }
        }
    }
    if !any {
        return RangeRequest::Invalid;
    }
    if ranges.is_empty() {
        return RangeRequest::Unsatisfiable;
    }
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    RangeRequest::Satisfiable(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeRequest::*;

    #[test]
    fn forms() {
        assert_eq!(parse("bytes=0-9", 100), Satisfiable(vec![(0, 10)]));
        assert_eq!(parse("bytes=90-", 100), Satisfiable(vec![(90, 100)]));
        assert_eq!(parse("bytes=-10", 100), Satisfiable(vec![(90, 100)]));
        assert_eq!(parse("bytes=-500", 100), Satisfiable(vec![(0, 100)]));
        assert_eq!(parse("bytes=50-500", 100), Satisfiable(vec![(50, 100)]));
        assert_eq!(parse("BYTES=1-1", 100), Satisfiable(vec![(1, 2)]));
    }

    #[test]
    fn coalesces() {
        assert_eq!(
            parse("bytes=20-29, 0-9,5-14,30-39, 50-", 60),
            Satisfiable(vec![(0, 15), (20, 40), (50, 60)])
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(parse("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse("bytes=200-300, 150-", 100), Unsatisfiable);
        for bad in [
            "bytes=5-1",
            "items=0-1",
            "bytes=",
            "bytes=a-b",
            "bytes=1",
            "bytes=--1",
            "0-1",
            "bytes=-",
        ] {
            assert_eq!(parse(bad, 100), Invalid, "{bad}");
        }
    }
}
