//! A Graph request as it arrives, in this order: recorded and counted, its
//! body read, the rate limiter (operation GETs), scenarios, the token check,
//! then the resources or the `$batch`.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONNECTION};
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;

use crate::auth;
use crate::batch;
use crate::batch_request;
use crate::conn::ConnCtrl;
use crate::graph_answer::{self, Answer};
use crate::graph_format::{RequestIds, CLIENT_REQUEST_ID};
use crate::graph_path::{Route, Version};
use crate::recorder::Counter;
use crate::request_body::{read_body, ReadError};
use crate::resources;
use crate::response_body::{Abort, RespBody};
use crate::scripted_answer;
use crate::server_state::State;

/// Largest request body read from a Graph request.
const GRAPH_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Answers one request.
pub(crate) async fn handle(
    state: Arc<State>,
    ctrl: Arc<ConnCtrl>,
    req: Request<Incoming>,
) -> Result<Response<RespBody>, Abort> {
    let (parts, body) = req.into_parts();
    let record = state.recorder.request_received(&parts, ctrl.id);
    let raw = parts.uri.path();
    let route = Route::parse(raw);
    let poll = route.is_poll(&parts.method);
    if poll {
        state.recorder.polls_received(1);
    }
    if matches!(route, Route::Batch { .. }) {
        state.recorder.count(Counter::Batches, 1);
    }
    let ids = RequestIds::new(
        parts
            .headers
            .get(&CLIENT_REQUEST_ID)
            .and_then(|v| v.to_str().ok()),
    );
    // Read the request body so that the connection can serve the next request.
    let body = match read_body(body, GRAPH_BODY_LIMIT).await {
        Ok(b) => b,
        Err(ReadError::TooLarge) => {
            let mut resp = graph_answer::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                "The request body is too large.",
                &ids,
            );
            resp.headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            return Ok(resp);
        }
        Err(ReadError::Failed) => return Err(Abort),
    };
    // A $batch's requests were sent whatever the answer: note them now.
    let batch = match route {
        Route::Batch { version } if parts.method == Method::POST => {
            let parsed = batch_request::parse(&parts.headers, &body, version);
            if let Ok(requests) = &parsed {
                batch::received(&state, requests, record, ctrl.id);
            }
            Some((version, parsed))
        }
        _ => None,
    };

    // The limiter sees every operation GET first, keyed by the token as sent.
    if poll {
        let key = match auth::credential(&parts.headers) {
            auth::Credential::Bearer(t) => t,
            _ => "",
        };
        if let Err(retry_after) = state.limiter.admit(key, 1) {
            state.recorder.count(Counter::Throttled, 1);
            return Ok(Answer::throttled(retry_after, &ids).into_response());
        }
    }

    let decoded = percent_decode_str(raw).decode_utf8_lossy();
    if let Some(p) = state.scripts.answer(&parts.method, raw, &decoded) {
        state.recorder.count(Counter::Scripted, 1);
        if p.status == StatusCode::TOO_MANY_REQUESTS {
            state.recorder.count(Counter::Throttled, 1);
        }
        let version = if raw.starts_with("/v1.0/") {
            Version::V1
        } else {
            Version::Beta
        };
        return scripted_answer::scripted(p, &parts.headers, version, &ids, &ctrl).await;
    }
    if let Some(resp) = auth::refusal(&state.tokens, &state.recorder, &parts.headers, &ids) {
        return Ok(resp);
    }
    Ok(match batch {
        Some((version, Ok(requests))) => {
            batch::answer(&state, &parts.headers, requests, version, &ids).await
        }
        Some((_, Err(message))) => {
            graph_answer::error(StatusCode::BAD_REQUEST, "BadRequest", &message, &ids)
        }
        None if matches!(route, Route::Batch { .. }) => {
            let mut resp = graph_answer::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The HTTP method is not allowed on this resource.",
                &ids,
            );
            resp.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            resp
        }
        None => {
            resources::answer(&state, &parts.method, route, parts.uri.query(), &ids).into_response()
        }
    })
}
