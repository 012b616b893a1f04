//! `Operation`: one teamsAsyncOperation as received, with its raw body kept.

use std::borrow::Cow;
use std::ffi::c_char;

use serde::Deserialize;

use super::{CText, OperationType, Status};
use crate::error::{Error, Result};
use crate::time::parse_unix_ms;

/// The string fields of an operation, for code that reads them generically
/// (the C layer hands out pointers to them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Id,
    Status,
    OperationType,
    CreatedDateTime,
    LastActionDateTime,
    TargetResourceId,
    TargetResourceLocation,
    Values,
    ErrorCode,
    ErrorMessage,
    ODataContext,
}

const FIELD_COUNT: usize = 11;

/// Where a field's text sits in `Operation::texts`; `len == ABSENT` when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

const ABSENT: u32 = u32::MAX;
const NO_SPAN: Span = Span {
    start: 0,
    len: ABSENT,
};

/// Graph's `operationError`: why a failed operation failed. Borrows from its
/// operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationError<'a> {
    code: Option<&'a str>,
    message: Option<&'a str>,
}

impl<'a> OperationError<'a> {
    /// `error.code`, if not null.
    pub fn code(&self) -> Option<&'a str> {
        self.code
    }

    /// `error.message`, if not null.
    pub fn message(&self) -> Option<&'a str> {
        self.message
    }
}

/// A teamsAsyncOperation. Immutable; every string field is as Graph sent it.
///
/// Absent and JSON-null fields read as `None`. Unknown fields are ignored here and
/// stay readable in [`Operation::json`]. The field texts live in one buffer, each
/// followed by a NUL, so the C layer hands out pointers without copying and a parse
/// costs two allocations whatever the number of fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    body: CText,
    texts: Box<str>,
    spans: [Span; FIELD_COUNT],
    has_error: bool,
    attempts_count: Option<i32>,
    created_unix_ms: Option<i64>,
    last_action_unix_ms: Option<i64>,
}

/// The body as serde sees it; strings borrow from the body where they can.
#[derive(Deserialize)]
#[serde(rename = "teamsAsyncOperation")]
struct Wire<'a> {
    #[serde(rename = "@odata.context", borrow, default)]
    odata_context: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(rename = "operationType", borrow, default)]
    operation_type: Option<Cow<'a, str>>,
    #[serde(rename = "createdDateTime", borrow, default)]
    created_date_time: Option<Cow<'a, str>>,
    #[serde(rename = "lastActionDateTime", borrow, default)]
    last_action_date_time: Option<Cow<'a, str>>,
    #[serde(rename = "attemptsCount", default)]
    attempts_count: Option<i32>,
    #[serde(rename = "targetResourceId", borrow, default)]
    target_resource_id: Option<Cow<'a, str>>,
    #[serde(rename = "targetResourceLocation", borrow, default)]
    target_resource_location: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    values: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    error: Option<WireError<'a>>,
}

#[derive(Deserialize)]
#[serde(rename = "operationError")]
struct WireError<'a> {
    #[serde(borrow, default)]
    code: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

impl Operation {
    /// Parses a response body. It must be UTF-8 holding one JSON object whose known
    /// fields have Graph's types; string fields may not contain U+0000.
    pub fn parse(body: &[u8]) -> Result<Operation> {
        let text = std::str::from_utf8(body).map_err(not_utf8)?;
        Operation::parse_owned(text.to_owned())
    }

    /// Like [`Operation::parse`], taking the buffer over (no copy of the body).
    pub(crate) fn parse_vec(body: Vec<u8>) -> Result<Operation> {
        let text = String::from_utf8(body).map_err(|e| not_utf8(e.utf8_error()))?;
        Operation::parse_owned(text)
    }

