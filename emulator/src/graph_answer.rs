//! Plain answers with Graph's headers: a JSON body, a Graph error, no body.

use bytes::Bytes;
use hyper::header::{HeaderValue, CONTENT_LENGTH};
use hyper::{Response, StatusCode};

use crate::graph_format::{self, RequestIds};
use crate::response_body::RespBody;

/// A JSON answer with Graph's headers.
pub(crate) fn json(status: StatusCode, body: Bytes, ids: &RequestIds) -> Response<RespBody> {
    let mut resp = Response::new(RespBody::Full(Some(body)));
    *resp.status_mut() = status;
    graph_format::set_json_content_type(resp.headers_mut());
    ids.apply(resp.headers_mut());
    resp
}

/// A Graph error answer.
pub(crate) fn error(
    status: StatusCode,
    code: &str,
    message: &str,
    ids: &RequestIds,
) -> Response<RespBody> {
    json(
        status,
        Bytes::from(graph_format::error_body(code, message, ids)),
        ids,
    )
}

/// An answer without body, with Graph's headers.
pub(crate) fn empty(status: StatusCode, ids: &RequestIds) -> Response<RespBody> {
    let mut resp = Response::new(RespBody::Empty);
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    ids.apply(resp.headers_mut());
    resp
}
