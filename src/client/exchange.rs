//! One library call's GET: redirects (at most 5, never leaking the token), retries
//! of 429/503/504 and early resets within the call's deadline, and the turning of
//! the final answer into an `Operation` or an `Error`.

use std::thread;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::HeaderValue;
use reqwest::{StatusCode, Url};

use super::graph_error::GraphError;
use super::retry::{backoff, parse_retry_after};
use super::settings::Settings;
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
    let redact = |e: Error| e.map_text(|text| token.redact(text));
    let http = settings.http()?;
    let mut call = Call {
        settings,
        http,
        bearer: token.header(),
        trace: Trace {
            client_request_id: Some(new_guid()),
            ..Trace::default()
        },
        deadline,
    };
    let operation = call.run(url).map_err(redact)?;
    let mut trace = call.trace;
    trace.request_id = trace.request_id.map(|id| token.redact_owned(id));
    Ok(Fetched { operation, trace })
}

struct Call<'a> {
    settings: &'a Settings,
    http: &'a Http,
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
            // caller the last answer now instead.
            if Instant::now() + pause >= self.deadline {
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
        for hop in 0..=MAX_REDIRECTS {
            let request = Request {
                url: &current,
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
            check_redirect(&current, &next).map_err(|m| self.final_error(m))?;
            if !base.same_origin(&next) {
                bearer = None; // the token goes to the configured Graph host only
            }
            current = next;
        }
        unreachable!("the loop returns by its last hop")
    }

    fn final_error(&self, message: String) -> Failure {
        Failure::Final(Error::transport(message))
    }

    /// Records what the response says of itself for the caller's diagnostics.
    fn note(&mut self, reply: &Reply) {
        self.trace.http_status = Some(reply.status.as_u16());
        self.trace.request_id = reply.header("request-id").map(str::to_owned);
        self.trace.retry_after = reply
            .header("retry-after")
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
    }

    /// The final answer as an operation or an error.
    fn interpret(&mut self, reply: Reply) -> Result<Operation> {
        let status = reply.status;
        let content_type = reply.header("content-type").unwrap_or("").to_owned();
        let body = reply.body.map_err(|e| e.with_trace(&self.trace))?;
        if status.is_success() {
            // The body decides, not its label: a JSON object under a careless
            // Content-Type is still read. When it is not one, a label other than
            // JSON (a sign-in page from a proxy, say) is the likelier story.
            return Operation::parse_vec(body).map_err(|e| {
                let e = if content_type.is_empty() || is_json(&content_type) {
                    e
                } else {
                    Error::parse(format!(
                        "HTTP {} answered with Content-Type {content_type:?}, not JSON ({})",
                        status.as_u16(),
                        e.message()
                    ))
                };
                e.with_trace(&self.trace)
            });
        }
        let graph = GraphError::from_body(&body);
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

/// Refuses a redirect that would downgrade to plain HTTP or leave HTTP(S).
fn check_redirect(from: &Url, to: &Url) -> std::result::Result<(), String> {
    match (from.scheme(), to.scheme()) {
        ("https", "http") => Err(format!(
            "refused a redirect from https to plain http ({})",
            host_of(to)
        )),
        (_, "http" | "https") => Ok(()),
        (_, other) => Err(format!("refused a redirect to a {other}: URL")),
    }
}
