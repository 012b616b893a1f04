//! The rate budget of a batch: at most N operation GETs started in any sliding
//! window of one second (each request inside a `$batch` counted on its own), and a
//! rate that halves on a 429 and climbs back by steps while none comes (AIMD).
//! A GET counts from its start until a second after its answer (see
//! [`Pacer::settle`]), so the server, counting arrivals, sees the budget kept too.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::client::backoff;
use crate::client::clock::deadline_after;

/// The window the budget is counted over: a second, and a little more for the
/// server's clock, which stamps an arrival a moment apart from ours.
const WINDOW: Duration = Duration::from_millis(1_010);

/// How far a rate climbs per second without a 429, as a share of the ceiling.
const CLIMB_SHARE: f64 = 0.02;

pub(crate) struct Pacer {
    /// The configured most GETs per second.
    ceiling: u32,
    /// The rate allowed now, 1 to `ceiling`.
    rate: f64,
    /// Start times of the GETs still inside the window, oldest first.
    sent: VecDeque<Instant>,
    /// No GET starts before this (a 429's pause).
    paused_until: Option<Instant>,
    /// When the rate last changed (or a 429 came), for the additive climb.
    steady_since: Instant,
    /// 429s without `Retry-After` in a row, for their exponential backoff.
    bare_throttles: u32,
}

impl Pacer {
    pub(crate) fn new(ceiling: u32, now: Instant) -> Pacer {
        let ceiling = ceiling.max(1);
        Pacer {
            ceiling,
            rate: f64::from(ceiling),
            sent: VecDeque::with_capacity(ceiling as usize),
            paused_until: None,
            steady_since: now,
            bare_throttles: 0,
        }
    }

    /// A new ceiling, which is also the rate from now on (the caller's budget,
    /// until a 429 says otherwise).
    pub(crate) fn set_ceiling(&mut self, ceiling: u32) {
        self.ceiling = ceiling.max(1);
        self.rate = f64::from(self.ceiling);
    }

    /// The GETs allowed per second now.
    pub(crate) fn rate(&self) -> u32 {
        (self.rate as u32).clamp(1, self.ceiling)
    }

