//! One library call's request: the bearer (renewed through the provider before it
//! expires, and once after a 401), redirects (at most 5, never leaking the token),
//! retries of 429/503/504 and early resets within the call's deadline, a cancel
//! trigger that ends it at once, a log line per HTTP exchange, and the turning of
//! the final answer into an `Operation` or an `Error`.
//!
//! Text a server chose (Graph's code and message, request ids, an echoed header,
//! JSON quoted by a parse error, a host named by a redirect) has the token taken
//! out where it enters a message; the library's own words are never touched, so
//! a token that is a common letter does not scramble them.

use std::time::{Duration, Instant, SystemTime};

use reqwest::{Method, StatusCode, Url};

use super::auth::{Auth, Bearer};
use super::challenge::claims_of;
use super::clock::{deadline_after, ends_before};
use super::graph_error::GraphError;
use super::retry::{backoff, parse_retry_after};
use super::settings::{Settings, Token};
use crate::cancel::{self, Cancel};
use crate::error::{Error, ErrorKind, Result, Trace};
use crate::http::{host_of, names, Failure, Http, Reply, Request};
use crate::log::log;
use crate::model::Operation;
use crate::random::new_guid;

/// Redirects followed at most, as Graph's SDKs.
const MAX_REDIRECTS: usize = 5;

/// What a call works with: the client's settings and token, and the trigger that
/// may cancel it.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub settings: &'a Settings,
    pub auth: &'a Auth,
    pub cancel: Option<&'a Cancel>,
}

impl Ctx<'_> {
    /// Sleeps until `until`, unless the cancel trigger is pulled first.
    pub(crate) fn sleep_until(&self, until: Instant) -> Result<()> {
        if cancel::sleep_until(self.cancel, until) {
            return Err(Error::cancelled());
        }
        Ok(())
    }

    /// An error if the cancel trigger was pulled: then nothing more is sent.
    pub(crate) fn check_cancel(&self) -> Result<()> {
        match self.cancel {
            Some(c) if c.is_triggered() => Err(Error::cancelled()),
            _ => Ok(()),
        }
    }
}

/// An operation and what its response said besides (status, ids, `Retry-After`).
pub(crate) struct Fetched {
    pub operation: Operation,
    pub trace: Trace,
}

/// GETs the operation at `url`, retrying as the settings say, finishing by
/// `deadline`.
pub(crate) fn get_operation(ctx: &Ctx<'_>, url: &Url, deadline: Instant) -> Result<Fetched> {
    get_with_retries(ctx, url, deadline, ctx.settings.max_retries)
}

/// GETs the operation at `url` with at most `retries` retries.
pub(crate) fn get_with_retries(
    ctx: &Ctx<'_>,
    url: &Url,
    deadline: Instant,
    retries: u32,
) -> Result<Fetched> {
    let mut call = Call::start(ctx, deadline, retries)?;
    let operation = call.run(Method::GET, url, None, |call, reply| {
        call.read_operation(reply)
    })?;
    Ok(Fetched {
        operation,
        trace: call.trace,
    })
}

/// POSTs a JSON `body` to `url` (a `$batch`) with at most `retries` retries (as a
/// GET would be retried); the body of the 2xx answer, with what the response said
/// besides. `note` is added to the request's log line (e.g. its inner count).
pub(crate) fn post_json(
    ctx: &Ctx<'_>,
    url: &Url,
    body: &[u8],
    deadline: Instant,
    retries: u32,
    note: &str,
) -> Result<(Vec<u8>, Trace)> {
    let mut call = Call::start(ctx, deadline, retries)?;
    call.note = note;
    let answer = call.run(Method::POST, url, Some(body), |call, reply| {
        let status = reply.status;
        let body = reply.body.map_err(|e| e.with_trace(&call.trace))?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(call.http_error(status, &body))
        }
    })?;
    Ok((answer, call.trace))
}

/// What a response's status, headers and body tell, for one operation GET: the
/// operation, or the error a single GET would end with. Shared with the answers
/// inside a `$batch`, which are read exactly as a single GET's would be.
pub(crate) struct Answer<'a> {
    pub status: StatusCode,
    pub content_type: Option<&'a str>,
    pub body: Vec<u8>,
}

