//! The Graph side: recording, scenarios, the token check, then the routes.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONNECTION, LOCATION};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;

use crate::auth;
use crate::conn::ConnCtrl;
use crate::graph_answer;
use crate::graph_format::{RequestIds, CLIENT_REQUEST_ID};
use crate::graph_path::{Kind, Version};
use crate::operations::GetError;
use crate::recorder::Counter;
use crate::request_body::{read_body, ReadError};
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
    state.recorder.request_received(&parts, ctrl.id);
    let ids = RequestIds::new(
        parts
            .headers
            .get(&CLIENT_REQUEST_ID)
            .and_then(|v| v.to_str().ok()),
    );
    // Read the request body so that the connection can serve the next request.
    match read_body(body, GRAPH_BODY_LIMIT).await {
        Ok(_) => {}
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
    }

    let raw = parts.uri.path();
    let decoded = percent_decode_str(raw).decode_utf8_lossy();
    let version = if raw.starts_with("/v1.0/") {
        Version::V1
    } else {
        Version::Beta
    };
    if let Some(p) = state.scripts.answer(&parts.method, raw, &decoded) {
        state.recorder.count(Counter::Scripted, 1);
        return scripted_answer::scripted(p, &parts.headers, version, &ids, &ctrl).await;
    }
    if let Some(resp) = auth::refusal(&state.tokens, &state.recorder, &parts.headers, &ids) {
        return Ok(resp);
    }
    Ok(route(&state, &parts, &ids))
}

fn decode(segment: &str) -> std::borrow::Cow<'_, str> {
    percent_decode_str(segment).decode_utf8_lossy()
}

fn not_found(ids: &RequestIds) -> Response<RespBody> {
    graph_answer::error(
        StatusCode::NOT_FOUND,
        "NotFound",
        "The requested resource does not exist.",
        ids,
    )
}

fn method_not_allowed(allow: &'static str, ids: &RequestIds) -> Response<RespBody> {
    let mut resp = graph_answer::error(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "The HTTP method is not allowed on this resource.",
        ids,
    );
    resp.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    resp
}

fn kind_of(collection: &str) -> Option<Kind> {
    match collection {
        "chats" => Some(Kind::Chat),
        "teams" => Some(Kind::Team),
        _ => None,
    }
}

/// The Graph routes (token already checked).
fn route(state: &State, parts: &Parts, ids: &RequestIds) -> Response<RespBody> {
    let mut segs = parts.uri.path().split('/');
    if segs.next() != Some("") {
        return not_found(ids);
    }
    let segs: Vec<&str> = segs.collect();
    match segs.as_slice() {
        [ver, coll, id, "operations", op] => {
            let (Some(v), Some(kind)) = (Version::parse(ver), kind_of(coll)) else {
                return not_found(ids);
            };
            if parts.method != Method::GET && parts.method != Method::HEAD {
                return method_not_allowed("GET, HEAD", ids);
            }
            let (id, op) = (decode(id), decode(op));
            if id == "forbidden" {
                return graph_answer::error(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "Caller does not have access to this resource.",
                    ids,
                );
            }
            let select = select_names(parts.uri.query());
            match state.operations.get(kind, v, &id, &op, select.as_deref()) {
                Ok(body) => graph_answer::json(StatusCode::OK, body, ids),
                Err(GetError::NotFound) => not_found(ids),
                Err(GetError::UnknownProperty(p)) => graph_answer::error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!(
                        "Could not find a property named '{p}' on type 'microsoft.graph.teamsAsyncOperation'."
                    ),
                    ids,
                ),
            }
        }
        [ver, coll] => {
            let (Some(_), Some(kind)) = (Version::parse(ver), kind_of(coll)) else {
                return not_found(ids);
            };
            if parts.method != Method::POST {
                return method_not_allowed("POST", ids);
            }
            let (id, op) = state.operations.create(kind);
            let mut resp = graph_answer::empty(StatusCode::ACCEPTED, ids);
            let location = match kind {
                Kind::Team => format!("/teams('{id}')/operations('{op}')"),
                Kind::Chat => format!("/chats('{id}')/operations('{op}')"),
            };
            if let Ok(v) = HeaderValue::from_str(&location) {
                resp.headers_mut().insert(LOCATION, v);
            }
            resp
        }
        _ => not_found(ids),
    }
}

/// The property names of `$select` in a query, if any.
fn select_names(query: Option<&str>) -> Option<Vec<String>> {
    for pair in query?.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if decode(k) != "$select" {
            continue;
        }
        let v = v.replace('+', " ");
        let names: Vec<String> = decode(&v)
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        return (!names.is_empty()).then_some(names);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_parsing() {
        assert_eq!(select_names(None), None);
        assert_eq!(select_names(Some("a=b")), None);
        assert_eq!(
            select_names(Some("x=1&$select=id,status")),
            Some(vec!["id".to_owned(), "status".to_owned()])
        );
        assert_eq!(
            select_names(Some("%24select=id%2C%20status")),
            Some(vec!["id".to_owned(), "status".to_owned()])
        );
        assert_eq!(select_names(Some("$select=")), None);
    }
}