    /// Drops the starts that left the window, and climbs the rate for each whole
    /// second without a 429.
    fn advance(&mut self, now: Instant) {
        while self
            .sent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            self.sent.pop_front();
        }
        let steady = now.saturating_duration_since(self.steady_since);
        if steady >= Duration::from_secs(1) {
            let secs = steady.as_secs();
            let step = (f64::from(self.ceiling) * CLIMB_SHARE).max(1.0);
            self.rate = (self.rate + step * secs as f64).min(f64::from(self.ceiling));
            self.steady_since += Duration::from_secs(secs);
        }
    }

    /// How many GETs may start at `now` (0 while a 429's pause lasts).
    pub(crate) fn available(&mut self, now: Instant) -> usize {
        self.advance(now);
        if self.paused_until.is_some_and(|until| now < until) {
            return 0;
        }
        (self.rate() as usize).saturating_sub(self.sent.len())
    }

    /// The earliest time `want` GETs (at most the rate) may start together (`now`
    /// when they may start at once).
    pub(crate) fn next_slot(&mut self, now: Instant, want: usize) -> Instant {
        self.advance(now);
        let limit = self.rate() as usize;
        let want = want.clamp(1, limit);
        let window_free = if self.sent.len() + want <= limit {
            now
        } else {
            // Enough of the oldest starts must leave for `want` more to fit.
            self.sent[self.sent.len() + want - limit - 1] + WINDOW
        };
        match self.paused_until {
            Some(until) if until > window_free => until,
            _ => window_free,
        }
    }

    /// Records `count` GETs starting at `now`.
    pub(crate) fn record(&mut self, now: Instant, count: usize) {
        self.sent.extend(std::iter::repeat_n(now, count));
    }

    /// The `count` GETs recorded last were answered at `now`: they count in the
    /// window from then on. A GET reaches the server, which counts it, at some
    /// time between its start and its answer; counting it from its answer keeps
    /// the server's every second within the budget however long the trip took
    /// (and the starts too, which come earlier).
    pub(crate) fn settle(&mut self, count: usize, now: Instant) {
        let len = self.sent.len();
        for t in self.sent.range_mut(len.saturating_sub(count)..) {
            *t = (*t).max(now);
        }
    }

    /// A 429 came (for a `$batch` or requests in it): every GET pauses for its
    /// `Retry-After` (or an exponential backoff when it named none) and the rate
    /// halves. Returns the pause.
    pub(crate) fn throttled(&mut self, now: Instant, retry_after: Option<Duration>) -> Duration {
        let pause = match retry_after {
            Some(after) => {
                self.bare_throttles = 0;
                after
            }
            None => {
                self.bare_throttles = self.bare_throttles.saturating_add(1);
                backoff(self.bare_throttles)
            }
        };
        let until = now
            .checked_add(pause)
            .unwrap_or(now + Duration::from_secs(86_400));
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
        self.rate = (self.rate / 2.0).max(1.0);
        self.steady_since = now;
        pause
    }

    /// Every GET pauses for `pause` (a failed request's backoff); the rate stays.
    pub(crate) fn pause(&mut self, now: Instant, pause: Duration) {
        let until = deadline_after(now, pause);
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
    }

    /// An answer without a 429 came: the backoff of bare 429s starts over.
    pub(crate) fn answered(&mut self) {
        self.bare_throttles = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts as many GETs as the pacer allows, as early as it allows, for `span`,
    /// and returns their start times.
    fn drive(pacer: &mut Pacer, start: Instant, span: Duration, batch: usize) -> Vec<Instant> {
        let mut now = start;
        let mut starts = Vec::new();
        while now < start + span {
            now = pacer.next_slot(now, batch).max(now);
            let n = pacer.available(now).min(batch);
            assert!(n > 0, "next_slot promised a slot");
            pacer.record(now, n);
            starts.extend(std::iter::repeat_n(now, n));
        }
        starts
    }

    fn busiest_second(starts: &[Instant]) -> usize {
        starts
            .iter()
            .map(|&t| {
                starts
                    .iter()
                    .filter(|&&u| u >= t && u < t + Duration::from_secs(1))
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn never_more_than_the_ceiling_in_any_second() {
        for (ceiling, batch) in [(10, 1), (200, 20), (7, 20), (1, 1), (1000, 20)] {
            let start = Instant::now();
            let mut pacer = Pacer::new(ceiling, start);
            let starts = drive(&mut pacer, start, Duration::from_secs(5), batch);
            let busiest = busiest_second(&starts);
            assert!(busiest <= ceiling as usize, "{ceiling}/{batch}: {busiest}");
            // And it is not needlessly slow: close to the ceiling over 5 s.
            let per_second = starts.len() as f64 / 5.0;
            assert!(
                per_second >= f64::from(ceiling) * 0.9,
                "{ceiling}/{batch}: {per_second}"
            );
        }
    }

    #[test]
    fn a_429_pauses_and_halves_then_the_rate_climbs_back() {
        let start = Instant::now();
        let mut pacer = Pacer::new(100, start);
        assert_eq!(pacer.available(start), 100);
        let pause = pacer.throttled(start, Some(Duration::from_secs(2)));
        assert_eq!(pause, Duration::from_secs(2));
        assert_eq!(pacer.rate(), 50);
        assert_eq!(pacer.available(start + Duration::from_secs(1)), 0);
        assert_eq!(pacer.next_slot(start, 1), start + Duration::from_secs(2));
        // +2 per second (2 % of 100) while no 429 comes, never above the ceiling.
        assert_eq!(pacer.available(start + Duration::from_secs(2)), 54);
        pacer.available(start + Duration::from_secs(100));
        assert_eq!(pacer.rate(), 100);
        // Twice in a row halves twice; never below 1.
        for _ in 0..20 {
            pacer.throttled(start, Some(Duration::ZERO));
        }
        assert_eq!(pacer.rate(), 1);
    }

    #[test]
    fn bare_429s_back_off_exponentially_and_absurd_pauses_do_not_overflow() {
        let start = Instant::now();
        let mut pacer = Pacer::new(10, start);
        let first = pacer.throttled(start, None);
        let second = pacer.throttled(start, None);
        assert!(first <= Duration::from_millis(250));
        assert!(second >= Duration::from_millis(250) && second <= Duration::from_millis(500));
        pacer.answered();
        assert!(pacer.throttled(start, None) <= Duration::from_millis(250));
        pacer.throttled(start, Some(Duration::MAX));
        assert!(pacer.next_slot(start, 1) > start + Duration::from_secs(3600));
    }

    #[test]
    fn a_get_counts_until_a_window_after_its_answer() {
        let start = Instant::now();
        let mut pacer = Pacer::new(20, start);
        pacer.record(start, 20);
        // A slow $batch: answered 300 ms after it started.
        let answered = start + Duration::from_millis(300);
        pacer.settle(20, answered);
        assert_eq!(pacer.available(start + WINDOW), 0);
        assert_eq!(pacer.next_slot(start + WINDOW, 1), answered + WINDOW);
        assert_eq!(pacer.available(answered + WINDOW), 20);
        // Only the last ones recorded move, never earlier.
        let later = answered + WINDOW;
        pacer.record(later, 5);
        pacer.settle(3, later - Duration::from_millis(1));
        assert_eq!(pacer.next_slot(later, 16), later + WINDOW);
    }

    #[test]
    fn a_lower_ceiling_applies_at_once() {
        let start = Instant::now();
        let mut pacer = Pacer::new(1000, start);
        pacer.set_ceiling(5);
        assert_eq!(pacer.available(start), 5);
        pacer.record(start, 5);
        assert_eq!(pacer.available(start), 0);
        assert_eq!(pacer.next_slot(start, 1), start + WINDOW);
        // A group never waits for more room than the rate can give.
        assert_eq!(pacer.next_slot(start, 20), start + WINDOW);
    }
}
