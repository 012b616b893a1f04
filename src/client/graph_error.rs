//! Reading Graph's error body: `{"error":{"code","message","innerError":{...}}}`.
//!
//! Read with a visitor that keeps those few strings and skips everything else
//! without building it: a body of any shape (`[1,1,1,...]` say) costs no memory
//! beyond the strings kept, where a `serde_json::Value` would cost many times the
//! body's size.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// What an error body says, each part optional (the body may be anything).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct GraphError {
    pub code: Option<String>,
    pub message: Option<String>,
    /// `request-id` from `innerError`, which may nest.
    pub request_id: Option<String>,
}

/// Longest text kept from an error body, so a hostile server cannot fill memory
/// through the per-thread last error.
const TEXT_LIMIT: usize = 1024;

impl GraphError {
    /// Reads `body`, passing each string kept through `redact` (before it is cut
    /// to length, so no piece of what `redact` removes survives the cut).
    pub(crate) fn from_body(body: &[u8], redact: impl Fn(&str) -> String) -> GraphError {
        let Ok(wire) = serde_json::from_slice::<Envelope<'_>>(body) else {
            return GraphError::default();
        };
        let Some(error) = wire.error else {
            return GraphError::default();
        };
        let keep = |text: Option<Cow<'_, str>>| {
            text.filter(|t| !t.contains('\0'))
                .map(|t| truncate(redact(&t), TEXT_LIMIT))
        };
        GraphError {
            code: keep(error.code).filter(|c| !c.is_empty()),
            message: keep(error.message),
            request_id: keep(error.request_id),
        }
    }
}

fn truncate(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// The top level: only `error` is looked at, and only when it is an object.
struct Envelope<'a> {
    error: Option<ErrorObject<'a>>,
}

/// `error`, or `innerError` at any depth: its strings of interest.
#[derive(Default)]
struct ErrorObject<'a> {
    code: Option<Cow<'a, str>>,
    message: Option<Cow<'a, str>>,
    /// The first `request-id` found, this object's before a nested one's.
    request_id: Option<Cow<'a, str>>,
}

/// A value that is kept when it is a string and skipped (never built) otherwise.
struct MaybeText<'a>(Option<Cow<'a, str>>);

/// A value that is read as an [`ErrorObject`] when it is an object, else skipped.
struct MaybeObject<'a>(Option<ErrorObject<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Envelope<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Envelope<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut error = None;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "error" {
                        error = map.next_value::<MaybeObject<'de>>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Envelope { error })
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for MaybeObject<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = ErrorObject::default();
                let mut inner_request_id = None;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match &*key {
                        "code" => out.code = map.next_value::<MaybeText<'de>>()?.0,
                        "message" => out.message = map.next_value::<MaybeText<'de>>()?.0,
                        "request-id" => out.request_id = map.next_value::<MaybeText<'de>>()?.0,
                        "innerError" => {
                            inner_request_id = map
                                .next_value::<MaybeObject<'de>>()?
                                .0
                                .and_then(|inner| inner.request_id);
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                out.request_id = out.request_id.or(inner_request_id);
                Ok(MaybeObject(Some(out)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq).map(|()| MaybeObject(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(MaybeObject(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(MaybeObject(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(MaybeObject(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(MaybeObject(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(MaybeObject(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(MaybeObject(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for MaybeText<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Cow::Owned(s.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Cow::Owned(s))))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(MaybeText(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq).map(|()| MaybeText(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
        }
        d.deserialize_any(V)
    }
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &[u8]) -> GraphError {
        GraphError::from_body(body, str::to_owned)
    }

    #[test]
    fn graph_body_with_nested_inner_error() {
        let body = br#"{"error":{"code":"NotFound","message":"No operation.","innerError":{"date":"2021-07-02T01:40:19","innerError":{"request-id":"r-1"}}}}"#;
        assert_eq!(
            read(body),
            GraphError {
                code: Some("NotFound".into()),
                message: Some("No operation.".into()),
                request_id: Some("r-1".into()),
            }
        );
    }

    #[test]
    fn the_outermost_request_id_wins_and_escapes_are_decoded() {
        let body = br#"{"error":{"innerError":{"request-id":"outer","innerError":{"request-id":"inner"}},"code":"A\u0042","message":["x"]}}"#;
        assert_eq!(
            read(body),
            GraphError {
                code: Some("AB".into()),
                message: None,
                request_id: Some("outer".into()),
            }
        );
    }

    #[test]
    fn anything_else_is_empty() {
        for body in [
            &b""[..],
            b"<html/>",
            b"[]",
            b"{\"error\":\"x\"}",
            b"{\"error\":{\"code\":5}}",
            b"{\"error\":[{\"code\":\"x\"}]}",
            b"{\"error\":{\"code\":{\"x\":[1,2,{}]}}}",
            b"{\"error\":null}",
            b"\xff",
            b"{\"error\":{\"code\":\"A\"}} trailing",
        ] {
            assert_eq!(read(body), GraphError::default(), "{body:?}");
        }
    }

    #[test]
    fn other_members_are_skipped_whatever_they_hold() {
        let many = format!(
            r#"{{"x":[{}1],"error":{{"code":"C","big":[{}1]}}}}"#,
            "1,".repeat(100_000),
            "[],".repeat(100_000)
        );
        assert_eq!(read(many.as_bytes()).code.as_deref(), Some("C"));
    }

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let long = format!(r#"{{"error":{{"message":"{}"}}}}"#, "é".repeat(2000));
        let m = read(long.as_bytes()).message.unwrap();
        assert!(m.len() <= TEXT_LIMIT + 3);
        assert!(m.ends_with('…'));
    }

    #[test]
    fn redaction_comes_before_the_cut() {
        let secret = "S".repeat(100);
        let long = format!(
            r#"{{"error":{{"message":"{}{secret}"}}}}"#,
            "x".repeat(TEXT_LIMIT - 50)
        );
        let m = GraphError::from_body(long.as_bytes(), |t| t.replace(&secret, "[redacted]"))
            .message
            .unwrap();
        assert!(!m.contains("SSSSS"), "{m}");
        assert!(m.ends_with("[redacted]"), "{m}");
    }
}
