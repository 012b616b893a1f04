//! Scenarios: scripted answers, as read from JSON or built in Rust, and their
//! check-and-compile step into [`Prepared`] answers that cost little to serve.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, TRANSFER_ENCODING};
use hyper::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::base64;
use crate::operations::{Store, Version};

/// Scripted answers for every request whose path matches.
///
/// Exactly one of `path` and `path_prefix` must be set, and at least one of
/// `responses` and `random`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Matches a request path (no query) as received or percent-decoded once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Matches any path (as received or decoded) that starts with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Only this method (any when `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Answers used in order, one per request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responses: Vec<ScriptedResponse>,
    /// What happens once `responses` are used up.
    #[serde(default)]
    pub after: After,
    /// Answers picked by chance, before `responses`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random: Option<RandomResponses>,
}

/// What a scenario does once its `responses` are used up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum After {
    /// Keep answering with the last response.
    #[default]
    RepeatLast,
    /// Start again from the first response.
    Cycle,
    /// Let the normal routes answer.
    Fallthrough,
}

/// Answers given by chance: each matching request gets one of `responses`
/// (picked uniformly) with probability `percent`/100, from a generator seeded
/// with `seed`, so that a run is repeatable.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomResponses {
    /// Probability, 0 to 100, that a request gets one of these.
    pub percent: f64,
    /// Seed of the generator.
    #[serde(default)]
    pub seed: u64,
    /// The answers to pick from; not empty.
    pub responses: Vec<ScriptedResponse>,
}

/// A body generated while it is sent: `prefix`, `count` times `repeat`, `suffix`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generate {
    /// Sent first.
    #[serde(default)]
    pub prefix: String,
    /// Sent `count` times.
    pub repeat: String,
    /// How many times `repeat` is sent.
    pub count: u64,
    /// Sent last.
    #[serde(default)]
    pub suffix: String,
}

/// How a scripted answer breaks the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// A TCP RST before any byte of the answer.
    Reset,
    /// The headers and half the body, then a TCP RST.
    ResetMidBody,
    /// The headers and half the body, then an orderly close (FIN).
    CloseMidBody,
}

/// One scripted answer. At most one of `json`, `body`, `body_base64`,
/// `operation` and `generate` gives the body (none: an empty body).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedResponse {
    /// HTTP status, 200 to 999.
    #[serde(default = "default_status")]
    pub status: u16,
    /// Extra headers (they replace the emulator's own of the same name).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A JSON body, serialized compactly (`null` too).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub json: Option<Value>,
    /// A body, sent as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// A body as base64 (for bytes that are not UTF-8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// `seed`, `team:ID:OP` or `chat:ID:OP`: a preloaded operation's body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// A body generated as it is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<Generate>,
    /// Replaces the Content-Type (`""`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Wait before the status line.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delay_ms: u64,
    /// Send the body in pieces of this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_size: Option<usize>,
    /// Pause between pieces of the body.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub chunk_delay_ms: u64,
    /// Transfer-Encoding: chunked instead of Content-Length.
    #[serde(default, skip_serializing_if = "is_false")]
    pub chunked: bool,
    /// Content-Length to announce, whatever the body's size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_length: Option<u64>,
    /// Gzip the body when the request's Accept-Encoding offers gzip.
    #[serde(default, skip_serializing_if = "is_false")]
    pub gzip: bool,
    /// Break the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
}

/// `"json": null` is a body of `null`, not an absent body.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

fn default_status() -> u16 {
    200
}
fn is_zero(v: &u64) -> bool {
    *v == 0
}
fn is_false(v: &bool) -> bool {
    !*v
}

impl Default for ScriptedResponse {
    fn default() -> Self {
        ScriptedResponse {
            status: 200,
            headers: BTreeMap::new(),
            json: None,
            body: None,
            body_base64: None,
            operation: None,
            generate: None,
            content_type: None,
            delay_ms: 0,
            chunk_size: None,
            chunk_delay_ms: 0,
            chunked: false,
            content_length: None,
            gzip: false,
            fault: None,
        }
    }
}

