//! The `trickle` pipe's plan: `N` sends N bytes, `dN` waits N seconds
//! (fractions allowed), a final `rN` repeats the N steps before it until the
//! body is all sent. Consecutive steps of one kind are merged.

use std::time::Duration;

use crate::http::Pace;

/// The longest single pause accepted.
const MAX_DELAY_SECS: f64 = 3600.0;

/// Why a trickle specification was refused.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum TrickleError {
    /// An item that is not `N`, `dN` or `rN`.
    BadItem(String),
    /// A delay out of range.
    Delay(f64),
    /// An odd repeat count.
    OddRepeat(usize),
    /// The repeated steps send nothing, so the body would never end.
    Endless,
}

impl std::fmt::Display for TrickleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrickleError::BadItem(item) => write!(f, "bad item {item:?}"),
            TrickleError::Delay(secs) => {
                write!(f, "delay {secs} is not within 0..={MAX_DELAY_SECS} seconds")
            }
            TrickleError::OddRepeat(n) => write!(f, "repeat count {n} must be even"),
            TrickleError::Endless => {
                write!(f, "the repeated steps send no bytes, so would never end")
            }
        }
    }
}

impl std::error::Error for TrickleError {}

/// Parses a trickle specification such as `d1:100:d0.5:r2`.
pub fn parse(spec: &str) -> Result<Vec<Pace>, TrickleError> {
    let items: Vec<&str> = spec.split(':').collect();
    let mut plan: Vec<Pace> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let bad = || TrickleError::BadItem(item.to_string());
        let pace = if let Some(secs) = item.strip_prefix('d') {
            let secs: f64 = secs.trim().parse().map_err(|_| bad())?;
            if !(0.0..=MAX_DELAY_SECS).contains(&secs) {
                return Err(TrickleError::Delay(secs));
            }
            Pace::Delay(Duration::from_secs_f64(secs))
        } else if let Some(n) = item.strip_prefix('r') {
            let n: usize = n.trim().parse().map_err(|_| bad())?;
            if n % 2 != 0 {
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
            (Some(Pace::Bytes(a)), Pace::Bytes(b)) => *a += b,
            (Some(Pace::Delay(a)), Pace::Delay(b)) => *a += b,
            (Some(Pace::Repeat(a)), Pace::Repeat(b)) => *a += b,
            (_, pace) => plan.push(pace),
        }
    }
    if let Some((Pace::Repeat(n), rest)) = plan.split_last() {
        let window = &rest[rest.len() - (*n).min(rest.len())..];
        if !window.iter().any(|p| matches!(p, Pace::Bytes(b) if *b > 0)) {
            return Err(TrickleError::Endless);
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "", "x", "d", "dx", "d-1", "d1e9", "r3", "1:r", "d1:r2", "0:d1:r2", "1.5",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
