//! Scenarios as the user writes them: scripted answers read from JSON (serde)
//! or built in Rust. `prepared` checks and compiles them; `playback` plays them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::base64;

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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(back, vec![s]);
    }

    #[test]
    fn json_shapes() {
        assert!(Scenario::from_json("3").is_err());
        assert!(Scenario::from_json("[{\"path\": 1}]")
            .unwrap_err()
            .contains("scenario 0"));
        let two = Scenario::from_json(r#"[{"path": "/a"}, {"path_prefix": "/b"}]"#).unwrap();
        assert_eq!(two.len(), 2);
        assert_eq!(two[1].path_prefix.as_deref(), Some("/b"));
        let r: ScriptedResponse = serde_json::from_str(r#"{"json": null}"#).unwrap();
        assert_eq!(r.json, Some(Value::Null));
        assert_eq!(r.status, 200);
    }
}