/// Reads `answer` as an operation; `trace` is what is known of the exchange, and
/// `token` (if any) is taken out of server text quoted in messages.
pub(crate) fn read_answer(
    answer: Answer<'_>,
    token: Option<&Token>,
    trace: &mut Trace,
) -> Result<Operation> {
    let redact = |text: &str| token.map_or_else(|| text.to_owned(), |t| t.redact(text));
    let Answer {
        status,
        content_type,
        body,
    } = answer;
    if status.is_success() {
        // The body decides, not its label: a JSON object under a careless
        // Content-Type is still read. When it is not one, a label other than
        // JSON (a sign-in page from a proxy, say) is the likelier story.
        return Operation::parse_vec(body).map_err(|e| {
            // A parse error quotes the body between quotes or backticks.
            let e = match token {
                Some(token) => e.map_message(|m| token.redact_quoted(m)),
                None => e,
            };
            let content_type = content_type.unwrap_or("");
            let e = if content_type.is_empty() || is_json(content_type) {
                e
            } else {
                let shown_type = redact(cut(content_type, TEXT_LIMIT));
                Error::parse(format!(
                    "HTTP {} answered with Content-Type {shown_type:?}, not JSON ({})",
                    status.as_u16(),
                    e.message()
                ))
            };
            e.with_trace(trace)
        });
    }
    Err(http_error(status, &body, token, trace))
}

/// The error a non-2xx answer ends a call with, from Graph's error body.
fn http_error(status: StatusCode, body: &[u8], token: Option<&Token>, trace: &mut Trace) -> Error {
    let redact = |text: &str| token.map_or_else(|| text.to_owned(), |t| t.redact(text));
    let graph = GraphError::from_body(body, redact);
    if trace.request_id.is_none() {
        trace.request_id = graph.request_id;
    }
    let mut message = format!("HTTP {}", status.as_u16());
    if let Some(reason) = status.canonical_reason() {
        message.push(' ');
        message.push_str(reason);
    }
    if let Some(code) = &graph.code {
        message.push_str(": ");
        message.push_str(code);
    }
    if let Some(text) = &graph.message {
        message.push_str(": ");
        message.push_str(text);
    }
    if status == StatusCode::FORBIDDEN {
        message.push_str(
            " (the token lacks a permission this needs: see \"Permissions\" in libteamsop's README)",
        );
    }
    let kind = ErrorKind::Http {
        status: status.as_u16(),
        graph_code: graph.code,
    };
    Error::new(kind, message).with_trace(trace)
}

struct Call<'a> {
    ctx: &'a Ctx<'a>,
    http: &'a Http,
    bearer: Bearer,
    trace: Trace,
    /// Whether a request of this call may have reached the server (its
    /// client-request-id then counts as sent, whatever came after).
    sent: bool,
    deadline: Instant,
    retries: u32,
    /// Added to each request's log line after the URL.
    note: &'a str,
}

