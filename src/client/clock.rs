//! Deadlines without overflow. Durations reach here from callers (any
//! `Duration` through the Rust API) and from servers (`Retry-After` of any size):
//! `Instant + Duration` panics past the clock's range, so every deadline and every
//! "would this pause end in time?" goes through these two functions.

use std::time::{Duration, Instant};

/// `start + after`, or the latest instant the clock can represent on the way
/// there: a deadline too far to represent is as good as none.
pub(crate) fn deadline_after(start: Instant, after: Duration) -> Instant {
    let mut step = after;
    loop {
        if let Some(deadline) = start.checked_add(step) {
            return deadline;
        }
        // Halving reaches zero, and `start + 0` always exists.
        step /= 2;
    }
}

/// Whether a pause of `pause` starting now ends strictly before `deadline`.
pub(crate) fn ends_before(pause: Duration, deadline: Instant) -> bool {
    pause < deadline.saturating_duration_since(Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_durations_do_not_overflow() {
        let now = Instant::now();
        for d in [
            Duration::MAX,
            Duration::from_secs(u64::MAX / 2),
            Duration::from_secs(i64::MAX as u64),
            Duration::new(u64::MAX, 999_999_999),
        ] {
            let deadline = deadline_after(now, d);
            assert!(deadline > now + Duration::from_secs(86_400 * 365 * 100));
            assert!(!ends_before(
                d,
                deadline_after(now, Duration::from_secs(30))
            ));
        }
        assert_eq!(
            deadline_after(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
    }

    #[test]
    fn pauses_fit_or_not() {
        let deadline = Instant::now() + Duration::from_secs(10);
        assert!(ends_before(Duration::from_secs(1), deadline));
        assert!(!ends_before(Duration::from_secs(11), deadline));
        assert!(!ends_before(Duration::ZERO, Instant::now()));
    }
}