impl ScriptedResponse {
    /// An empty answer with this status.
    pub fn status(status: u16) -> Self {
        ScriptedResponse {
            status,
            ..Default::default()
        }
    }

    /// The preloaded operation `reference` (`seed`, `team:ID:OP`, `chat:ID:OP`), 200.
    pub fn operation(reference: impl Into<String>) -> Self {
        ScriptedResponse {
            operation: Some(reference.into()),
            ..Default::default()
        }
    }

    /// A connection fault, without body.
    pub fn fault(fault: Fault) -> Self {
        ScriptedResponse::status(200).with_fault(fault)
    }

    /// Sets a JSON body.
    pub fn with_json(mut self, json: Value) -> Self {
        self.json = Some(json);
        self
    }

    /// Sets a text body.
    pub fn with_body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sets a body of arbitrary bytes.
    pub fn with_body_bytes(mut self, body: &[u8]) -> Self {
        self.body_base64 = Some(base64::encode(body));
        self
    }

    /// Serves a preloaded operation's body.
    pub fn with_operation(mut self, reference: impl Into<String>) -> Self {
        self.operation = Some(reference.into());
        self
    }

    /// Sets a generated body: `prefix`, `count` times `repeat`, `suffix`.
    pub fn with_generate(
        mut self,
        prefix: impl Into<String>,
        repeat: impl Into<String>,
        count: u64,
        suffix: impl Into<String>,
    ) -> Self {
        self.generate = Some(Generate {
            prefix: prefix.into(),
            repeat: repeat.into(),
            count,
            suffix: suffix.into(),
        });
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Replaces the Content-Type (`""`: none).
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Waits this long before the status line.
    pub fn with_delay_ms(mut self, ms: u64) -> Self {
        self.delay_ms = ms;
        self
    }

    /// Sends the body in pieces of `size` bytes, `delay_ms` apart.
    pub fn with_chunks(mut self, size: usize, delay_ms: u64) -> Self {
        self.chunk_size = Some(size);
        self.chunk_delay_ms = delay_ms;
        self
    }

    /// Uses Transfer-Encoding: chunked.
    pub fn with_chunked(mut self) -> Self {
        self.chunked = true;
        self
    }

    /// Announces this Content-Length.
    pub fn with_content_length(mut self, len: u64) -> Self {
        self.content_length = Some(len);
        self
    }

    /// Gzips the body when the client offers gzip.
    pub fn with_gzip(mut self) -> Self {
        self.gzip = true;
        self
    }

    /// Breaks the connection.
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }
}

impl Scenario {
    /// A scenario for requests to exactly `path`.
    pub fn path(path: impl Into<String>) -> Self {
        Scenario {
            path: Some(path.into()),
            ..Default::default()
        }
    }

    /// A scenario for requests whose path starts with `prefix`.
    pub fn path_prefix(prefix: impl Into<String>) -> Self {
        Scenario {
            path_prefix: Some(prefix.into()),
            ..Default::default()
        }
    }

    /// Only requests with this method.
    pub fn with_method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Appends an answer to the sequence.
    pub fn respond(mut self, response: ScriptedResponse) -> Self {
        self.responses.push(response);
        self
    }

    /// Sets what happens once the sequence is used up.
    pub fn then(mut self, after: After) -> Self {
        self.after = after;
        self
    }

    /// Answers with one of `responses` in `percent` % of requests, drawn from a
    /// generator seeded with `seed`.
    pub fn with_random(
        mut self,
        percent: f64,
        seed: u64,
        responses: Vec<ScriptedResponse>,
    ) -> Self {
        self.random = Some(RandomResponses {
            percent,
            seed,
            responses,
        });
        self
    }

