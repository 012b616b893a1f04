//! One run of a batch: take the soonest-due operations the rate allows, poll them
//! (a `$batch` of up to 20, or one GET), read each answer as a single GET's, and
//! report, reschedule or pause accordingly, until none is pending, the deadline,
//! a cancel, or a failure of the requests themselves.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use reqwest::StatusCode;

use super::queue::{Key, Taken};
use super::wire::{self, Inner, InnerAnswer, InnerRequest, MAX_REQUESTS};
use super::{Batch, Pending};
use crate::client::clock::{deadline_after, ends_before};
use crate::client::{
    backoff, claims_of, cut, get_with_retries, parse_retry_after, pause_reason, post_json,
    read_answer, retries_word, Answer, Ctx, MAX_POLL_INTERVAL, NOT_VISIBLE_GRACE, TEXT_LIMIT,
};
use crate::error::{Error, ErrorKind, Result, Trace};
use crate::log::log;
use crate::model::Operation;
use crate::random::new_guid;

/// What an answer means for its operation.
enum Next {
    /// It ended: report it.
    Report(Result<Operation>),
    /// Poll it again at this time.
    Again(Instant),
    /// A 429: poll it again after the pause every GET now takes.
    Throttled(Option<Duration>),
}

pub(super) struct Run<'b, 'c, 'x, F> {
    batch: &'b mut Batch<'c>,
    ctx: &'x Ctx<'x>,
    timeout: Duration,
    deadline: Instant,
    on_done: F,
    /// Requests (a `$batch`, or a GET in one-by-one mode) that failed as a whole
    /// in a row, against the client's retries.
    request_failures: u32,
    /// The last 429 answer read (a `$batch`'s, a GET's or an inner one): the run
    /// ends with it if its pause outlasts the deadline.
    last_429: Option<Error>,
    /// Set when a 429's pause would end past the deadline: waiting would only end
    /// in a timeout, so the run ends with this as soon as the answer is read.
    throttled_out: Option<Error>,
}

