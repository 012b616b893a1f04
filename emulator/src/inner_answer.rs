//! One answer inside a `$batch` answer: `{"id","status","headers","body"}`.
//! A routed answer goes in as it would go out alone; a scripted one too,
//! except for what only a connection can do (defined here: see
//! [`InnerAnswer::scripted`]).

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use hyper::StatusCode;

use crate::base64;
use crate::graph_answer::Answer;
use crate::graph_format::{self, RequestIds, AGS_DIAGNOSTIC_NAME};
use crate::graph_path::Version;
use crate::prepared::{Prepared, PreparedBody};
use crate::scenario::Fault;

/// The longest an inner answer may take; a scripted `delay_ms` beyond it
/// gives 504 once it has passed.
pub(crate) const INNER_DEADLINE: Duration = Duration::from_secs(5);
/// The largest scripted body put inside a `$batch` answer.
pub(crate) const INNER_BODY_LIMIT: u64 = 4 * 1024 * 1024;

/// An inner answer's body.
#[derive(Debug)]
enum InnerBody {
    None,
    /// JSON text, put in as is.
    Json(Bytes),
    /// Anything else, as a base64 string (Graph's way for non-JSON bodies).
    Base64(String),
}

impl InnerBody {
    fn of(bytes: Bytes) -> InnerBody {
        if bytes.is_empty() {
            InnerBody::None
        } else if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok() {
            InnerBody::Json(bytes)
        } else {
            InnerBody::Base64(base64::encode(&bytes))
        }
    }
}

/// One inner answer.
#[derive(Debug)]
pub(crate) struct InnerAnswer {
    pub status: StatusCode,
    /// Names as they go out: Graph's casing for the emulator's own headers,
    /// a scenario's as written.
    headers: Vec<(String, String)>,
    body: InnerBody,
}

/// Graph's casing of a header name inside a `$batch` answer.
fn graph_case(lower: &str) -> &str {
    match lower {
        "content-type" => "Content-Type",
        "location" => "Location",
        "retry-after" => "Retry-After",
        "allow" => "Allow",
        "www-authenticate" => "WWW-Authenticate",
        other => other,
    }
}

