//! `/_emulator/*`: load scenarios, read the record and counters, mint and
//! revoke tokens, create operations in bulk, set the rate limit, reset, stop.
//! No token, not recorded, not counted.

use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::clock;
use crate::graph_answer;
use crate::graph_format::RequestIds;
use crate::operation_spec::NewOperations;
use crate::prepared::compile_all;
use crate::rate_limit::RateLimit;
use crate::request_body::{read_body, ReadError};
use crate::response_body::RespBody;
use crate::scenario::Scenario;
use crate::server_state::{State, Stop};
use crate::tokens::{Revocation, TokenSpec};

/// Largest control request body (a scenario document can be big).
const SCENARIO_BODY_LIMIT: usize = 256 * 1024 * 1024;

pub(crate) fn is_control(path: &str) -> bool {
    path == "/_emulator" || path.starts_with("/_emulator/")
}

fn plain_json(status: StatusCode, body: Vec<u8>) -> Response<RespBody> {
    let mut resp = Response::new(RespBody::Full(Some(Bytes::from(body))));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// The answer of `POST /_emulator/operations`.
#[derive(Serialize)]
struct CreatedLocations {
    locations: Vec<String>,
}

/// A 200 with `value` as JSON.
fn json_answer<T: Serialize>(value: &T) -> Response<RespBody> {
    plain_json(
        StatusCode::OK,
        serde_json::to_vec(value).unwrap_or_default(),
    )
}

/// Reads a JSON request body; an empty one is `{}` when `empty_is_default`.
fn parse_json<T: DeserializeOwned>(body: &[u8], empty_is_default: bool) -> Result<T, String> {
    let body = if body.iter().all(u8::is_ascii_whitespace) && empty_is_default {
        &b"{}"[..]
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

fn no_content() -> Response<RespBody> {
    let mut resp = Response::new(RespBody::Empty);
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

fn bad_request(message: &str) -> Response<RespBody> {
    let ids = RequestIds::new(None);
    graph_answer::error(StatusCode::BAD_REQUEST, "BadRequest", message, &ids)
}

/// The body of `POST /_emulator/latency` and of its answers.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Latency {
    /// Milliseconds before each Graph answer (at most a minute).
    ms: u64,
}

/// Answers a control request.
pub(crate) async fn handle(state: &Arc<State>, req: Request<Incoming>) -> Response<RespBody> {
    let (parts, body) = req.into_parts();
    let endpoint = parts.uri.path().trim_start_matches("/_emulator");
    let m = &parts.method;
    let allow = match endpoint {
        "/scenarios" => "POST, DELETE",
        "/requests" => "GET, DELETE",
        "/stats" => "GET",
        "/tokens" => "GET, POST, DELETE",
        "/operations" => "GET, POST, DELETE",
        "/rate-limit" => "GET, POST",
        "/latency" => "GET, POST",
        "/revoke" => "POST",
        "/reset" | "/shutdown" => "POST",
        _ => {
            let ids = RequestIds::new(None);
            return graph_answer::error(
                StatusCode::NOT_FOUND,
                "NotFound",
                "No such control endpoint.",
                &ids,
            );
        }
    };
    let body = match read_body(body, SCENARIO_BODY_LIMIT).await {
        Ok(b) => b,
        Err(ReadError::TooLarge) => return bad_request("request body too large"),
        Err(ReadError::Failed) => return bad_request("could not read the request body"),
    };
    match (endpoint, m) {
        ("/scenarios", &Method::POST) => {
            let text = match std::str::from_utf8(&body) {
                Ok(t) => t,
                Err(_) => return bad_request("scenarios: not UTF-8"),
            };
            match Scenario::from_json(text).and_then(|list| compile_all(&state.operations, &list)) {
                Ok(list) => {
                    state.scripts.add(list);
                    no_content()
                }
                Err(e) => bad_request(&e),
            }
        }
        ("/scenarios", &Method::DELETE) => {
            state.scripts.clear();
            no_content()
        }
        ("/requests", &Method::GET) => json_answer(&state.recorder.requests()),
        ("/requests", &Method::DELETE) => {
            state.recorder.clear_requests();
            no_content()
        }
        ("/stats", &Method::GET) => json_answer(&state.recorder.stats()),
        ("/tokens", &Method::POST) => {
            let spec: TokenSpec = match parse_json(&body, true) {
                Ok(s) => s,
                Err(e) => return bad_request(&format!("tokens: {e}")),
            };
            match state.tokens.mint(&spec, clock::unix_ms_now()) {
                Ok(minted) => json_answer(&minted),
                Err(e) => bad_request(&format!("tokens: {e}")),
            }
        }
        ("/tokens", &Method::GET) => json_answer(&state.tokens.list()),
        ("/tokens", &Method::DELETE) => {
            state.tokens.reset();
            no_content()
        }
        ("/revoke", &Method::POST) => {
            let r: Revocation = match parse_json(&body, false) {
                Ok(r) => r,
                Err(e) => return bad_request(&format!("revoke: {e}")),
            };
            match state.tokens.revoke(&r, clock::unix_ms_now()) {
                Ok(done) => json_answer(&done),
                Err((true, e)) => graph_answer::error(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    &format!("revoke: {e}"),
                    &RequestIds::new(None),
                ),
                Err((false, e)) => bad_request(&format!("revoke: {e}")),
            }
        }
        ("/operations", &Method::POST) => {
            let spec: NewOperations = match parse_json(&body, false) {
                Ok(s) => s,
                Err(e) => return bad_request(&format!("operations: {e}")),
            };
            match state.operations.create_many(&spec, clock::unix_ms_now()) {
                Ok(locations) => json_answer(&CreatedLocations { locations }),
                Err(e) => bad_request(&format!("operations: {e}")),
            }
        }
        ("/operations", &Method::GET) => json_answer(&state.operations.reports()),
        ("/operations", &Method::DELETE) => {
            state.operations.reset();
            no_content()
        }
        ("/rate-limit", &Method::POST) => {
            let limit: RateLimit = match parse_json(&body, false) {
                Ok(l) => l,
                Err(e) => return bad_request(&format!("rate-limit: {e}")),
            };
            state.limiter.set(limit);
            json_answer(&limit)
        }
        ("/rate-limit", &Method::GET) => json_answer(&state.limiter.settings()),
        ("/latency", &Method::POST) => {
            let latency: Latency = match parse_json(&body, false) {
                Ok(l) => l,
                Err(e) => return bad_request(&format!("latency: {e}")),
            };
            json_answer(&Latency {
                ms: state.set_latency_ms(latency.ms),
            })
        }
        ("/latency", &Method::GET) => json_answer(&Latency {
            ms: u64::try_from(state.latency().as_millis()).unwrap_or(u64::MAX),
        }),
        ("/reset", &Method::POST) => {
            state.reset();
            no_content()
        }
        ("/shutdown", &Method::POST) => {
            state.request_stop(Stop::Graceful);
            no_content()
        }
        _ => {
            let ids = RequestIds::new(None);
            let mut resp = graph_answer::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The HTTP method is not allowed on this endpoint.",
                &ids,
            );
            resp.headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
            resp
        }
    }
}