    /// Reads one scenario (a JSON object) or several (an array).
    pub fn from_json(text: &str) -> Result<Vec<Scenario>, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("scenarios: {e}"))?;
        Scenario::from_value(v)
    }

    pub(crate) fn from_value(v: Value) -> Result<Vec<Scenario>, String> {
        match v {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    serde_json::from_value(item).map_err(|e| format!("scenario {i}: {e}"))
                })
                .collect(),
            Value::Object(_) => serde_json::from_value(v)
                .map(|s| vec![s])
                .map_err(|e| format!("scenario: {e}")),
            _ => Err("scenarios: expected a JSON object or array".to_owned()),
        }
    }
}

/// How a compiled scenario matches paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PathMatch {
    Exact(String),
    Prefix(String),
}

/// A checked scenario.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub path: PathMatch,
    pub method: Option<Method>,
    pub responses: Vec<Arc<Prepared>>,
    pub after: After,
    pub random: Option<(f64, u64, Vec<Arc<Prepared>>)>,
}

/// Where a prepared answer's body comes from.
#[derive(Debug)]
pub(crate) enum PreparedBody {
    Empty,
    Bytes(Bytes),
    /// A preloaded operation, whose `@odata.context` follows the version asked.
    Operation {
        beta: Bytes,
        v1: Bytes,
    },
    Generate {
        prefix: Bytes,
        repeat: Bytes,
        count: u64,
        suffix: Bytes,
        len: u64,
    },
}

/// A checked scripted answer, ready to serve.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: PreparedBody,
    /// `None`: Graph's JSON type for a non-empty body; `Some(None)`: none.
    pub content_type: Option<Option<HeaderValue>>,
    pub delay: Duration,
    pub chunk_size: Option<usize>,
    pub chunk_delay: Duration,
    pub chunked: bool,
    pub content_length: Option<u64>,
    pub gzip: bool,
    pub fault: Option<Fault>,
}

impl PreparedBody {
    pub(crate) fn for_version(&self, v: Version) -> Option<Bytes> {
        match self {
            PreparedBody::Bytes(b) => Some(b.clone()),
            PreparedBody::Operation { beta, v1 } => Some(match v {
                Version::Beta => beta.clone(),
                Version::V1 => v1.clone(),
            }),
            _ => None,
        }
    }
}

impl Scenario {
    /// Checks the scenario and turns it into its served form.
    pub(crate) fn compile(&self, store: &Store) -> Result<Compiled, String> {
        let path = match (&self.path, &self.path_prefix) {
            (Some(p), None) => PathMatch::Exact(p.clone()),
            (None, Some(p)) => PathMatch::Prefix(p.clone()),
            _ => return Err("exactly one of `path` and `path_prefix` is needed".to_owned()),
        };
        match &path {
            PathMatch::Exact(p) | PathMatch::Prefix(p) if !p.starts_with('/') => {
                return Err(format!("path `{p}` must start with `/`"))
            }
            _ => {}
        }
        let method = match &self.method {
            None => None,
            Some(m) => Some(
                Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| format!("invalid method `{m}`"))?,
            ),
        };
        let prepare_all = |list: &[ScriptedResponse], what: &str| {
            list.iter()
                .enumerate()
                .map(|(i, r)| {
                    r.prepare(store)
                        .map(Arc::new)
                        .map_err(|e| format!("{what} {i}: {e}"))
                })
                .collect::<Result<Vec<_>, String>>()
        };
        let responses = prepare_all(&self.responses, "response")?;
        let random = match &self.random {
            None => None,
            Some(r) => {
                if !(0.0..=100.0).contains(&r.percent) {
                    return Err("random.percent must be between 0 and 100".to_owned());
                }
                if r.responses.is_empty() {
                    return Err("random.responses is empty".to_owned());
                }
                Some((
                    r.percent,
                    r.seed,
                    prepare_all(&r.responses, "random response")?,
                ))
            }
        };
        if responses.is_empty() && random.is_none() {
            return Err("a scenario needs `responses` or `random`".to_owned());
        }
        Ok(Compiled {
            path,
            method,
            responses,
            after: self.after,
            random,
        })
    }
}

