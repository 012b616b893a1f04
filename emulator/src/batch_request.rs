//! Reading a `$batch` request: Graph JSON batching's body,
//! `{"requests":[{"id","method","url","headers"?,"body"?,"dependsOn"?}, ...]}`,
//! checked as Graph checks it (400 for what it refuses).

use std::collections::HashSet;

use hyper::header::{HeaderMap, CONTENT_TYPE};
use hyper::http::uri::PathAndQuery;
use hyper::Method;
use serde_json::Value;

use crate::graph_path::Version;

/// Most requests in one `$batch`.
pub(crate) const MAX_REQUESTS: usize = 20;

/// One request inside a `$batch`.
#[derive(Debug)]
pub(crate) struct InnerRequest {
    pub id: String,
    pub method: Method,
    /// The path under the version root of the `$batch`, with its query, as
    /// a request sent alone would carry it (`/beta/teams/...?$select=...`).
    pub target: PathAndQuery,
    /// Its headers, names as written.
    pub headers: Vec<(String, String)>,
}

impl InnerRequest {
    /// A header's value, by name in any case.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Whether a Content-Type is `application/json` (parameters allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

fn text<'a>(r: &'a Value, field: &str, i: usize) -> Result<&'a str, String> {
    match r.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(format!("request {i}: `{field}` is empty")),
        Some(_) => Err(format!("request {i}: `{field}` must be a string")),
        None => Err(format!("request {i}: `{field}` is missing")),
    }
}

/// The path an inner `url` names under `/{version}`: relative to the version
/// root, with or without its leading `/`.
fn target(url: &str, version: Version, i: usize) -> Result<PathAndQuery, String> {
    if url.contains("://") {
        return Err(format!(
            "request {i}: `url` must be relative to the version root, like /teams/ID/operations/OP"
        ));
    }
    let sep = if url.starts_with('/') { "" } else { "/" };
    let full = format!("/{}{sep}{url}", version.as_str());
    full.parse::<PathAndQuery>()
        .map_err(|_| format!("request {i}: `url` is not a valid relative URL"))
}