    fn parse_owned(text: String) -> Result<Operation> {
        let start = text.bytes().find(|b| !b.is_ascii_whitespace());
        match start {
            None => return Err(Error::parse("the body is empty")),
            Some(b'{') => {}
            Some(_) => return Err(Error::parse("the body is not a JSON object")),
        }
        let body =
            CText::from_string(text).ok_or_else(|| Error::parse("the body contains a NUL byte"))?;
        let (texts, spans, has_error, attempts_count) = Operation::gather(body.as_str())?;
        let mut op = Operation {
            body,
            texts,
            spans,
            has_error,
            attempts_count,
            created_unix_ms: None,
            last_action_unix_ms: None,
        };
        op.created_unix_ms = op.created_date_time().and_then(parse_unix_ms);
        op.last_action_unix_ms = op.last_action_date_time().and_then(parse_unix_ms);
        Ok(op)
    }

    /// Parses `body` and copies its string fields into one buffer.
    #[allow(clippy::type_complexity)]
    fn gather(body: &str) -> Result<(Box<str>, [Span; FIELD_COUNT], bool, Option<i32>)> {
        let wire: Wire<'_> = serde_json::from_str(body)
            .map_err(|e| Error::parse(format!("the body is not a teamsAsyncOperation: {e}")))?;

        let (has_error, code, message) = match wire.error {
            None => (false, None, None),
            Some(e) => (true, e.code, e.message),
        };
        // In the order of `Field`.
        let values: [(Option<Cow<'_, str>>, &str); FIELD_COUNT] = [
            (wire.id, "id"),
            (wire.status, "status"),
            (wire.operation_type, "operationType"),
            (wire.created_date_time, "createdDateTime"),
            (wire.last_action_date_time, "lastActionDateTime"),
            (wire.target_resource_id, "targetResourceId"),
            (wire.target_resource_location, "targetResourceLocation"),
            (wire.values, "values"),
            (code, "error.code"),
            (message, "error.message"),
            (wire.odata_context, "@odata.context"),
        ];
        let size: usize = values
            .iter()
            .filter_map(|(v, _)| v.as_ref())
            .map(|v| v.len() + 1)
            .sum();
        if size > ABSENT as usize {
            return Err(Error::parse("the body's fields are too large"));
        }
        let mut texts = String::with_capacity(size);
        let mut spans = [NO_SPAN; FIELD_COUNT];
        for (span, (value, name)) in spans.iter_mut().zip(&values) {
            let Some(value) = value else { continue };
            if value.as_bytes().contains(&0) {
                return Err(Error::parse(format!("the field {name} contains U+0000")));
            }
            // Both fit in u32: checked against the total above.
            *span = Span {
                start: texts.len() as u32,
                len: value.len() as u32,
            };
            texts.push_str(value);
            texts.push('\0');
        }
        Ok((
            texts.into_boxed_str(),
            spans,
            has_error,
            wire.attempts_count,
        ))
    }

    /// `id`, if present.
    pub fn id(&self) -> Option<&str> {
        self.text(Field::Id)
    }

    /// `status`; `None` when absent or null.
    pub fn status(&self) -> Option<Status> {
        self.status_str().map(Status::from_graph)
    }

    /// `status` as sent.
    pub fn status_str(&self) -> Option<&str> {
        self.text(Field::Status)
    }

    /// `operationType`; `None` when absent or null.
    pub fn operation_type(&self) -> Option<OperationType> {
        self.operation_type_str().map(OperationType::from_graph)
    }

    /// `operationType` as sent.
    pub fn operation_type_str(&self) -> Option<&str> {
        self.text(Field::OperationType)
    }

    /// `createdDateTime` as sent.
    pub fn created_date_time(&self) -> Option<&str> {
        self.text(Field::CreatedDateTime)
    }

    /// `lastActionDateTime` as sent.
    pub fn last_action_date_time(&self) -> Option<&str> {
        self.text(Field::LastActionDateTime)
    }

    /// `createdDateTime` in Unix milliseconds; `None` when absent or unparseable.
    pub fn created_unix_ms(&self) -> Option<i64> {
        self.created_unix_ms
    }

    /// `lastActionDateTime` in Unix milliseconds; `None` when absent or unparseable.
    pub fn last_action_unix_ms(&self) -> Option<i64> {
        self.last_action_unix_ms
    }

    /// `attemptsCount`, if present.
    pub fn attempts_count(&self) -> Option<i32> {
        self.attempts_count
    }

    /// `targetResourceId`: a chat id or a team id.
    pub fn target_resource_id(&self) -> Option<&str> {
        self.text(Field::TargetResourceId)
    }

    /// `targetResourceLocation`, an opaque relative path.
    pub fn target_resource_location(&self) -> Option<&str> {
        self.text(Field::TargetResourceLocation)
    }

    /// `values` as sent: a string that itself holds JSON.
    pub fn values(&self) -> Option<&str> {
        self.text(Field::Values)
    }

    /// `error`, when it is an object.
    pub fn error(&self) -> Option<OperationError<'_>> {
        self.has_error.then(|| OperationError {
            code: self.text(Field::ErrorCode),
            message: self.text(Field::ErrorMessage),
        })
    }

