//! The `trickle` pipe's plan: `N` sends N bytes, `dN` waits N seconds
//! (fractions allowed), a final `rN` repeats the N steps before it until the
//! body is all sent. Consecutive steps of one kind are merged.
//!
//! Every number is bounded: a pause by `pipes.max_delay_secs`, the items by
//! `pipes.max_trickle_items`, and (once the body's length is known) all the
//! pauses of a response together by `pipes.max_total_delay_secs`.

use std::time::Duration;

use super::PipeLimits;
use crate::http::response::{split_plan, Pace};

/// Why a trickle specification was refused.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum TrickleError {
    /// An item that is not `N`, `dN` or `rN`.
    BadItem(String),
    /// A delay out of range (the limit, in seconds).
    Delay(f64, f64),
    /// More items than allowed (the limit).
    TooManyItems(usize),
    /// An odd repeat count.
    OddRepeat(usize),
    /// The repeated steps send nothing, so the body would never end.
    Endless,
}

impl std::fmt::Display for TrickleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrickleError::BadItem(item) => write!(f, "bad item {item:?}"),
            TrickleError::Delay(secs, limit) => {
                write!(f, "delay {secs} is not within 0..={limit} seconds")
            }
            TrickleError::TooManyItems(limit) => write!(f, "more than {limit} items"),
            TrickleError::OddRepeat(n) => write!(f, "repeat count {n} must be even"),
            TrickleError::Endless => {
                write!(f, "the repeated steps send no bytes, so would never end")
            }
        }
    }
}

impl std::error::Error for TrickleError {}

/// Parses a trickle specification such as `d1:100:d0.5:r2`.
pub fn parse(spec: &str, limits: &PipeLimits) -> Result<Vec<Pace>, TrickleError> {
    let items: Vec<&str> = spec.split(':').collect();
    if items.len() > limits.max_trickle_items {
        return Err(TrickleError::TooManyItems(limits.max_trickle_items));
    }
    let mut plan: Vec<Pace> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let bad = || TrickleError::BadItem(item.to_string());
        let pace = if let Some(secs) = item.strip_prefix('d') {
            let secs: f64 = secs.trim().parse().map_err(|_| bad())?;
            if !(0.0..=limits.max_delay_secs).contains(&secs) {
                return Err(TrickleError::Delay(secs, limits.max_delay_secs));
            }
            Pace::Delay(Duration::from_secs_f64(secs))
        } else if let Some(n) = item.strip_prefix('r') {
            let n: usize = n.trim().parse().map_err(|_| bad())?;
            if !n.is_multiple_of(2) {
                return Err(TrickleError::OddRepeat(n));
            }
            if i != items.len() - 1 {
                // Only a final repeat means anything.
                continue;
            }
            Pace::Repeat(n)
        } else {
            Pace::Bytes(item.trim().parse().map_err(|_| bad())?)
        };
        match (plan.last_mut(), pace) {
            (Some(Pace::Bytes(a)), Pace::Bytes(b)) => *a = a.saturating_add(b),
            (Some(Pace::Delay(a)), Pace::Delay(b)) => *a = a.saturating_add(b),
            (Some(Pace::Repeat(a)), Pace::Repeat(b)) => *a = a.saturating_add(b),
            (_, pace) => plan.push(pace),
        }
    }
    if let (_, Some(window)) = split_plan(&plan) {
        if !window.iter().any(|p| matches!(p, Pace::Bytes(b) if *b > 0)) {
            return Err(TrickleError::Endless);
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(spec: &str) -> Result<Vec<Pace>, TrickleError> {
        super::parse(spec, &PipeLimits::default())
    }

    fn d(ms: u64) -> Pace {
        Pace::Delay(Duration::from_millis(ms))
    }

    #[test]
    fn plans() {
        assert_eq!(
            parse("d1:100:d2").unwrap(),
            [d(1000), Pace::Bytes(100), d(2000)]
        );
        assert_eq!(parse("10:5:d0.5:d0.25").unwrap(), [Pace::Bytes(15), d(750)]);
        assert_eq!(
            parse("d0.1:1:r2").unwrap(),
            [d(100), Pace::Bytes(1), Pace::Repeat(2)]
        );
        assert_eq!(parse("r2:5").unwrap(), [Pace::Bytes(5)]);
    }

    #[test]
    fn errors() {
        for bad in [
            "", "x", "d", "dx", "d-1", "d1e9", "r3", "1:r", "d1:r2", "0:d1:r2", "1.5", "d61",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let many = vec!["1"; 257].join(":");
        assert_eq!(parse(&many), Err(TrickleError::TooManyItems(256)));
        // Numbers past 64 bits are refused; at 64 bits they add up without wrapping.
        assert!(parse("18446744073709551616").is_err());
        assert_eq!(
            parse("18446744073709551615:1").unwrap(),
            [Pace::Bytes(u64::MAX)]
        );
    }

    #[test]
    fn total_delay_counts_every_round() {
        use crate::http::response::total_delay;
        let plan = parse("d1:10:d0.5:r2").unwrap();
        // 1 s, 10 bytes and 0.5 s once, then 10 bytes and 0.5 s a round: 9 rounds.
        assert_eq!(total_delay(&plan, 100), Duration::from_secs(6));
        assert_eq!(total_delay(&plan, 0), Duration::from_millis(1500));
        let plan = parse("1:d60:r2").unwrap();
        let day = total_delay(&plan, 64 << 20);
        assert!(day > Duration::from_secs(1 << 30), "{day:?}");
        let plan = parse("d0:18446744073709551615:r2").unwrap();
        assert_eq!(total_delay(&plan, u64::MAX), Duration::ZERO);
    }
}
