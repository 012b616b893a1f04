//! Plain answers with Graph's headers: a JSON body, a Graph error, no body.
//! An [`Answer`] is built the same way whether it goes out alone or inside a
//! `$batch` answer.

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_LENGTH, RETRY_AFTER};
use hyper::{Response, StatusCode};

use crate::graph_format::{self, RequestIds};
use crate::response_body::RespBody;

/// A whole answer: status, headers (Graph's ids included) and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// A JSON answer with Graph's headers.
    pub(crate) fn json(status: StatusCode, body: Bytes, ids: &RequestIds) -> Answer {
        let mut headers = HeaderMap::new();
        graph_format::set_json_content_type(&mut headers);
        ids.apply(&mut headers);
        Answer {
            status,
            headers,
            body,
        }
    }

    /// A Graph error answer.
    pub(crate) fn error(status: StatusCode, code: &str, message: &str, ids: &RequestIds) -> Answer {
        Answer::json(
            status,
            Bytes::from(graph_format::error_body(code, message, ids)),
            ids,
        )
    }

    /// An answer without body.
    pub(crate) fn empty(status: StatusCode, ids: &RequestIds) -> Answer {
        let mut headers = HeaderMap::new();
        ids.apply(&mut headers);
        Answer {
            status,
            headers,
            body: Bytes::new(),
        }
    }

    /// Graph's 429, with `Retry-After` in seconds when given.
    pub(crate) fn throttled(retry_after_s: Option<u64>, ids: &RequestIds) -> Answer {
        let mut a = Answer::error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests. The request has been throttled.",
            ids,
        );
        if let Some(s) = retry_after_s {
            a.headers.insert(RETRY_AFTER, HeaderValue::from(s));
        }
        a
    }

    /// The answer as sent alone.
    pub(crate) fn into_response(self) -> Response<RespBody> {
        let empty = self.body.is_empty();
        let mut resp = Response::new(if empty {
            RespBody::Empty
        } else {
            RespBody::Full(Some(self.body))
        });
        *resp.status_mut() = self.status;
        *resp.headers_mut() = self.headers;
        if empty {
            resp.headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        resp
    }
}

/// A Graph error answer.
pub(crate) fn error(
    status: StatusCode,
    code: &str,
    message: &str,
    ids: &RequestIds,
) -> Response<RespBody> {
    Answer::error(status, code, message, ids).into_response()
}
