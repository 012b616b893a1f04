//! Reading Graph's error body: `{"error":{"code","message","innerError":{...}}}`.

use serde_json::Value;

/// What an error body says, each part optional (the body may be anything).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct GraphError {
    pub code: Option<String>,
    pub message: Option<String>,
    /// `request-id` from `innerError`, which may nest.
    pub request_id: Option<String>,
}

/// Longest Graph message kept in an error, so a hostile server cannot fill memory
/// through the per-thread last error.
const MESSAGE_LIMIT: usize = 1024;

impl GraphError {
    pub(crate) fn from_body(body: &[u8]) -> GraphError {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return GraphError::default();
        };
        let error = &value["error"];
        let text = |v: &Value| v.as_str().filter(|s| !s.contains('\0')).map(str::to_owned);
        let mut request_id = None;
        let mut inner = &error["innerError"];
        while inner.is_object() && request_id.is_none() {
            request_id = text(&inner["request-id"]);
            inner = &inner["innerError"];
        }
        GraphError {
            code: text(&error["code"]).filter(|c| !c.is_empty()),
            message: text(&error["message"]).map(|m| truncate(m, MESSAGE_LIMIT)),
            request_id,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_body_with_nested_inner_error() {
        let body = br#"{"error":{"code":"NotFound","message":"No operation.","innerError":{"date":"2021-07-02T01:40:19","innerError":{"request-id":"r-1"}}}}"#;
        assert_eq!(
            GraphError::from_body(body),
            GraphError {
                code: Some("NotFound".into()),
                message: Some("No operation.".into()),
                request_id: Some("r-1".into()),
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
            b"\xff",
        ] {
            assert_eq!(GraphError::from_body(body), GraphError::default());
        }
    }

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let long = format!(r#"{{"error":{{"message":"{}"}}}}"#, "é".repeat(2000));
        let m = GraphError::from_body(long.as_bytes()).message.unwrap();
        assert!(m.len() <= MESSAGE_LIMIT + 3);
        assert!(m.ends_with('…'));
    }
}