/// Reads a `$batch` body sent to the root of `version`; `Err` is the message
/// of the 400.
pub(crate) fn parse(
    headers: &HeaderMap,
    body: &[u8],
    version: Version,
) -> Result<Vec<InnerRequest>, String> {
    if !is_json(headers) {
        return Err("A $batch request needs Content-Type: application/json.".to_owned());
    }
    let doc: Value = serde_json::from_slice(body)
        .map_err(|e| format!("The $batch body is not valid JSON: {e}"))?;
    let Some(list) = doc.get("requests") else {
        return Err("The $batch body has no `requests` array.".to_owned());
    };
    let Some(list) = list.as_array() else {
        return Err("`requests` must be an array.".to_owned());
    };
    if list.is_empty() {
        return Err("`requests` is empty.".to_owned());
    }
    if list.len() > MAX_REQUESTS {
        return Err(format!(
            "A $batch holds at most {MAX_REQUESTS} requests; this one has {}.",
            list.len()
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        if !r.is_object() {
            return Err(format!("request {i}: must be a JSON object"));
        }
        let id = text(r, "id", i)?;
        if !seen.insert(id) {
            return Err(format!("request {i}: the id `{id}` is used twice"));
        }
        let method_text = text(r, "method", i)?;
        let method = Method::from_bytes(method_text.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("request {i}: invalid method `{method_text}`"))?;
        let target = target(text(r, "url", i)?, version, i)?;
        let mut hs = Vec::new();
        match r.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    let Some(v) = v.as_str() else {
                        return Err(format!("request {i}: header `{k}` must be a string"));
                    };
                    hs.push((k.clone(), v.to_owned()));
                }
            }
            Some(_) => return Err(format!("request {i}: `headers` must be an object")),
        }
        match r.get("dependsOn") {
            None | Some(Value::Null) => {}
            Some(Value::Array(d)) if d.iter().all(Value::is_string) => {}
            Some(_) => return Err(format!("request {i}: `dependsOn` must be an array of ids")),
        }
        out.push(InnerRequest {
            id: id.to_owned(),
            method,
            target,
            headers: hs,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("Application/JSON; charset=utf-8"),
        );
        h
    }

    #[test]
    fn reads_graph_batches() {
        let body = br#"{"requests": [
            {"id": "1", "method": "GET", "url": "/teams/t/operations/o?$select=status",
             "headers": {"client-request-id": "c1"}},
            {"id": "b", "method": "get", "url": "chats/19:x@thread.v2/operations/o", "dependsOn": ["1"]}
        ]}"#;
        let list = parse(&json_headers(), body, Version::V1).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(
            list[0].target.as_str(),
            "/v1.0/teams/t/operations/o?$select=status"
        );
        assert_eq!(list[0].target.path(), "/v1.0/teams/t/operations/o");
        assert_eq!(list[0].header("Client-Request-Id"), Some("c1"));
        assert_eq!(list[1].method, Method::GET);
        assert_eq!(
            list[1].target.as_str(),
            "/v1.0/chats/19:x@thread.v2/operations/o"
        );
    }

    #[test]
    fn refuses_what_graph_refuses() {
        let twenty_one = format!(
            r#"{{"requests": [{}]}}"#,
            (0..21)
                .map(|i| format!(r#"{{"id": "{i}", "method": "GET", "url": "/x"}}"#))
                .collect::<Vec<_>>()
                .join(",")
        );
        for (body, want) in [
            ("nope", "not valid JSON"),
            ("{}", "no `requests`"),
            (r#"{"requests": {}}"#, "array"),
            (r#"{"requests": []}"#, "empty"),
            (twenty_one.as_str(), "at most 20"),
            (r#"{"requests": [3]}"#, "object"),
            (
                r#"{"requests": [{"method": "GET", "url": "/x"}]}"#,
                "`id` is missing",
            ),
            (
                r#"{"requests": [{"id": 1, "method": "GET", "url": "/x"}]}"#,
                "string",
            ),
            (
                r#"{"requests": [{"id": "", "method": "GET", "url": "/x"}]}"#,
                "empty",
            ),
            (
                r#"{"requests": [{"id": "1", "url": "/x"}]}"#,
                "`method` is missing",
            ),
            (
                r#"{"requests": [{"id": "1", "method": "G T", "url": "/x"}]}"#,
                "invalid method",
            ),
            (
                r#"{"requests": [{"id": "1", "method": "GET"}]}"#,
                "`url` is missing",
            ),
            (
                r#"{"requests": [{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/beta/x"}]}"#,
                "relative",
            ),
            (
                r#"{"requests": [{"id": "1", "method": "GET", "url": "/a b"}]}"#,
                "valid",
            ),
            (
                r#"{"requests": [{"id": "1", "method": "GET", "url": "/x"}, {"id": "1", "method": "GET", "url": "/y"}]}"#,
                "twice",
            ),
            (
                r#"{"requests": [{"id": "1", "method": "GET", "url": "/x", "headers": {"a": 1}}]}"#,
                "header `a`",
            ),
            (
                r#"{"requests": [{"id": "1", "method": "GET", "url": "/x", "headers": []}]}"#,
                "object",
            ),
            (
                r#"{"requests": [{"id": "1", "method": "GET", "url": "/x", "dependsOn": "2"}]}"#,
                "dependsOn",
            ),
        ] {
            let e = parse(&json_headers(), body.as_bytes(), Version::Beta).unwrap_err();
            assert!(e.contains(want), "{body}: {e}");
        }
        let e = parse(
            &HeaderMap::new(),
            br#"{"requests": [{"id": "1", "method": "GET", "url": "/x"}]}"#,
            Version::Beta,
        )
        .unwrap_err();
        assert!(e.contains("Content-Type"), "{e}");
    }
}
