//! The rate limiter: at most `per_second` operation GETs per token in any
//! sliding window of one second, each request inside a `$batch` counted one by
//! one, as Graph counts them. Above it, 429 with `Retry-After`.
//!
//! The window slides: a GET at time t is let through when fewer than
//! `per_second` GETs of the same token were let through in (t − 1 s, t]. So a
//! client that starts more than `per_second` GETs within any second gets at
//! least one 429, whatever its timing: as strict as the promise of a client
//! that paces itself by a sliding window. Refused GETs do not count.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize};

/// The window.
const WINDOW: Duration = Duration::from_secs(1);
/// Tokens tracked before windows that emptied are dropped.
const PRUNE_AT: usize = 10_000;

/// What a 429 of the limiter covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitScope {
    /// Each request inside a `$batch` that does not fit gets its own 429;
    /// the others are answered.
    #[default]
    Inner,
    /// A `$batch` whose operation GETs do not all fit gets 429 as a whole
    /// (and none of them counts).
    Batch,
}

/// The rate limiter's settings (`--rate-limit`, `POST /_emulator/rate-limit`,
/// [`Emulator::set_rate_limit`](crate::Emulator::set_rate_limit)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Operation GETs let through per token in any sliding second; 0 turns
    /// the limiter off.
    pub per_second: u32,
    /// Per inner request (default) or per `$batch`.
    #[serde(default)]
    pub scope: RateLimitScope,
    /// The `Retry-After` of its 429s, in seconds (default 1); `None` (JSON
    /// `null`) sends none.
    #[serde(default = "default_retry_after", deserialize_with = "nullable")]
    pub retry_after_s: Option<u64>,
}

fn default_retry_after() -> Option<u64> {
    Some(1)
}

/// `null` is `None`; a number is `Some` (an absent field takes the default).
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Option::<u64>::deserialize(d)
}

impl Default for RateLimit {
    /// Off.
    fn default() -> Self {
        RateLimit::off()
    }
}

impl RateLimit {
    /// No limit.
    pub fn off() -> Self {
        RateLimit {
            per_second: 0,
            scope: RateLimitScope::Inner,
            retry_after_s: Some(1),
        }
    }

    /// At most `n` operation GETs per token per sliding second, 429s with
    /// `Retry-After: 1`, per inner request.
    pub fn per_second(n: u32) -> Self {
        RateLimit {
            per_second: n,
            ..RateLimit::off()
        }
    }

    /// Sets the scope.
    pub fn with_scope(mut self, scope: RateLimitScope) -> Self {
        self.scope = scope;
        self
    }

    /// Sets the `Retry-After` (`None`: none).
    pub fn with_retry_after_s(mut self, s: Option<u64>) -> Self {
        self.retry_after_s = s;
        self
    }
}

/// The GETs one token was let through during the last second: (when, how
/// many), oldest first, and their total.
#[derive(Default)]
struct Window {
    recent: VecDeque<(Instant, u32)>,
    total: u64,
}

impl Window {
    fn slide(&mut self, now: Instant) {
        while let Some(&(t, n)) = self.recent.front() {
            if now.saturating_duration_since(t) < WINDOW {
                break;
            }
            self.recent.pop_front();
            self.total -= u64::from(n);
        }
    }
}

struct Inner {
    settings: RateLimit,
    windows: HashMap<String, Window>,
}

/// The limiter.
pub(crate) struct Limiter {
    initial: RateLimit,
    inner: Mutex<Inner>,
}

