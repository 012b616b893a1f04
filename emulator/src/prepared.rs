//! Checked scenarios: a [`Scenario`] compiled into its served form, with every
//! answer [`Prepared`] (headers parsed, body rendered) so that serving it costs
//! little.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, TRANSFER_ENCODING};
use hyper::{Method, StatusCode};

use crate::base64;
use crate::graph_path::Version;
use crate::operations::OperationStore;
use crate::scenario::{After, Fault, Scenario, ScriptedResponse};

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
    /// The same headers with their names as written (inside a `$batch`
    /// answer, names keep their case).
    pub header_list: Vec<(String, String)>,
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

/// Checks scenarios and compiles them, naming the culprit on error.
pub(crate) fn compile_all(
    store: &OperationStore,
    list: &[Scenario],
) -> Result<Vec<Arc<Compiled>>, String> {
    list.iter()
        .enumerate()
        .map(|(i, s)| {
            compile(s, store).map(Arc::new).map_err(|e| {
                if list.len() == 1 {
                    format!("scenario: {e}")
                } else {
                    format!("scenario {i}: {e}")
                }
            })
        })
        .collect()
}

/// Checks a scenario and turns it into its served form.
pub(crate) fn compile(scenario: &Scenario, store: &OperationStore) -> Result<Compiled, String> {
    {
        let s = scenario;
        let path = match (&s.path, &s.path_prefix) {
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
        let method = match &s.method {
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
                    prepare(r, store)
                        .map(Arc::new)
                        .map_err(|e| format!("{what} {i}: {e}"))
                })
                .collect::<Result<Vec<_>, String>>()
        };
        let responses = prepare_all(&s.responses, "response")?;
        let random = match &s.random {
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
            after: s.after,
            random,
        })
    }
}

/// Checks one scripted answer and prepares it.
fn prepare(r: &ScriptedResponse, store: &OperationStore) -> Result<Prepared, String> {
    {
        let s = r;
        let status = StatusCode::from_u16(s.status)
            .ok()
            .filter(|s| s.as_u16() >= 200)
            .ok_or_else(|| format!("status {} is not between 200 and 999", s.status))?;
        let mut headers = HeaderMap::new();
        let mut header_list = Vec::new();
        for (name, value) in &s.headers {
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
            header_list.push((name.clone(), value.clone()));
        }
        let sources = [
            s.json.is_some(),
            s.body.is_some(),
            s.body_base64.is_some(),
            s.operation.is_some(),
            s.generate.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() > 1 {
            return Err(
                "only one of `json`, `body`, `body_base64`, `operation` and `generate` may be given"
                    .to_owned(),
            );
        }
        let body = if let Some(j) = &s.json {
            PreparedBody::Bytes(Bytes::from(j.to_string()))
        } else if let Some(b) = &s.body {
            PreparedBody::Bytes(Bytes::from(b.clone()))
        } else if let Some(b) = &s.body_base64 {
            PreparedBody::Bytes(Bytes::from(
                base64::decode(b).map_err(|e| format!("body_base64: {e}"))?,
            ))
        } else if let Some(r) = &s.operation {
            let (Some(beta), Some(v1)) = (
                store.reference(r, Version::Beta),
                store.reference(r, Version::V1),
            ) else {
                return Err(format!("unknown operation `{r}`"));
            };
            PreparedBody::Operation { beta, v1 }
        } else if let Some(g) = &s.generate {
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
        let content_type = match &s.content_type {
            None => None,
            Some(t) if t.is_empty() => Some(None),
            Some(t) => Some(Some(
                HeaderValue::from_str(t).map_err(|_| "invalid content_type".to_owned())?,
            )),
        };
        if s.chunk_size == Some(0) {
            return Err("chunk_size must be at least 1".to_owned());
        }
        if s.chunked && s.content_length.is_some() {
            return Err("`chunked` and `content_length` exclude each other".to_owned());
        }
        Ok(Prepared {
            status,
            headers,
            header_list,
            body,
            content_type,
            delay: Duration::from_millis(s.delay_ms),
            chunk_size: s.chunk_size,
            chunk_delay: Duration::from_millis(s.chunk_delay_ms),
            chunked: s.chunked,
            content_length: s.content_length,
            gzip: s.gzip,
            fault: s.fault,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_one(text: &str) -> Result<Compiled, String> {
        let store = OperationStore::new(1);
        let list = Scenario::from_json(text)?;
        assert_eq!(list.len(), 1);
        compile(&list[0], &store)
    }

    #[test]
    fn readme_example_parses() {
        let c = compile_one(
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
            let err = compile_one(bad).err().unwrap_or_default();
            assert!(err.contains(want), "{bad}: {err}");
        }
    }

    #[test]
    fn json_null_is_a_body() {
        let c = compile_one(r#"{"path": "/a", "responses": [{"json": null}, {}]}"#).unwrap();
        assert!(matches!(&c.responses[0].body, PreparedBody::Bytes(b) if b[..] == *b"null"));
        assert!(matches!(c.responses[1].body, PreparedBody::Empty));
    }

    #[test]
    fn builders_compile() {
        let s = Scenario::path("/beta/x")
            .with_method("get")
            .respond(ScriptedResponse::status(503).with_header("Retry-After", "2"))
            .respond(ScriptedResponse::fault(Fault::ResetMidBody).with_body_bytes(&[0xff, 0]))
            .with_random(5.0, 9, vec![ScriptedResponse::fault(Fault::Reset)]);
        let c = compile(&s, &OperationStore::new(1)).unwrap();
        assert_eq!(c.method, Some(Method::GET));
        assert!(matches!(&c.responses[1].body, PreparedBody::Bytes(b) if b[..] == [0xff, 0]));
        assert_eq!(c.random.as_ref().map(|r| r.1), Some(9));
    }

    #[test]
    fn compile_all_names_the_culprit() {
        let store = OperationStore::new(1);
        let list =
            Scenario::from_json(r#"[{"path": "/a", "responses": [{}]}, {"path": "/b"}]"#).unwrap();
        assert!(compile_all(&store, &list)
            .unwrap_err()
            .starts_with("scenario 1: "));
        assert!(compile_all(&store, &list[..1]).is_ok());
        assert!(compile_all(&store, &list[1..])
            .unwrap_err()
            .starts_with("scenario: "));
    }
}
