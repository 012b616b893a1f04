//! Polling an operation until it ends: the pacing (first interval, doubling to
//! 10 s, `Retry-After` first), Graph's late visibility (404 in the first seconds),
//! the callback, and a deadline that is never slept past.

use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result, Trace};
use crate::model::Operation;

use super::clock::{deadline_after, ends_before};
use super::exchange::{Ctx, Fetched};
use crate::log::log;

/// The longest pause between two polls (unless `Retry-After` asks for more).
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(10);
/// How long a 404 is taken for "not visible yet" after a wait starts.
pub const NOT_VISIBLE_GRACE: Duration = Duration::from_secs(10);
/// The last poll starts this far before the deadline (or a tenth of the wait,
/// if less), so it has time to get an answer.
const LAST_POLL_MARGIN: Duration = Duration::from_secs(1);

/// Waits with `fetch(deadline)` as the poll; see `Client::wait`. `redact` takes
/// the token out of server text quoted in the wait's own messages. Pauses end
/// early when `ctx`'s cancel trigger is pulled.
pub(crate) fn wait(
    ctx: &Ctx<'_>,
    mut fetch: impl FnMut(Instant) -> Result<Fetched>,
    timeout: Duration,
    mut on_poll: impl FnMut(&Operation) -> bool,
    redact: impl Fn(&str) -> String,
) -> Result<Operation> {
    if timeout.is_zero() {
        return Err(Error::invalid("the wait timeout must be more than 0 ms"));
    }
    let start = Instant::now();
    let deadline = deadline_after(start, timeout);
    let margin = LAST_POLL_MARGIN.min(timeout / 10);
    let mut interval = ctx.settings.poll_interval;
    let log = &ctx.settings.log;
    // What the last answer said, for the result if the deadline cuts a GET short.
    let mut trace = Trace::default();
    let mut last_status: Option<String> = None;
    let mut not_found: Option<Error> = None;

    loop {
        // The outcome to report if no further poll fits before the deadline.
        let (retry_after, give_up) = match fetch(deadline) {
            Ok(Fetched {
                operation,
                trace: t,
            }) => {
                trace = t;
                not_found = None;
                last_status = operation.status_str().map(&redact);
                if !on_poll(&operation) {
                    return Err(Error::new(
                        ErrorKind::Cancelled,
                        "the wait was cancelled by its callback",
                    )
                    .with_trace(&trace));
                }
                if operation.is_terminal() {
                    return Ok(operation);
                }
                (
                    trace.retry_after,
                    timed_out(timeout, last_status.as_deref(), &trace),
                )
            }
            // Graph may not show a new operation at once: poll again for a while.
            Err(e) if is_not_found(&e) && start.elapsed() < NOT_VISIBLE_GRACE => {
                log!(
                    log,
                    Debug,
                    "wait: not visible yet (404, {} ms into the wait); polling again",
                    start.elapsed().as_millis()
                );
                trace = e.trace().clone();
                not_found = Some(e.clone());
                (trace.retry_after, e)
            }
            // The deadline cut a GET short: report the last answer actually had.
            Err(e) if *e.kind() == ErrorKind::Timeout && Instant::now() >= deadline => {
                return Err(match not_found {
                    Some(still_missing) => still_missing,
                    None => {
                        timed_out(timeout, last_status.as_deref(), &trace).with_trace(e.trace())
                    }
                });
            }
            Err(e) => return Err(e),
        };
        match next_pause(retry_after, &mut interval, deadline, margin) {
            Some(pause) => {
                log!(
                    log,
                    Debug,
                    "wait: next poll in {} ms{}",
                    pause.as_millis(),
                    if retry_after.is_some() {
                        " (Retry-After)"
                    } else {
                        ""
                    }
                );
                ctx.sleep_until(deadline_after(Instant::now(), pause))
                    .map_err(|e| e.with_trace(&trace))?;
            }
            None => {
                // Our own pacing leaves no room for another poll: the wait still
                // lasts until its deadline, as documented. (A Retry-After past the
                // deadline, or a 404, ends it at once: waiting would not change it.)
                if retry_after.is_none() && *give_up.kind() == ErrorKind::Timeout {
                    ctx.sleep_until(deadline)
                        .map_err(|e| e.with_trace(&trace))?;
                }
                return Err(give_up);
            }
        }
    }
}

fn is_not_found(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Http { status: 404, .. })
}

/// The pause before the next poll, or `None` when no poll fits before the deadline.
/// `Retry-After` wins; otherwise the interval, doubling up to the maximum, cut so the
/// last poll starts `margin` before the deadline.
fn next_pause(
    retry_after: Option<Duration>,
    interval: &mut Duration,
    deadline: Instant,
    margin: Duration,
) -> Option<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    match retry_after {
        // Any size: a pause that would end past the deadline ends the wait now.
        Some(after) => ends_before(after, deadline).then_some(after),
        None => {
            let pause = (*interval).min(left.checked_sub(margin)?);
            *interval = interval.saturating_mul(2).min(MAX_POLL_INTERVAL);
            (!left.is_zero() && left > margin).then_some(pause)
        }
    }
}

fn timed_out(timeout: Duration, last_status: Option<&str>, trace: &Trace) -> Error {
    let status = last_status.map_or(String::new(), |s| format!(" (last status: {s})"));
    Error::timeout(format!(
        "the operation did not finish within {} ms{status}",
        timeout.as_millis()
    ))
    .with_trace(trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_to_the_cap_and_respect_the_deadline() {
        let deadline = Instant::now() + Duration::from_secs(3600);
        let mut interval = Duration::from_secs(1);
        let seen: Vec<u64> = (0..6)
            .map(|_| {
                next_pause(None, &mut interval, deadline, LAST_POLL_MARGIN)
                    .unwrap()
                    .as_secs()
            })
            .collect();
        assert_eq!(seen, [1, 2, 4, 8, 10, 10]);
        let soon = Instant::now() + Duration::from_millis(1500);
        let mut interval = Duration::from_secs(10);
        let pause = next_pause(None, &mut interval, soon, LAST_POLL_MARGIN).unwrap();
        assert!(pause <= Duration::from_millis(500));
        let mut interval = Duration::from_secs(1);
        assert_eq!(
            next_pause(None, &mut interval, Instant::now(), LAST_POLL_MARGIN),
            None
        );
    }

    #[test]
    fn retry_after_wins_unless_it_passes_the_deadline() {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut interval = Duration::from_secs(1);
        let after = Some(Duration::from_secs(5));
        assert_eq!(
            next_pause(after, &mut interval, deadline, LAST_POLL_MARGIN),
            after
        );
        assert_eq!(interval, Duration::from_secs(1));
        let after = Some(Duration::from_secs(11));
        assert_eq!(
            next_pause(after, &mut interval, deadline, LAST_POLL_MARGIN),
            None
        );
        assert_eq!(
            next_pause(
                Some(Duration::MAX),
                &mut interval,
                deadline,
                LAST_POLL_MARGIN
            ),
            None
        );
    }

    #[test]
    fn huge_intervals_and_timeouts_do_not_overflow() {
        let deadline = deadline_after(Instant::now(), Duration::MAX);
        let mut interval = Duration::MAX;
        let pause = next_pause(None, &mut interval, deadline, LAST_POLL_MARGIN).unwrap();
        assert_eq!(interval, MAX_POLL_INTERVAL);
        assert!(pause > Duration::from_secs(86_400));
    }
}