impl Limiter {
    pub(crate) fn new(settings: RateLimit) -> Limiter {
        Limiter {
            initial: settings,
            inner: Mutex::new(Inner {
                settings,
                windows: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The settings in force.
    pub(crate) fn settings(&self) -> RateLimit {
        self.lock().settings
    }

    /// New settings; the windows start afresh.
    pub(crate) fn set(&self, settings: RateLimit) {
        let mut inner = self.lock();
        inner.settings = settings;
        inner.windows.clear();
    }

    /// Back to the settings given at start, windows emptied.
    pub(crate) fn reset(&self) {
        self.set(self.initial);
    }

    /// Lets `n` operation GETs of `token` through, all or none. `Ok(())`
    /// when they fit (or the limiter is off); `Err(retry_after_s)` when not.
    pub(crate) fn admit(&self, token: &str, n: u32) -> Result<(), Option<u64>> {
        let mut inner = self.lock();
        let limit = inner.settings.per_second;
        if limit == 0 || n == 0 {
            return Ok(());
        }
        let retry_after = inner.settings.retry_after_s;
        // Read under the lock, so that the windows see times in order.
        let now = Instant::now();
        if inner.windows.len() >= PRUNE_AT && !inner.windows.contains_key(token) {
            inner.windows.retain(|_, w| {
                w.slide(now);
                w.total > 0
            });
        }
        let w = inner.windows.entry(token.to_owned()).or_default();
        w.slide(now);
        if w.total + u64::from(n) > u64::from(limit) {
            return Err(retry_after);
        }
        w.total += u64::from(n);
        match w.recent.back_mut() {
            Some((t, count)) if *t == now => *count = count.saturating_add(n),
            _ => w.recent.push_back((now, n)),
        }
        Ok(())
    }

    /// The scope in force.
    pub(crate) fn scope(&self) -> RateLimitScope {
        self.lock().settings.scope
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_per_token() {
        let l = Limiter::new(RateLimit::per_second(3));
        assert!(l.admit("a", 1).is_ok());
        assert!(l.admit("a", 2).is_ok());
        assert_eq!(l.admit("a", 1), Err(Some(1)));
        assert!(l.admit("b", 3).is_ok(), "another token has its own window");
        std::thread::sleep(Duration::from_millis(1010));
        assert!(l.admit("a", 3).is_ok(), "the window slid");
        assert!(l.admit("a", 1).is_err());
        // All or none.
        l.set(RateLimit::per_second(5).with_retry_after_s(None));
        assert!(l.admit("a", 4).is_ok());
        assert_eq!(l.admit("a", 2), Err(None));
        assert!(l.admit("a", 1).is_ok());
        assert!(l.admit("a", 6).is_err());
        l.set(RateLimit::off());
        for _ in 0..1000 {
            assert!(l.admit("a", 20).is_ok());
        }
        l.reset();
        assert_eq!(l.settings(), RateLimit::per_second(3));
    }

    #[test]
    fn many_tokens_are_pruned() {
        let l = Limiter::new(RateLimit::per_second(1));
        for i in 0..PRUNE_AT + 10 {
            assert!(l.admit(&format!("t{i}"), 1).is_ok());
        }
        assert!(l.lock().windows.len() <= PRUNE_AT + 10);
    }

    #[test]
    fn json() {
        let r: RateLimit = serde_json::from_str(r#"{"per_second": 10}"#).unwrap();
        assert_eq!(r, RateLimit::per_second(10));
        let r: RateLimit =
            serde_json::from_str(r#"{"per_second": 10, "scope": "batch", "retry_after_s": null}"#)
                .unwrap();
        assert_eq!(
            r,
            RateLimit::per_second(10)
                .with_scope(RateLimitScope::Batch)
                .with_retry_after_s(None)
        );
        let r: RateLimit =
            serde_json::from_str(r#"{"per_second": 0, "retry_after_s": 7}"#).unwrap();
        assert_eq!(r.retry_after_s, Some(7));
        for bad in [
            r#"{}"#,
            r#"{"per_second": -1}"#,
            r#"{"per_second": 1, "scope": "tenant"}"#,
            r#"{"per_second": 1, "window_ms": 5}"#,
            r#"{"per_second": 1, "retry_after_s": -1}"#,
        ] {
            assert!(serde_json::from_str::<RateLimit>(bad).is_err(), "{bad}");
        }
        let back: RateLimit = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
