//! One library call's GET: redirects (at most 5, never leaking the token), retries
//! of 429/503/504 and early resets within the call's deadline, and the turning of
//! the final answer into an `Operation` or an `Error`.
//!
//! Text a server chose (Graph's code and message, request ids, an echoed header,
//! JSON quoted by a parse error, a host named by a redirect) has the token taken
//! out where it enters a message; the library's own words are never touched, so
//! a token that is a common letter does not scramble them.

use std::thread;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::HeaderValue;
use reqwest::{StatusCode, Url};

use super::clock::ends_before;
use super::graph_error::GraphError;
use super::retry::{backoff, parse_retry_after};
use super::settings::{Settings, Token};
use crate::error::{Error, ErrorKind, Result, Trace};
use crate::http::{host_of, Failure, Http, Reply, Request};
use crate::model::Operation;
use crate::random::new_guid;
use crate::remedy::Remedy;

/// Redirects followed at most, as Graph's SDKs.
const MAX_REDIRECTS: usize = 5;

/// An operation and what its response said besides (status, ids, `Retry-After`).
pub(crate) struct Fetched {
    pub operation: Operation,
    pub trace: Trace,
}

/// GETs `url` with `settings`, finishing by `deadline`.
pub(crate) fn get_operation(settings: &Settings, url: &Url, deadline: Instant) -> Result<Fetched> {
    let token = settings.token.as_ref().ok_or_else(|| {
        Error::invalid("no access token is set; nothing was sent").with_remedy(Remedy::SetToken)
    })?;
    let http = settings.http()?;
    let mut call = Call {
        settings,
        http,
        token,
        bearer: token.header(),
        trace: Trace {
            client_request_id: Some(new_guid()),
            ..Trace::default()
        },
        deadline,
    };
    let operation = call.run(url)?;
    Ok(Fetched {
        operation,
        trace: call.trace,
    })
}

struct Call<'a> {
    settings: &'a Settings,
    http: &'a Http,
    token: &'a Token,
    bearer: &'a HeaderValue,
    trace: Trace,
    deadline: Instant,
}

impl Call<'_> {
    fn run(&mut self, url: &Url) -> Result<Operation> {
        let mut attempt = 0u32;
        loop {
            let outcome = self.follow_redirects(url, attempt);
            let (error, retry_after) = match outcome {
                Ok(reply) => match self.interpret(reply) {
                    Ok(op) => return Ok(op),
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
            };
            if attempt >= self.settings.max_retries {
                return Err(error);
            }
            attempt += 1;
            let pause = retry_after.unwrap_or_else(|| backoff(attempt));
            // Waiting past the deadline would only end in a timeout: give the
            // caller the last answer now instead. (Any pause: no overflow.)
            if !ends_before(pause, self.deadline) {
                return Err(error);
            }
            thread::sleep(pause);
        }
    }

    /// One try: the GET, and the redirects it leads to.
    fn follow_redirects(&mut self, url: &Url, attempt: u32) -> std::result::Result<Reply, Failure> {
        let base = &self.settings.base;
        let mut current = url.clone();
        let mut bearer = Some(self.bearer);
        // Built only after a redirect to another host: see `Request::shown_host`.
        let mut shown_host: Option<String> = None;
        for hop in 0..=MAX_REDIRECTS {
            let request = Request {
                url: &current,
                shown_host: shown_host.as_deref(),
                bearer,
                client_request_id: self.trace.client_request_id.as_deref().unwrap_or_default(),
                attempt,
                deadline: self.deadline,
                max_body_bytes: self.settings.max_body_bytes,
            };
            let reply = self.http.send(&request)?;
            self.note(&reply);
            let location = match reply.status {
                StatusCode::MOVED_PERMANENTLY
                | StatusCode::FOUND
                | StatusCode::SEE_OTHER
                | StatusCode::TEMPORARY_REDIRECT
                | StatusCode::PERMANENT_REDIRECT => reply.header("location"),
                _ => None,
            };
            let Some(location) = location else {
                return Ok(reply);
            };
            if hop == MAX_REDIRECTS {
                return Err(self.final_error(format!(
                    "more than {MAX_REDIRECTS} redirects from {}",
                    host_of(url)
                )));
            }
            let next = current
                .join(location)
                .map_err(|_| self.final_error("a redirect's Location is not a valid URL".into()))?;
            // Another host is the server's choice: its name is server text.
            let next_host = if base.same_origin(&next) {
                None
            } else {
                Some(self.token.redact(&host_of(&next)))
            };
            let to_host = next_host.clone().unwrap_or_else(|| host_of(&next));
            check_redirect(&current, &next, &to_host, self.token)
                .map_err(|m| self.final_error(m))?;
            if next_host.is_some() {
                bearer = None; // the token goes to the configured Graph host only
            }
            current = next;
            shown_host = next_host;
        }
        unreachable!("the loop returns by its last hop")
    }

    fn final_error(&self, message: String) -> Failure {
        Failure::Final(Error::transport(message))
    }

    /// Records what the response says of itself for the caller's diagnostics.
    fn note(&mut self, reply: &Reply) {
        self.trace.http_status = Some(reply.status.as_u16());
        self.trace.request_id = reply
            .header("request-id")
            .map(|id| self.token.redact(cut(id, TEXT_LIMIT)));
        self.trace.retry_after = reply
            .header("retry-after")
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
    }

    /// The final answer as an operation or an error.
    fn interpret(&mut self, reply: Reply) -> Result<Operation> {
        let status = reply.status;
        let content_type = reply.header("content-type").unwrap_or("").to_owned();
        let body = reply.body.map_err(|e| e.with_trace(&self.trace))?;
        let token = self.token;
        if status.is_success() {
            // The body decides, not its label: a JSON object under a careless
            // Content-Type is still read. When it is not one, a label other than
            // JSON (a sign-in page from a proxy, say) is the likelier story.
            return Operation::parse_vec(body).map_err(|e| {
                // A parse error quotes the body between quotes or backticks.
                let e = e.map_message(|m| token.redact_quoted(m));
                let e = if content_type.is_empty() || is_json(&content_type) {
                    e
                } else {
                    let shown_type = token.redact(cut(&content_type, TEXT_LIMIT));
                    Error::parse(format!(
                        "HTTP {} answered with Content-Type {shown_type:?}, not JSON ({})",
                        status.as_u16(),
                        e.message()
                    ))
                };
                e.with_trace(&self.trace)
            });
        }
        let graph = GraphError::from_body(&body, |text| token.redact(text));
        if self.trace.request_id.is_none() {
            self.trace.request_id = graph.request_id;
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
        let kind = ErrorKind::Http {
            status: status.as_u16(),
            graph_code: graph.code,
        };
        Err(Error::new(kind, message).with_trace(&self.trace))
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.to_ascii_lowercase().ends_with("+json")
}

/// The longest header value quoted in a message or kept as a request id.
const TEXT_LIMIT: usize = 1024;

/// `text`, cut to at most `limit` bytes on a character boundary.
fn cut(text: &str, limit: usize) -> &str {
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
