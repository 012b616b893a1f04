//! When to try again: `Retry-After` (seconds or an HTTP date) or exponential
//! backoff with jitter, as Graph's SDKs do but from a smaller base.

use std::time::{Duration, SystemTime};

use crate::random::random_u64;

/// The most retries a client may be set to.
pub const MAX_RETRIES_LIMIT: u32 = 10;
/// Retries by default, as Graph's SDKs.
pub const DEFAULT_MAX_RETRIES: u32 = 3;

const BACKOFF_BASE: Duration = Duration::from_millis(250);
const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// Reads `Retry-After`: delta-seconds or an HTTP date (a past date is zero).
/// Anything else (a sign, a fraction, text) is no `Retry-After` at all.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Any number of digits: one past u64 seconds is a pause past any
        // deadline, which ends the call at once with the answer in hand.
        return Some(value.parse().map_or(Duration::MAX, Duration::from_secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The pause before retry number `attempt` (1-based) when the server named none:
/// half to all of `base * 2^(attempt-1)`, at most the cap.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let full = exp.min(BACKOFF_CAP);
    let half = full / 2;
    // `half` is at most 15 s, so its milliseconds fit in u64 with room to spare.
    let half_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX - 1);
    let jitter_ms = random_u64() % (half_ms + 1);
    half + Duration::from_millis(jitter_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(parse_retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:40 GMT", now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("1.5", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("+1", now), None);
        assert_eq!(parse_retry_after("1e3", now), None);
        assert_eq!(
            parse_retry_after("9223372036854775807", now),
            Some(Duration::from_secs(i64::MAX as u64))
        );
        assert_eq!(
            parse_retry_after("18446744073709551616", now),
            Some(Duration::MAX)
        );
        assert_eq!(parse_retry_after(&"9".repeat(30), now), Some(Duration::MAX));
        assert_eq!(
            parse_retry_after(&format!("{}7", "0".repeat(29)), now),
            Some(Duration::from_secs(7))
        );
        let far = parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now).unwrap();
        assert!(far > Duration::from_secs(8000 * 365 * 86_400));
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        for attempt in 1..=12 {
            let full = BACKOFF_BASE
                .saturating_mul(1 << (attempt - 1))
                .min(BACKOFF_CAP);
            for _ in 0..50 {
                let d = backoff(attempt);
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
            }
        }
        assert!(backoff(100) <= BACKOFF_CAP);
    }
}