impl<'a> Call<'a> {
    fn start(ctx: &'a Ctx<'a>, deadline: Instant, retries: u32) -> Result<Call<'a>> {
        ctx.check_cancel()?;
        let bearer = ctx.auth.bearer(deadline, &ctx.settings.log)?;
        Ok(Call {
            ctx,
            http: ctx.settings.http()?,
            bearer,
            trace: Trace {
                client_request_id: Some(new_guid()),
                ..Trace::default()
            },
            sent: false,
            deadline,
            retries,
            note: "",
        })
    }

    fn settings(&self) -> &'a Settings {
        self.ctx.settings
    }

    /// Sends until an answer `read` accepts, or an error that is not retried (or
    /// the retries are spent). A 401 renews the token through the provider, if
    /// there is one, and sends once more.
    fn run<T>(
        &mut self,
        method: Method,
        url: &Url,
        body: Option<&[u8]>,
        mut read: impl FnMut(&mut Self, Reply) -> Result<T>,
    ) -> Result<T> {
        let mut attempt = 0u32;
        let mut renewed = false;
        loop {
            let outcome = self.follow_redirects(&method, url, body, attempt);
            let (error, retry_after) = match outcome {
                Ok(reply) if reply.status == StatusCode::UNAUTHORIZED && !renewed => {
                    let claims = reply.header(&names::WWW_AUTHENTICATE).and_then(claims_of);
                    let log = &self.settings().log;
                    match self.ctx.auth.after_rejection(
                        self.bearer.generation,
                        claims.as_deref(),
                        self.deadline,
                        log,
                    ) {
                        Some(fresh) => {
                            renewed = true;
                            self.bearer = fresh.map_err(|e| e.with_trace(&self.trace))?;
                            self.ctx.check_cancel()?;
                            continue;
                        }
                        None => return read(self, reply),
                    }
                }
                Ok(reply) => match read(self, reply) {
                    Ok(answer) => return Ok(answer),
                    Err(e) if e.is_retryable_status() => {
                        let after = self.trace.retry_after;
                        (e, after)
                    }
                    Err(e) => return Err(e),
                },
                // A kept-alive connection the server dropped between two calls
                // looks like this: the first retry, on a new connection, is at once.
                Err(Failure::ResetBeforeResponse(e)) => {
                    let at_once = (attempt == 0).then_some(Duration::ZERO);
                    (e.with_trace(&self.trace), at_once)
                }
                Err(Failure::Final(e)) => return Err(e.with_trace(&self.trace)),
                // Nothing left this process: unless an earlier attempt went out,
                // there is no client-request-id to report (API.md: the one sent).
                Err(Failure::NotSent(e)) => {
                    if !self.sent {
                        self.trace.client_request_id = None;
                    }
                    return Err(e.with_trace(&self.trace));
                }
            };
            if attempt >= self.retries {
                return Err(gave_up(error, attempt, retry_after));
            }
            let pause = retry_after.unwrap_or_else(|| backoff(attempt + 1));
            // Waiting past the deadline would only end in a timeout: give the
            // caller the last answer now instead. (Any pause: no overflow.)
            if !ends_before(pause, self.deadline) {
                let done = match attempt {
                    0 => "not retried".to_owned(),
                    n => format!("after {n} {}", retries_word(n)),
                };
                let why = pause_reason(retry_after, pause);
                return Err(error.map_message(|m| {
                    format!("{m} ({done}: {why} would end past the call's deadline)")
                }));
            }
            attempt += 1;
            log!(
                self.settings().log,
                Warn,
                "retry {attempt} of {} for {method} {}: {}; pausing {} ms{}",
                self.retries,
                self.shown_url(url),
                error.message(),
                pause.as_millis(),
                if retry_after.is_some_and(|p| !p.is_zero()) {
                    " (Retry-After)"
                } else {
                    ""
                }
            );
            self.ctx
                .sleep_until(deadline_after(Instant::now(), pause))
                .map_err(|e| e.with_trace(&self.trace))?;
            self.bearer = self.ctx.auth.bearer(self.deadline, &self.settings().log)?;
        }
    }

    /// A URL of the caller's as log lines show it.
    fn shown_url(&self, url: &Url) -> String {
        url.as_str().to_owned()
    }

    /// One try: the request, and the redirects it leads to.
    fn follow_redirects(
        &mut self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        attempt: u32,
    ) -> std::result::Result<Reply, Failure> {
        let settings = self.settings();
        let base = &settings.base;
        // A clone (two reference counts), so `self` stays free to note the answer.
        let token = self.bearer.token.clone();
        let token = &token;
        let mut current = url.clone();
        let mut bearer = Some(token.header());
        // Built only after a redirect to another host: see `Request::shown_host`.
        let mut shown_host: Option<String> = None;
        for hop in 0..=MAX_REDIRECTS {
            let request = Request {
                method: method.clone(),
                url: &current,
                json_body: body,
                shown_host: shown_host.as_deref(),
                bearer,
                client_request_id: self.trace.client_request_id.as_deref().unwrap_or_default(),
                attempt,
                deadline: self.deadline,
                max_body_bytes: settings.max_body_bytes,
                cancel: self.ctx.cancel,
                log: &settings.log,
            };
            // The clock is read for the INFO line only: logging off costs nothing.
            let sent = settings
                .log
                .enabled(crate::log::LogLevel::Info)
                .then(Instant::now);
            let reply = self.http.send(&request);
            self.sent |= !matches!(reply, Err(Failure::NotSent(_)));
            if let Some(sent) = sent {
                let shown = match &shown_host {
                    None => current.as_str().to_owned(),
                    Some(_) => token.redact(current.as_str()),
                };
                self.log_exchange(method, &shown, &reply, sent);
            }
            let reply = reply?;
            self.note(&reply);
            let location = match reply.status {
                StatusCode::MOVED_PERMANENTLY
                | StatusCode::FOUND
                | StatusCode::SEE_OTHER
                | StatusCode::TEMPORARY_REDIRECT
                | StatusCode::PERMANENT_REDIRECT => reply.header(&names::LOCATION),
                _ => None,
            };
            let Some(location) = location else {
                return Ok(reply);
            };
            if hop == MAX_REDIRECTS {
                return Err(final_error(format!(
                    "more than {MAX_REDIRECTS} redirects from {}",
                    host_of(url)
                )));
            }
            let next = current
                .join(location)
                .map_err(|_| final_error("a redirect's Location is not a valid URL".into()))?;
            // Another host is the server's choice: its name is server text.
            let next_host = if base.same_origin(&next) {
                None
            } else {
                Some(token.redact(&host_of(&next)))
            };
            let to_host = next_host.clone().unwrap_or_else(|| host_of(&next));
            check_redirect(&current, &next, &to_host, token).map_err(final_error)?;
            if next_host.is_some() {
                bearer = None; // the token goes to the configured Graph host only
            }
            current = next;
            shown_host = next_host;
        }
        unreachable!("the loop returns by its last hop")
    }

    /// The INFO line of one HTTP exchange: what support asks for.
    fn log_exchange(
        &self,
        method: &Method,
        url: &str,
        reply: &std::result::Result<Reply, Failure>,
        sent: Instant,
    ) {
        let log = &self.settings().log;
        let ms = sent.elapsed().as_millis();
        let client_request_id = self.trace.client_request_id.as_deref().unwrap_or("-");
        match reply {
            Ok(reply) => {
                let request_id = reply
                    .header(&names::REQUEST_ID)
                    .map(|id| self.bearer.token.redact(cut(id, TEXT_LIMIT)));
                log!(
                    log,
                    Info,
                    "{method} {url}{} -> {} in {ms} ms (request-id {}, client-request-id {client_request_id})",
                    self.note,
                    reply.status.as_u16(),
                    request_id.as_deref().unwrap_or("-"),
                );
            }
            Err(Failure::ResetBeforeResponse(e) | Failure::NotSent(e) | Failure::Final(e)) => log!(
                log,
                Info,
                "{method} {url}{} -> no answer after {ms} ms: {} (client-request-id {client_request_id})",
                self.note,
                e.message()
            ),
        }
    }

    /// Records what the response says of itself for the caller's diagnostics.
    fn note(&mut self, reply: &Reply) {
        self.trace.http_status = Some(reply.status.as_u16());
        // An empty header is no id: the error body's `innerError` may have one.
        self.trace.request_id = reply
            .header(&names::REQUEST_ID)
            .filter(|id| !id.is_empty())
            .map(|id| self.bearer.token.redact(cut(id, TEXT_LIMIT)));
        self.trace.retry_after = reply
            .header(&names::RETRY_AFTER)
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
    }

    /// The final answer as an operation or an error.
    fn read_operation(&mut self, reply: Reply) -> Result<Operation> {
        let status = reply.status;
        let content_type = reply.header(&names::CONTENT_TYPE).map(str::to_owned);
        let body = reply.body.map_err(|e| e.with_trace(&self.trace))?;
        let answer = Answer {
            status,
            content_type: content_type.as_deref(),
            body,
        };
        read_answer(answer, Some(&self.bearer.token), &mut self.trace)
    }

    /// The error of a non-2xx answer that is not an operation GET's.
    fn http_error(&mut self, status: StatusCode, body: &[u8]) -> Error {
        http_error(status, body, Some(&self.bearer.token), &mut self.trace)
    }
}

