//! `Cancel`: a trigger another thread pulls to end a call promptly, wherever the
//! call is: inside a request (the lane's future is raced against it), in a retry's
//! pause or between two polls (the sleep is a condition-variable wait it ends).
//! Nothing polls: a trigger wakes the waiting thread.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::task::Poll;
use std::time::Instant;

use tokio::sync::Notify;

/// A cancellation trigger, shared by reference between the thread that waits and
/// those that may stop it. Once triggered it stays triggered.
#[derive(Debug, Default)]
pub struct Cancel {
    triggered: AtomicBool,
    /// Guards the sleepers' check-then-wait against a trigger in between.
    lock: Mutex<()>,
    sleepers: Condvar,
    /// Wakes a request in flight on a lane.
    in_flight: Notify,
}

impl Cancel {
    /// A trigger not yet pulled.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Pulls the trigger: every call using it ends with [`ErrorKind::Cancelled`]
    /// (crate::ErrorKind) as soon as it notices, which is at once. Idempotent.
    pub fn trigger(&self) {
        {
            let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.triggered.store(true, Ordering::SeqCst);
        }
        self.sleepers.notify_all();
        self.in_flight.notify_waiters();
    }

    /// Whether [`Cancel::trigger`] was called.
    pub fn is_triggered(&self) -> bool {
        self.triggered.load(Ordering::SeqCst)
    }

    /// Sleeps until `until` or a trigger, whichever is first. Returns true when
    /// woken by the trigger (or already triggered).
    pub(crate) fn sleep_until(&self, until: Instant) -> bool {
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.is_triggered() {
                return true;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            guard = self
                .sleepers
                .wait_timeout(guard, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Runs `work` to its end, unless the trigger is pulled first: then `work` is
    /// dropped (a request in flight is abandoned with its connection) and `None`
    /// is returned.
    pub(crate) async fn race<F: Future>(&self, work: F) -> Option<F::Output> {
        let mut notified = pin!(self.in_flight.notified());
        // Registered before the flag is read, so a trigger in between still wakes us.
        notified.as_mut().enable();
        if self.is_triggered() {
            return None;
        }
        let mut work = pin!(work);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(out) = work.as_mut().poll(cx) {
                return Poll::Ready(Some(out));
            }
            match notified.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }
}

/// Sleeps until `until`, or until `cancel` (if any) is triggered. Returns true when
/// cancelled.
pub(crate) fn sleep_until(cancel: Option<&Cancel>, until: Instant) -> bool {
    match cancel {
        Some(cancel) => cancel.sleep_until(until),
        None => {
            std::thread::sleep(until.saturating_duration_since(Instant::now()));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_trigger_wakes_a_sleeper_at_once() {
        let cancel = Arc::new(Cancel::new());
        let other = Arc::clone(&cancel);
        let start = Instant::now();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            other.trigger();
        });
        assert!(cancel.sleep_until(Instant::now() + Duration::from_secs(30)));
        assert!(start.elapsed() < Duration::from_secs(5));
        t.join().unwrap();
        // Stays triggered: the next sleep returns at once.
        assert!(cancel.sleep_until(Instant::now() + Duration::from_secs(30)));
    }

    #[test]
    fn an_untriggered_sleep_lasts_its_time() {
        let cancel = Cancel::new();
        let start = Instant::now();
        assert!(!cancel.sleep_until(start + Duration::from_millis(30)));
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert!(!sleep_until(None, Instant::now()));
    }

    #[test]
    fn a_trigger_abandons_work_in_flight() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let cancel = Arc::new(Cancel::new());
        let other = Arc::clone(&cancel);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            other.trigger();
        });
        let start = Instant::now();
        let out = rt.block_on(async {
            cancel
                .race(tokio::time::sleep(Duration::from_secs(30)))
                .await
        });
        assert_eq!(out, None);
        assert!(start.elapsed() < Duration::from_secs(5));
        t.join().unwrap();
        // Already triggered: nothing runs.
        assert_eq!(rt.block_on(cancel.race(async { 1 })), None);
        let fresh = Cancel::new();
        assert_eq!(rt.block_on(fresh.race(async { 1 })), Some(1));
    }
}
