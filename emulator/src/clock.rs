//! Wall-clock time in Unix milliseconds, the unit of every time the emulator
//! reports (token expiries, operation timelines).

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in milliseconds since the Unix epoch (0 before it; saturates far
/// after it).
pub(crate) fn unix_ms_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `now + ms`, saturating: a lifetime of `u64::MAX` ms never overflows.
pub(crate) fn unix_ms_after(now: i64, ms: u64) -> i64 {
    now.saturating_add(i64::try_from(ms).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_and_saturation() {
        let now = unix_ms_now();
        assert!(now > 1_600_000_000_000);
        assert_eq!(unix_ms_after(now, 5), now + 5);
        assert_eq!(unix_ms_after(now, u64::MAX), i64::MAX);
        assert_eq!(unix_ms_after(i64::MAX - 1, 10), i64::MAX);
    }
}