/// `error`, the last answer after `retries` retries, saying so (with the last
/// `Retry-After`, when there was one), so a caller knows the library did wait.
fn gave_up(error: Error, retries: u32, retry_after: Option<Duration>) -> Error {
    if retries == 0 {
        return error;
    }
    error.map_message(|m| match retry_after {
        Some(after) if !after.is_zero() => format!(
            "{m} (after {retries} {}; the last Retry-After was {} s)",
            retries_word(retries),
            after.as_secs_f64()
        ),
        _ => format!("{m} (after {retries} {})", retries_word(retries)),
    })
}

/// What makes a retry's pause (its `Retry-After`, or a backoff), for messages.
pub(crate) fn pause_reason(retry_after: Option<Duration>, pause: Duration) -> String {
    match retry_after {
        Some(after) => format!("its Retry-After of {} s", after.as_secs_f64()),
        None => format!("a pause of {} ms", pause.as_millis()),
    }
}

pub(crate) fn retries_word(n: u32) -> &'static str {
    if n == 1 {
        "retry"
    } else {
        "retries"
    }
}

fn final_error(message: String) -> Failure {
    Failure::Final(Error::transport(message))
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.to_ascii_lowercase().ends_with("+json")
}

/// The longest header value quoted in a message or kept as a request id.
pub(crate) const TEXT_LIMIT: usize = 1024;

/// `text`, cut to at most `limit` bytes on a character boundary.
pub(crate) fn cut(text: &str, limit: usize) -> &str {
    let mut end = text.len().min(limit);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Refuses a redirect that would carry credentials of its own, downgrade to plain
/// HTTP or leave HTTP(S). `to_host` is `to`'s host as messages show it.
fn check_redirect(
    from: &Url,
    to: &Url,
    to_host: &str,
    token: &Token,
) -> std::result::Result<(), String> {
    if !to.username().is_empty() || to.password().is_some() {
        // reqwest would send them as `Authorization: Basic`, next to or instead
        // of the Bearer: nothing is sent there.
        return Err(format!(
            "refused a redirect to a URL with user information ({to_host}); nothing was sent to it"
        ));
    }
    match (from.scheme(), to.scheme()) {
        ("https", "http") => Err(format!(
            "refused a redirect from https to plain http ({to_host})"
        )),
        (_, "http" | "https") => Ok(()),
        (_, other) => Err(format!(
            "refused a redirect to a {}: URL",
            token.redact(cut(other, 32))
        )),
    }
}
