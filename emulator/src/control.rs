//! `/_emulator/*`: load scenarios, read the record and counters, reset, stop.
//! No token, not recorded, not counted.

use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};

use crate::graph_answer;
use crate::graph_format::RequestIds;
use crate::prepared::compile_all;
use crate::request_body::{read_body, ReadError};
use crate::response_body::RespBody;
use crate::scenario::Scenario;
use crate::server_state::{State, Stop};

/// Largest scenario document accepted over HTTP.
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

fn no_content() -> Response<RespBody> {
    let mut resp = Response::new(RespBody::Empty);
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

fn bad_request(message: &str) -> Response<RespBody> {
    let ids = RequestIds::new(None);
    graph_answer::error(StatusCode::BAD_REQUEST, "BadRequest", message, &ids)
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
        ("/requests", &Method::GET) => plain_json(
            StatusCode::OK,
            serde_json::to_vec(&state.recorder.requests()).unwrap_or_default(),
        ),
        ("/requests", &Method::DELETE) => {
            state.recorder.clear_requests();
            no_content()
        }
        ("/stats", &Method::GET) => plain_json(
            StatusCode::OK,
            serde_json::to_vec(&state.recorder.stats()).unwrap_or_default(),
        ),
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