impl ScriptedResponse {
    fn prepare(&self, store: &Store) -> Result<Prepared, String> {
        let status = StatusCode::from_u16(self.status)
            .ok()
            .filter(|s| s.as_u16() >= 200)
            .ok_or_else(|| format!("status {} is not between 200 and 999", self.status))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid header name `{name}`"))?;
            if n == CONTENT_LENGTH || n == TRANSFER_ENCODING {
                return Err(format!(
                    "header `{name}`: use `content_length` or `chunked` instead"
                ));
            }
            let v = HeaderValue::from_str(value)
                .map_err(|_| format!("invalid value for header `{name}`"))?;
            headers.append(n, v);
        }
        let sources = [
            self.json.is_some(),
            self.body.is_some(),
            self.body_base64.is_some(),
            self.operation.is_some(),
            self.generate.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() > 1 {
            return Err(
                "only one of `json`, `body`, `body_base64`, `operation` and `generate` may be given"
                    .to_owned(),
            );
        }
        let body = if let Some(j) = &self.json {
            PreparedBody::Bytes(Bytes::from(j.to_string()))
        } else if let Some(b) = &self.body {
            PreparedBody::Bytes(Bytes::from(b.clone()))
        } else if let Some(b) = &self.body_base64 {
            PreparedBody::Bytes(Bytes::from(
                base64::decode(b).map_err(|e| format!("body_base64: {e}"))?,
            ))
        } else if let Some(r) = &self.operation {
            let (Some(beta), Some(v1)) = (
                store.reference(r, Version::Beta),
                store.reference(r, Version::V1),
            ) else {
                return Err(format!("unknown operation `{r}`"));
            };
            PreparedBody::Operation { beta, v1 }
        } else if let Some(g) = &self.generate {
            let len = (g.repeat.len() as u64)
                .checked_mul(g.count)
                .and_then(|n| n.checked_add(g.prefix.len() as u64 + g.suffix.len() as u64))
                .ok_or("generate: body too large")?;
            PreparedBody::Generate {
                prefix: Bytes::from(g.prefix.clone()),
                repeat: Bytes::from(g.repeat.clone()),
                count: g.count,
                suffix: Bytes::from(g.suffix.clone()),
                len,
            }
        } else {
            PreparedBody::Empty
        };
        let content_type = match &self.content_type {
            None => None,
            Some(t) if t.is_empty() => Some(None),
            Some(t) => Some(Some(
                HeaderValue::from_str(t).map_err(|_| "invalid content_type".to_owned())?,
            )),
        };
        if self.chunk_size == Some(0) {
            return Err("chunk_size must be at least 1".to_owned());
        }
        if self.chunked && self.content_length.is_some() {
            return Err("`chunked` and `content_length` exclude each other".to_owned());
        }
        Ok(Prepared {
            status,
            headers,
            body,
            content_type,
            delay: Duration::from_millis(self.delay_ms),
            chunk_size: self.chunk_size,
            chunk_delay: Duration::from_millis(self.chunk_delay_ms),
            chunked: self.chunked,
            content_length: self.content_length,
            gzip: self.gzip,
            fault: self.fault,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str) -> Result<Compiled, String> {
        let store = Store::new(1);
        let list = Scenario::from_json(text)?;
        assert_eq!(list.len(), 1);
        list[0].compile(&store)
    }

    #[test]
    fn readme_example_parses() {
        let c = compile(
            r#"{"path": "/beta/chats/c1/operations/o1", "method": "GET",
                "responses": [
                  {"status": 429, "headers": {"Retry-After": "1"}, "json": {"error": {"code": "TooManyRequests", "message": "slow down"}}},
                  {"status": 200, "operation": "seed"}],
                "after": "repeat_last"}"#,
        )
        .unwrap();
        assert_eq!(c.responses.len(), 2);
        assert_eq!(c.responses[0].status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(c.responses[0].headers["retry-after"], "1");
        assert_eq!(c.method, Some(Method::GET));
    }

    #[test]
    fn rejects_mistakes() {
        for (bad, want) in [
            (r#"{"responses": [{}]}"#, "exactly one"),
            (
                r#"{"path": "/a", "path_prefix": "/b", "responses": [{}]}"#,
                "exactly one",
            ),
            (r#"{"path": "a", "responses": [{}]}"#, "start with"),
            (r#"{"path": "/a"}"#, "needs"),
            (r#"{"path": "/a", "responses": [{"status": 99}]}"#, "status"),
            (
                r#"{"path": "/a", "responses": [{"json": 1, "body": "x"}]}"#,
                "only one",
            ),
            (
                r#"{"path": "/a", "responses": [{"operation": "team:x:y"}]}"#,
                "unknown operation",
            ),
            (
                r#"{"path": "/a", "responses": [{"body_base64": "!"}]}"#,
                "body_base64",
            ),
            (
                r#"{"path": "/a", "responses": [{"headers": {"Content-Length": "3"}}]}"#,
                "content_length",
            ),
            (
                r#"{"path": "/a", "responses": [{"chunked": true, "content_length": 3}]}"#,
                "exclude",
            ),
            (
                r#"{"path": "/a", "responses": [{"chunk_size": 0}]}"#,
                "chunk_size",
            ),
            (
                r#"{"path": "/a", "responses": [{"fault": "explode"}]}"#,
                "unknown variant",
            ),
            (
                r#"{"path": "/a", "responses": [{"stauts": 200}]}"#,
                "unknown field",
            ),
            (
                r#"{"path": "/a", "random": {"percent": 120, "responses": [{}]}}"#,
                "percent",
            ),
            (
                r#"{"path": "/a", "random": {"percent": 10, "responses": []}}"#,
                "empty",
            ),
            (
                r#"{"path": "/a", "responses": [{"generate": {"repeat": "ab", "count": 18446744073709551615}}]}"#,
                "too large",
            ),
        ] {
            let err = compile(bad).err().unwrap_or_default();
            assert!(err.contains(want), "{bad}: {err}");
        }
        assert!(Scenario::from_json("3").is_err());
        assert!(Scenario::from_json("[{\"path\": 1}]")
            .unwrap_err()
            .contains("scenario 0"));
    }

    #[test]
    fn json_null_is_a_body() {
        let c = compile(r#"{"path": "/a", "responses": [{"json": null}, {}]}"#).unwrap();
        assert!(matches!(&c.responses[0].body, PreparedBody::Bytes(b) if b[..] == *b"null"));
        assert!(matches!(c.responses[1].body, PreparedBody::Empty));
    }

    #[test]
    fn builders_round_trip_through_json() {
        let s = Scenario::path("/beta/x")
            .with_method("get")
            .respond(ScriptedResponse::status(503).with_header("Retry-After", "2"))
            .respond(
                ScriptedResponse::operation("seed")
                    .with_gzip()
                    .with_chunks(10, 5),
            )
            .respond(ScriptedResponse::fault(Fault::ResetMidBody).with_body_bytes(&[0xff, 0]))
            .then(After::Cycle)
            .with_random(5.0, 9, vec![ScriptedResponse::fault(Fault::Reset)]);
        let text = serde_json::to_string(&s).unwrap();
        let back = Scenario::from_json(&text).unwrap();
        assert_eq!(back, vec![s.clone()]);
        let c = s.compile(&Store::new(1)).unwrap();
        assert_eq!(c.method, Some(Method::GET));
        assert!(matches!(&c.responses[2].body, PreparedBody::Bytes(b) if b[..] == [0xff, 0]));
    }
}