impl<'b, 'c, 'x, F> Run<'b, 'c, 'x, F>
where
    F: FnMut(u64, &Result<Operation>) -> bool,
{
    pub(super) fn new(
        batch: &'b mut Batch<'c>,
        ctx: &'x Ctx<'x>,
        timeout: Duration,
        on_done: F,
    ) -> Self {
        Run {
            batch,
            ctx,
            timeout,
            deadline: deadline_after(Instant::now(), timeout),
            on_done,
            request_failures: 0,
            last_429: None,
            throttled_out: None,
        }
    }

    pub(super) fn go(mut self) -> Result<()> {
        loop {
            self.ctx.check_cancel()?;
            let Some(due) = self.batch.queue.next_due() else {
                return Ok(());
            };
            let now = Instant::now();
            if now >= self.deadline {
                return Err(self.timed_out());
            }
            if due > now {
                self.sleep_until(due)?;
                continue;
            }
            // As many as the rate leaves room for now (a group never waits for
            // more room: that would leave the budget unused meanwhile).
            let room = self.batch.pacer.available(now);
            self.batch.publish_rate();
            if room == 0 {
                let slot = self.batch.pacer.next_slot(now, 1);
                log!(
                    self.ctx.settings.log,
                    Debug,
                    "batch: rate {} GETs/s; next GET in {} ms ({} pending)",
                    self.batch.pacer.rate(),
                    slot.saturating_duration_since(now).as_millis(),
                    self.batch.queue.len()
                );
                self.sleep_until(slot)?;
                continue;
            }
            let max = if self.batch.json_batching {
                MAX_REQUESTS.min(room)
            } else {
                1
            };
            let taken = self
                .batch
                .queue
                .take_due(now, max, |a, b| a.version == b.version);
            self.batch.pacer.record(now, taken.len());
            let polled = if taken.len() == 1 {
                self.poll_one(taken[0], now)
            } else {
                self.poll_batch(&taken, now)
            };
            // They count against the rate until their answer, not just from
            // their start: the server counts them when they arrive, which may be
            // any time up to then.
            self.batch.pacer.settle(taken.len(), Instant::now());
            polled?;
            if let Some(stop) = self.throttled_out.take() {
                let pending = self.batch.queue.len();
                return Err(stop.map_message(|m| {
                    format!("{m}; {pending} operation(s) still pending (run again to go on)")
                }));
            }
        }
    }

    fn timed_out(&self) -> Error {
        Error::timeout(format!(
            "{} operation(s) still pending after {} ms (run again to go on)",
            self.batch.queue.len(),
            self.timeout.as_millis()
        ))
    }

    /// Sleeps until `until` or the deadline, whichever is first (cancellable).
    fn sleep_until(&self, until: Instant) -> Result<()> {
        self.ctx.sleep_until(until.min(self.deadline))
    }

    /// Each request of a call ends by the run's deadline and the client timeout.
    fn call_deadline(&self, now: Instant) -> Instant {
        deadline_after(now, self.ctx.settings.timeout).min(self.deadline)
    }

    fn version(&self, key: Key) -> Option<&str> {
        let v = self.batch.queue.get(key).version;
        self.batch.versions[usize::from(v)].as_deref()
    }

    /// One operation, one GET (the first poll of a lone operation, or batching off).
    fn poll_one(&mut self, taken: Taken, now: Instant) -> Result<()> {
        let key = taken.key;
        let settings = self.ctx.settings;
        self.batch.queue.get_mut(key).first_poll.get_or_insert(now);
        let url = settings.base.url_in_version(
            self.version(key),
            &self.batch.queue.get(key).path,
            settings.select.as_deref(),
        );
        // No retries inside the call: a 429 is the whole batch's business (it
        // pauses every GET), a 503 the operation's, a failure of the request the run's.
        let answer = get_with_retries(self.ctx, &url, self.call_deadline(now), 0);
        let answered = Instant::now();
        match answer {
            Ok(fetched) => {
                self.request_failures = 0;
                self.batch.pacer.answered();
                let outcome = Ok(fetched.operation);
                let next = self.next_for(key, outcome, fetched.trace.retry_after, answered);
                self.apply(&[taken], key, next, answered)
            }
            Err(e) if is_request_failure(&e) => self.request_failed(&[taken], e),
            Err(e) => {
                self.request_failures = 0;
                let retry_after = e.trace().retry_after;
                let next = self.next_for(key, Err(e), retry_after, answered);
                self.apply(&[taken], key, next, answered)
            }
        }
    }

    /// Several operations of one version in one `$batch`.
    fn poll_batch(&mut self, taken: &[Taken], now: Instant) -> Result<()> {
        let settings = self.ctx.settings;
        let select = settings.select.as_deref();
        let urls: Vec<String> = taken
            .iter()
            .map(|t| {
                let path = &self.batch.queue.get(t.key).path;
                match select {
                    Some(fields) => format!("{path}?$select={fields}"),
                    None => path.to_string(),
                }
            })
            .collect();
        let request_ids: Vec<String> = taken.iter().map(|_| new_guid()).collect();
        let requests: Vec<InnerRequest<'_>> = (0..taken.len())
            .map(|i| InnerRequest {
                id: i as u32 + 1,
                url: &urls[i],
                client_request_id: &request_ids[i],
            })
            .collect();
        let body = wire::encode(&requests);
        let batch_url = settings.base.batch_url(self.version(taken[0].key));
        for t in taken {
            self.batch
                .queue
                .get_mut(t.key)
                .first_poll
                .get_or_insert(now);
        }
        let generation = self.ctx.auth.generation();
        let note = format!(" ({} requests)", taken.len());
        let answer = post_json(
            self.ctx,
            &batch_url,
            &body,
            self.call_deadline(now),
            0,
            &note,
        );
        let answered = Instant::now();
        let (answer, _) = match answer {
            Ok(answer) => answer,
            Err(e) if is_request_failure(&e) || is_batch_failure(&e) => {
                return self.request_failed(taken, e)
            }
            Err(e)
                if *e.kind() == ErrorKind::Parse
                    || matches!(e.kind(), ErrorKind::TooLarge { .. }) =>
            {
                // The answer to each GET is unreadable, as a single GET's would be.
                self.request_failures = 0;
                return self.report_each(taken, &e);
            }
            Err(e) => {
                self.batch.queue.restore(taken);
                return Err(e);
            }
        };
        self.request_failures = 0;
        let answers = match wire::decode(&answer) {
            Ok(answers) => answers,
            Err(why) => return self.report_each(taken, &Error::parse(why)),
        };
        let mut by_id: HashMap<String, Option<Inner>> = HashMap::with_capacity(answers.len());
        for answer in answers {
            match by_id.get_mut(&answer.id) {
                // Two answers for one request: neither can be trusted.
                Some(slot) => *slot = None,
                None => {
                    by_id.insert(answer.id.clone(), Some(answer));
                }
            }
        }
        // Whether any inner request was answered 429, and the longest Retry-After.
        let mut throttled = false;
        let mut longest_pause: Option<Duration> = None;
        for (i, t) in taken.iter().enumerate() {
            let id = (i + 1).to_string();
            let next = match by_id.remove(&id) {
                Some(Some(Inner {
                    answer: Ok(inner), ..
                })) => {
                    self.log_inner(&inner, &urls[i]);
                    self.read_inner(t.key, inner, &request_ids[i], generation, answered)
                }
                Some(Some(Inner {
                    answer: Err(why), ..
                })) => Next::Report(Err(Error::parse(why).with_trace(&Trace {
                    client_request_id: Some(request_ids[i].clone()),
                    ..Trace::default()
                }))),
                Some(None) => Next::Report(Err(Error::parse(format!(
                    "the $batch answer holds more than one response for request {id}"
                )))),
                None => Next::Report(Err(Error::parse(format!(
                    "the $batch answer holds no response for request {id}"
                )))),
            };
            if let Next::Throttled(after) = next {
                throttled = true;
                longest_pause = longest_pause.max(after);
            }
            if let Err(stop) = self.apply(taken, t.key, next, answered) {
                // on_done said stop: the operations not read yet stay pending.
                self.batch.queue.restore(&taken[i + 1..]);
                return Err(stop);
            }
        }
        for id in by_id.keys() {
            log!(
                self.ctx.settings.log,
                Debug,
                "batch: ignored a response for request {:?}, never sent",
                self.redact(cut(id, 64))
            );
        }
        if throttled {
            self.throttled(longest_pause);
        } else {
            self.batch.pacer.answered();
        }
        Ok(())
    }

    fn log_inner(&self, inner: &InnerAnswer, url: &str) {
        log!(
            self.ctx.settings.log,
            Debug,
            "batch: {} GET {url} -> {} (request-id {})",
            inner.id,
            inner.status,
            inner
                .header("request-id")
                .map(|id| self.redact(id))
                .as_deref()
                .unwrap_or("-")
        );
    }

    fn redact(&self, text: &str) -> String {
        match self.ctx.auth.current() {
            Some(token) => token.redact(text),
            None => text.to_owned(),
        }
    }

    /// An inner response, read as a single GET's answer.
    fn read_inner(
        &mut self,
        key: Key,
        inner: InnerAnswer,
        client_request_id: &str,
        generation: u64,
        answered: Instant,
    ) -> Next {
        let status = StatusCode::from_u16(inner.status).unwrap_or(StatusCode::BAD_GATEWAY);
        let retry_after = inner
            .header("retry-after")
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let mut trace = Trace {
            http_status: Some(inner.status),
            request_id: inner
                .header("request-id")
                .map(|id| self.redact(cut(id, TEXT_LIMIT))),
            client_request_id: Some(client_request_id.to_owned()),
            retry_after,
        };
        if status == StatusCode::UNAUTHORIZED {
            if let Some(next) = self.renew_for(key, &inner, generation) {
                return next;
            }
        }
        let token = self.ctx.auth.current();
        let content_type = inner.header("content-type").map(str::to_owned);
        let answer = Answer {
            status,
            content_type: content_type.as_deref(),
            body: inner.body,
        };
        let outcome = read_answer(answer, token.as_ref(), &mut trace);
        self.next_for(key, outcome, retry_after, answered)
    }

    /// An inner 401: the token renewed (once per operation) and the operation
    /// polled again at once; `None` when that cannot be (no provider, or done).
    fn renew_for(&mut self, key: Key, inner: &InnerAnswer, generation: u64) -> Option<Next> {
        if self.batch.queue.get(key).renewed {
            return None;
        }
        let claims = inner.header("www-authenticate").and_then(claims_of);
        let renewed = self.ctx.auth.after_rejection(
            generation,
            claims.as_deref(),
            self.deadline,
            &self.ctx.settings.log,
        )?;
        self.batch.queue.get_mut(key).renewed = true;
        Some(match renewed {
            Ok(_) => Next::Again(Instant::now()),
            Err(e) => Next::Report(Err(e)),
        })
    }

    /// What an operation's answer (`outcome`, had at `now`) means for it. The
    /// operations of one answer are paced from one time, so that they stay due
    /// together and go on in one `$batch`.
    fn next_for(
        &mut self,
        key: Key,
        outcome: Result<Operation>,
        retry_after: Option<Duration>,
        now: Instant,
    ) -> Next {
        let max_retries = self.ctx.settings.max_retries;
        let first_interval = self.ctx.settings.poll_interval;
        let p = self.batch.queue.get_mut(key);
        let error = match outcome {
            Ok(op) if op.is_terminal() => return Next::Report(Ok(op)),
            Ok(_) => {
                p.failures = 0;
                return Next::Again(pace(p, first_interval, retry_after, now));
            }
            Err(e) => e,
        };
        match error.kind() {
            ErrorKind::Http { status: 429, .. } => {
                self.last_429 = Some(error);
                Next::Throttled(retry_after)
            }
            ErrorKind::Http { status: 404, .. }
                if p.first_poll
                    .is_some_and(|t| now.duration_since(t) < NOT_VISIBLE_GRACE) =>
            {
                Next::Again(pace(p, first_interval, retry_after, now))
            }
            ErrorKind::Http {
                status: 503 | 504, ..
            } if p.failures < max_retries => {
                p.failures += 1;
                let pause = retry_after.unwrap_or_else(|| backoff(p.failures));
                Next::Again(deadline_after(now, pause))
            }
            _ => Next::Report(Err(error)),
        }
    }

    /// Acts on `next` for the operation `key` (one of `group`).
    fn apply(&mut self, group: &[Taken], key: Key, next: Next, now: Instant) -> Result<()> {
        match next {
            Next::Again(due) => self.batch.queue.schedule(key, due),
            Next::Throttled(after) => {
                self.batch.queue.schedule(key, now);
                // A lone GET pauses everything now; a $batch once, after its answers.
                if group.len() == 1 {
                    self.throttled(after);
                }
            }
            Next::Report(outcome) => self.report(key, outcome)?,
        }
        Ok(())
    }

    /// A 429: every GET pauses for its `Retry-After` (or a backoff) and the rate
    /// halves.
    /// A pause that ends past the run's deadline ends the run once the answer
    /// is read (API.md: at once, with the result of the last answer: THROTTLED).
    fn throttled(&mut self, retry_after: Option<Duration>) {
        let pause = self.batch.pacer.throttled(Instant::now(), retry_after);
        self.batch.publish_rate();
        let answer = self.last_429.take();
        if !ends_before(pause, self.deadline) && self.throttled_out.is_none() {
            let answer = answer.unwrap_or_else(|| {
                Error::new(
                    ErrorKind::Http {
                        status: 429,
                        graph_code: None,
                    },
                    "Graph answered 429 (throttled)",
                )
                .with_trace(&Trace {
                    http_status: Some(429),
                    retry_after,
                    ..Trace::default()
                })
            });
            let why = pause_reason(retry_after, pause);
            self.throttled_out = Some(answer.map_message(|m| {
                format!("{m} (the run stopped: {why} would end past its deadline)")
            }));
        }
        log!(
            self.ctx.settings.log,
            Warn,
            "batch: throttled (429); every GET pauses {} ms{}, rate now {} GETs/s",
            pause.as_millis(),
            if retry_after.is_some() {
                " (Retry-After)"
            } else {
                ""
            },
            self.batch.pacer.rate()
        );
    }

    /// Reports an operation's end to `on_done`; an `Err` when it says stop.
    fn report(&mut self, key: Key, outcome: Result<Operation>) -> Result<()> {
        let pending = self.batch.queue.remove(key);
        if let Err(e) = &outcome {
            log!(
                self.ctx.settings.log,
                Warn,
                "batch: operation {} ended with an error ({}): {e}",
                pending.tag,
                e.kind_name()
            );
        }
        if (self.on_done)(pending.tag, &outcome) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Cancelled,
                "the batch run was stopped by its on_done callback",
            ))
        }
    }

    /// Reports every operation of `group` with `error`, the end of each one's GET.
    fn report_each(&mut self, group: &[Taken], error: &Error) -> Result<()> {
        for (i, t) in group.iter().enumerate() {
            if let Err(stop) = self.report(t.key, Err(error.clone())) {
                self.batch.queue.restore(&group[i + 1..]);
                return Err(stop);
            }
        }
        Ok(())
    }

    /// The request carrying `group` failed as a whole (no usable answer): its
    /// operations stay pending, and it is tried again after a pause, or the run
    /// ends when the client's retries are spent (or time, or a cancel).
    fn request_failed(&mut self, group: &[Taken], error: Error) -> Result<()> {
        let retryable = matches!(error.kind(), ErrorKind::Transport | ErrorKind::Timeout)
            || is_batch_failure(&error);
        if !retryable
            || Instant::now() >= self.deadline
            || self.request_failures >= self.ctx.settings.max_retries
        {
            self.batch.queue.restore(group);
            return Err(match error.kind() {
                ErrorKind::Timeout if Instant::now() >= self.deadline => self.timed_out(),
                _ => error,
            });
        }
        self.request_failures += 1;
        let retry_after = error.trace().retry_after;
        if matches!(error.kind(), ErrorKind::Http { status: 429, .. }) {
            self.last_429 = Some(error);
            self.throttled(retry_after);
        } else {
            let pause = retry_after.unwrap_or_else(|| backoff(self.request_failures));
            // As a GET: a pause that would end past the deadline gives the last
            // answer now rather than a timeout later.
            if !ends_before(pause, self.deadline) {
                self.batch.queue.restore(group);
                let why = pause_reason(retry_after, pause);
                let done = self.request_failures - 1;
                return Err(error.map_message(|m| {
                    format!(
                        "{m} (after {done} {}: {why} would end past the run's deadline)",
                        retries_word(done)
                    )
                }));
            }
            log!(
                self.ctx.settings.log,
                Warn,
                "batch: retry {} of {} after {}; pausing {} ms",
                self.request_failures,
                self.ctx.settings.max_retries,
                error.message(),
                pause.as_millis()
            );
            self.batch.pacer.pause(Instant::now(), pause);
        }
        self.batch.queue.restore(group);
        Ok(())
    }
}

/// Whether an error means the request itself failed (no answer to read for its
/// operations): transport, timeout or cancel.
fn is_request_failure(error: &Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::Cancelled
    )
}

/// Whether an answer to a `$batch` as a whole is one to try again: a 429 or a 5xx.
fn is_batch_failure(error: &Error) -> bool {
    matches!(error.kind(), ErrorKind::Http { status, .. } if *status == 429 || *status >= 500)
}

/// The time of an operation's next poll after an answer that is not its end:
/// `Retry-After` wins; otherwise its interval, which then doubles up to 10 s.
fn pace(p: &mut Pending, first: Duration, retry_after: Option<Duration>, now: Instant) -> Instant {
    match retry_after {
        Some(after) => deadline_after(now, after),
        None => {
            let interval = p.interval.unwrap_or(first);
            p.interval = Some(interval.saturating_mul(2).min(MAX_POLL_INTERVAL));
            deadline_after(now, interval)
        }
    }
}
