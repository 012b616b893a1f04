//! `busiest_second`: the most operation GETs (single ones and each request
//! inside a `$batch`) received in any sliding window of one second, whatever
//! their token and answer, so that a test can check a client's pacing.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Inner {
    /// (when, how many) received in the last second, oldest first.
    recent: VecDeque<(Instant, u64)>,
    in_window: u64,
    busiest: u64,
}

/// The meter.
#[derive(Default)]
pub(crate) struct GetMeter {
    inner: Mutex<Inner>,
}

impl GetMeter {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes `n` operation GETs received now.
    pub(crate) fn note(&self, n: u64) {
        if n == 0 {
            return;
        }
        let mut m = self.lock();
        // Read under the lock, so that `recent` stays in time order.
        let now = Instant::now();
        while let Some(&(t, k)) = m.recent.front() {
            if now.saturating_duration_since(t) < WINDOW {
                break;
            }
            m.recent.pop_front();
            m.in_window -= k;
        }
        m.recent.push_back((now, n));
        m.in_window += n;
        m.busiest = m.busiest.max(m.in_window);
    }

    /// The most seen in one sliding second.
    pub(crate) fn busiest(&self) -> u64 {
        self.lock().busiest
    }

    pub(crate) fn reset(&self) {
        *self.lock() = Inner::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_most_in_one_second() {
        let m = GetMeter::default();
        m.note(3);
        m.note(0);
        m.note(20);
        assert_eq!(m.busiest(), 23);
        std::thread::sleep(Duration::from_millis(1010));
        m.note(5);
        assert_eq!(m.busiest(), 23, "the old second is kept");
        for _ in 0..30 {
            m.note(1);
        }
        assert_eq!(m.busiest(), 35);
        m.reset();
        assert_eq!(m.busiest(), 0);
    }
}