impl InnerAnswer {
    /// An answer of the routes (or the limiter), as it would go out alone.
    pub(crate) fn routed(a: Answer) -> InnerAnswer {
        let headers = a
            .headers
            .iter()
            .filter(|(n, _)| **n != AGS_DIAGNOSTIC_NAME)
            .map(|(n, v)| {
                (
                    graph_case(n.as_str()).to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        InnerAnswer {
            status: a.status,
            headers,
            body: InnerBody::of(a.body),
        }
    }

    /// A scripted answer inside a `$batch`, and how long it takes.
    ///
    /// Status, headers, body and Content-Type are as scripted. What only a
    /// connection can do is defined so: a `fault: reset` gives 504
    /// `GatewayTimeout` (like a reset before any byte of a single GET, a
    /// client may retry it), `reset_mid_body` and `close_mid_body` give 502
    /// `BadGateway` (a broken answer); `delay_ms` delays this answer (the
    /// `$batch` answer waits for its slowest one), and beyond
    /// [`INNER_DEADLINE`] gives 504 once the deadline has passed; a body over
    /// [`INNER_BODY_LIMIT`] gives 500. `gzip`, `chunked`, `chunk_size`,
    /// `chunk_delay_ms` and `content_length` are about the connection and
    /// are ignored.
    pub(crate) fn scripted(
        p: &Prepared,
        version: Version,
        ids: &RequestIds,
    ) -> (InnerAnswer, Duration) {
        if p.delay > INNER_DEADLINE {
            let a = Answer::error(
                StatusCode::GATEWAY_TIMEOUT,
                "GatewayTimeout",
                "The request inside the $batch timed out (a scripted delay).",
                ids,
            );
            return (InnerAnswer::routed(a), INNER_DEADLINE);
        }
        let failed = match p.fault {
            Some(Fault::Reset) => Some((
                StatusCode::GATEWAY_TIMEOUT,
                "GatewayTimeout",
                "The backend connection was reset (a scripted fault).",
            )),
            Some(Fault::ResetMidBody | Fault::CloseMidBody) => Some((
                StatusCode::BAD_GATEWAY,
                "BadGateway",
                "The backend answer was cut short (a scripted fault).",
            )),
            None => None,
        };
        if let Some((status, code, message)) = failed {
            return (
                InnerAnswer::routed(Answer::error(status, code, message, ids)),
                p.delay,
            );
        }
        let Some(bytes) = body_bytes(&p.body, version) else {
            let a = Answer::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "A scripted body over 4 MiB cannot go inside a $batch answer.",
                ids,
            );
            return (InnerAnswer::routed(a), p.delay);
        };
        let has = |name: &str| {
            p.header_list
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        let mut headers = Vec::with_capacity(p.header_list.len() + 3);
        if !has("request-id") {
            headers.push(("request-id".to_owned(), ids.request_id.clone()));
        }
        if !has("client-request-id") {
            headers.push((
                "client-request-id".to_owned(),
                ids.client_request_id.clone(),
            ));
        }
        match &p.content_type {
            Some(Some(ct)) => headers.push((
                "Content-Type".to_owned(),
                String::from_utf8_lossy(ct.as_bytes()).into_owned(),
            )),
            Some(None) => {}
            None if !bytes.is_empty() && !has("content-type") => headers.push((
                "Content-Type".to_owned(),
                graph_format::JSON_CONTENT_TYPE.to_owned(),
            )),
            None => {}
        }
        for (n, v) in &p.header_list {
            // An explicit content_type wins over a Content-Type header.
            if p.content_type.is_some() && n.eq_ignore_ascii_case("content-type") {
                continue;
            }
            headers.push((n.clone(), v.clone()));
        }
        (
            InnerAnswer {
                status: p.status,
                headers,
                body: InnerBody::of(bytes),
            },
            p.delay,
        )
    }

    /// The same answer without its body (an answer to HEAD), headers kept.
    pub(crate) fn without_body(mut self) -> InnerAnswer {
        self.body = InnerBody::None;
        self
    }

    /// Appends `{"id":…,"status":…,"headers":{…},"body":…}` (Graph's order;
    /// no `body` when empty).
    pub(crate) fn write(&self, id: &str, out: &mut BytesMut) {
        out.put_slice(b"{\"id\":");
        out.put_slice(graph_format::json_str(id).as_bytes());
        out.put_slice(format!(",\"status\":{},\"headers\":{{", self.status.as_u16()).as_bytes());
        for (i, (n, v)) in self.headers.iter().enumerate() {
            if i > 0 {
                out.put_u8(b',');
            }
            out.put_slice(graph_format::json_str(n).as_bytes());
            out.put_u8(b':');
            out.put_slice(graph_format::json_str(v).as_bytes());
        }
        out.put_u8(b'}');
        match &self.body {
            InnerBody::None => {}
            InnerBody::Json(b) => {
                out.put_slice(b",\"body\":");
                out.put_slice(b);
            }
            InnerBody::Base64(s) => {
                out.put_slice(b",\"body\":");
                out.put_slice(graph_format::json_str(s).as_bytes());
            }
        }
        out.put_u8(b'}');
    }
}

/// A scripted body's bytes, generated ones included; `None` when over
/// [`INNER_BODY_LIMIT`].
fn body_bytes(body: &PreparedBody, version: Version) -> Option<Bytes> {
    match body {
        PreparedBody::Empty => Some(Bytes::new()),
        PreparedBody::Generate {
            prefix,
            repeat,
            count,
            suffix,
            len,
        } => {
            if *len > INNER_BODY_LIMIT {
                return None;
            }
            let mut b = BytesMut::with_capacity(*len as usize);
            b.put_slice(prefix);
            if !repeat.is_empty() {
                for _ in 0..*count {
                    b.put_slice(repeat);
                }
            }
            b.put_slice(suffix);
            Some(b.freeze())
        }
        other => other.for_version(version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::OperationStore;
    use crate::prepared::compile;
    use crate::scenario::Scenario;
    use serde_json::Value;

    fn prepared(json: &str) -> std::sync::Arc<Prepared> {
        let store = OperationStore::new(1);
        let s =
            Scenario::from_json(&format!(r#"{{"path": "/x", "responses": [{json}]}}"#)).unwrap();
        compile(&s[0], &store).unwrap().responses[0].clone()
    }

    fn rendered(a: &InnerAnswer) -> Value {
        let mut out = BytesMut::new();
        a.write("7", &mut out);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn scripted_inner_answers() {
        let ids = RequestIds::new(Some("c-1"));
        let (a, wait) = InnerAnswer::scripted(
            &prepared(
                r#"{"status": 429, "headers": {"Retry-After": "3"}, "json": {"error": {"code": "TooManyRequests"}}, "delay_ms": 20}"#,
            ),
            Version::Beta,
            &ids,
        );
        assert_eq!(wait, Duration::from_millis(20));
        let v = rendered(&a);
        assert_eq!(v["id"], "7");
        assert_eq!(v["status"], 429);
        assert_eq!(v["headers"]["Retry-After"], "3");
        assert_eq!(v["headers"]["client-request-id"], "c-1");
        assert_eq!(v["headers"]["request-id"], ids.request_id.as_str());
        assert!(v["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("application/json"));
        assert_eq!(v["body"]["error"]["code"], "TooManyRequests");

        let (a, _) = InnerAnswer::scripted(
            &prepared(r#"{"body": "<html>", "content_type": "text/html"}"#),
            Version::Beta,
            &ids,
        );
        let v = rendered(&a);
        assert_eq!(v["body"], base64::encode(b"<html>"));
        assert_eq!(v["headers"]["Content-Type"], "text/html");

        let (a, _) = InnerAnswer::scripted(&prepared(r#"{"status": 204}"#), Version::Beta, &ids);
        let v = rendered(&a);
        assert!(v.get("body").is_none());
        assert!(v["headers"].get("Content-Type").is_none());

        let (a, _) =
            InnerAnswer::scripted(&prepared(r#"{"operation": "seed"}"#), Version::V1, &ids);
        assert_eq!(rendered(&a)["body"]["status"], "succeeded");

        let (a, _) = InnerAnswer::scripted(
            &prepared(
                r#"{"generate": {"prefix": "[", "repeat": "1,", "count": 3, "suffix": "0]"}}"#,
            ),
            Version::Beta,
            &ids,
        );
        assert_eq!(rendered(&a)["body"], serde_json::json!([1, 1, 1, 0]));
    }

    #[test]
    fn what_only_a_connection_can_do() {
        let ids = RequestIds::new(None);
        for (json, status, wait) in [
            (r#"{"fault": "reset"}"#, 504, 0),
            (r#"{"fault": "reset_mid_body", "body": "abc"}"#, 502, 0),
            (r#"{"fault": "close_mid_body", "delay_ms": 10}"#, 502, 10),
            (r#"{"delay_ms": 18446744073709551615}"#, 504, 5000),
            (r#"{"generate": {"repeat": "a", "count": 5000000}}"#, 500, 0),
        ] {
            let (a, w) = InnerAnswer::scripted(&prepared(json), Version::Beta, &ids);
            assert_eq!(a.status.as_u16(), status, "{json}");
            assert_eq!(w, Duration::from_millis(wait), "{json}");
            let v = rendered(&a);
            assert!(v["body"]["error"]["code"].is_string(), "{json}");
        }
        let (a, _) = InnerAnswer::scripted(
            &prepared(r#"{"gzip": true, "chunked": true, "chunk_size": 1, "json": {"a": 1}}"#),
            Version::Beta,
            &ids,
        );
        assert_eq!(rendered(&a)["body"], serde_json::json!({"a": 1}));
    }

    #[test]
    fn routed_answers_keep_graph_headers() {
        let ids = RequestIds::new(None);
        let a = InnerAnswer::routed(Answer::throttled(Some(2), &ids));
        let v = rendered(&a);
        assert_eq!(v["status"], 429);
        assert_eq!(v["headers"]["Retry-After"], "2");
        assert!(v["headers"].get("x-ms-ags-diagnostic").is_none());
        assert_eq!(
            v["body"]["error"]["innerError"]["request-id"],
            ids.request_id.as_str()
        );
    }
}