    /// `@odata.context`.
    pub fn odata_context(&self) -> Option<&str> {
        self.text(Field::ODataContext)
    }

    /// The whole body as received, for fields this type does not model.
    pub fn json(&self) -> &str {
        self.body.as_str()
    }

    /// True when the status is succeeded or failed.
    pub fn is_terminal(&self) -> bool {
        self.status().is_some_and(Status::is_terminal)
    }

    pub(crate) fn body_text(&self) -> &CText {
        &self.body
    }

    /// The text of a string field, if present.
    pub(crate) fn text(&self, field: Field) -> Option<&str> {
        let span = self.spans[field as usize];
        (span.len != ABSENT).then(|| {
            let start = span.start as usize;
            &self.texts[start..start + span.len as usize]
        })
    }

    /// The NUL-terminated text of a string field, or NULL; valid while `self` lives.
    pub(crate) fn c_text(&self, field: Field) -> *const c_char {
        let span = self.spans[field as usize];
        if span.len == ABSENT {
            return std::ptr::null();
        }
        // `start` is within `texts` (it was its length when the text was pushed).
        self.texts[span.start as usize..].as_ptr().cast()
    }
}

fn not_utf8(e: std::str::Utf8Error) -> Error {
    Error::parse(format!(
        "the body is not UTF-8 (invalid byte at offset {})",
        e.valid_up_to()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    const SEED: &str = include_str!("../../tests/fixtures/seed-operation.json");

    #[test]
    fn seed_fixture_every_field() {
        let op = Operation::parse(SEED.as_bytes()).unwrap();
        assert_eq!(
            op.id(),
            Some("2432b57b-0abd-43db-aa7b-16eadd115d34-e88ae9aa-887e-4972-ac3e-bd578e38232e-cf58835e-43f0-4fc1-825e-5de55630e7e4")
        );
        assert_eq!(op.status(), Some(Status::Succeeded));
        assert_eq!(op.status_str(), Some("succeeded"));
        assert_eq!(op.operation_type(), Some(OperationType::CreateChat));
        assert_eq!(op.operation_type_str(), Some("createChat"));
        assert_eq!(op.created_date_time(), Some("2021-05-27T21:23:41.9085453Z"));
        assert_eq!(op.created_unix_ms(), Some(1_622_150_621_908));
        assert_eq!(
            op.last_action_date_time(),
            Some("2021-05-27T21:23:45.1899277Z")
        );
        assert_eq!(op.last_action_unix_ms(), Some(1_622_150_625_189));
        assert_eq!(op.attempts_count(), Some(1));
        assert_eq!(
            op.target_resource_id(),
            Some("19:c253a29b5f694b55a6baad8e83510af7@thread.v2")
        );
        assert_eq!(
            op.target_resource_location(),
            Some("/chats('19:c253a29b5f694b55a6baad8e83510af7@thread.v2')")
        );
        assert_eq!(
            op.values(),
            Some(r#"{"appIds":["1542629c-01b3-4a6d-8f76-1938b779e48d"]}"#)
        );
        assert_eq!(op.error(), None);
        assert_eq!(
            op.odata_context(),
            Some("https://graph.microsoft.com/beta/$metadata#chats('19%3Ac253a29b5f694b55a6baad8e83510af7%40thread.v2')/operations/$entity")
        );
        assert_eq!(op.json(), SEED);
        assert!(op.is_terminal());
    }

    fn kind(body: &str) -> ErrorKind {
        Operation::parse(body.as_bytes())
            .unwrap_err()
            .kind()
            .clone()
    }

    #[test]
    fn null_absent_and_unknown_fields() {
        let op = Operation::parse(
            br#"{"status":null,"operationType":"moveTeam","futureField":{"a":[1,2]},"error":{"code":null,"message":"m"}}"#,
        )
        .unwrap();
        assert_eq!(op.id(), None);
        assert_eq!(op.status(), None);
        assert_eq!(op.operation_type(), Some(OperationType::Unrecognized));
        assert_eq!(op.operation_type_str(), Some("moveTeam"));
        assert_eq!(op.attempts_count(), None);
        assert_eq!(op.created_unix_ms(), None);
        let err = op.error().unwrap();
        assert_eq!(err.code(), None);
        assert_eq!(err.message(), Some("m"));
        assert!(op.json().contains("futureField"));
        assert!(!op.is_terminal());
    }

    #[test]
    fn escapes_are_decoded_once() {
        let op = Operation::parse(br#"{"id":"a\"b\\c\u00e9\n"}"#).unwrap();
        assert_eq!(op.id(), Some("a\"b\\c\u{e9}\n"));
    }

    #[test]
    fn unparseable_time_keeps_text() {
        let op = Operation::parse(br#"{"createdDateTime":"yesterday"}"#).unwrap();
        assert_eq!(op.created_date_time(), Some("yesterday"));
        assert_eq!(op.created_unix_ms(), None);
    }

    #[test]
    fn not_an_operation_is_parse_error() {
        for body in [
            "",
            "   ",
            "[]",
            "[\"x\"]",
            "null",
            "42",
            "\"text\"",
            "{",
            "{\"id\":1}",
            "{\"attemptsCount\":\"1\"}",
            "{\"attemptsCount\":1.5}",
            "{\"attemptsCount\":4294967296}",
            "{\"error\":\"boom\"}",
            "{\"values\":{\"appIds\":[]}}",
            "{\"id\":\"a\\u0000b\"}",
            "{\"error\":{\"code\":\"\\u0000\"}}",
            "{\"id\":\"a\",\"id\":\"b\"}",
            "{} trailing",
            "<html>oops</html>",
        ] {
            assert_eq!(kind(body), ErrorKind::Parse, "{body:?}");
        }
    }

    #[test]
    fn invalid_utf8_and_deep_nesting_are_parse_errors() {
        let err = Operation::parse(b"{\"id\":\"\xff\"}").unwrap_err();
        assert_eq!(*err.kind(), ErrorKind::Parse);
        assert!(err.message().contains("UTF-8"));
        // Deep nesting is bounded: refused where a known field is, and skipped
        // without recursion inside an unknown one.
        let nest = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(kind(&nest(100_000)), ErrorKind::Parse);
        assert_eq!(
            kind(&format!("{{\"id\":{}}}", nest(100_000))),
            ErrorKind::Parse
        );
        let op = Operation::parse(format!("{{\"x\":{},\"id\":\"i\"}}", nest(100_000)).as_bytes())
            .unwrap();
        assert_eq!(op.id(), Some("i"));
    }
}
