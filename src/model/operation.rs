//! `Operation`: one teamsAsyncOperation as received, with its raw body kept.

use std::borrow::Cow;
use std::ffi::CStr;

use std::fmt;

use serde::de::{self, value::MapAccessDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::field::{Field, Fields};
use super::text::TextWithNul;
use super::{OperationType, Status};
use crate::error::{Error, Result};
use crate::time::parse_unix_ms;

/// Where a field's text sits in `Operation::texts`; `len == ABSENT` when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

const ABSENT: u32 = u32::MAX;

impl Default for Span {
    fn default() -> Span {
        Span {
            start: 0,
            len: ABSENT,
        }
    }
}

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
/// followed by a NUL, so they can be lent as C strings without copying and a parse
/// costs two allocations whatever the number of fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    body: TextWithNul,
    texts: Box<str>,
    spans: Fields<Span>,
    has_error: bool,
    attempts_count: Option<i32>,
    created_unix_ms: Option<i64>,
    last_action_unix_ms: Option<i64>,
}

/// The body as serde sees it; strings borrow from the body where they can. Names
/// are matched case-sensitively, and a name given twice is an error.
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
    /// As the chat example of Graph's documentation sends it.
    #[serde(borrow, default)]
    values: Option<Cow<'a, str>>,
    /// As real team operations send it (capital V; undeclared in the schema).
    #[serde(rename = "Value", borrow, default)]
    value: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "error_object")]
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

/// `error` as an object or null. serde's derived struct would also read it from
/// an array (`[code, message]`, or `[]` as nothing at all); Graph's
/// `operationError` is an object, and anything else is not an operation.
fn error_object<'de, D>(deserializer: D) -> std::result::Result<Option<WireError<'de>>, D::Error>
where
    D: Deserializer<'de>,
{
    struct ObjectOrNull;
    impl<'de> Visitor<'de> for ObjectOrNull {
        type Value = Option<WireError<'de>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an operationError object or null")
        }

        fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> std::result::Result<Self::Value, D::Error> {
            deserializer.deserialize_any(self)
        }

        fn visit_map<A: MapAccess<'de>>(
            self,
            map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            WireError::deserialize(MapAccessDeserializer::new(map)).map(Some)
        }
    }
    deserializer.deserialize_option(ObjectOrNull)
}

/// What [`Operation::gather`] reads out of a body.
struct Gathered {
    texts: Box<str>,
    spans: Fields<Span>,
    has_error: bool,
    attempts_count: Option<i32>,
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
            TextWithNul::new(text).ok_or_else(|| Error::parse("the body contains a NUL byte"))?;
        let gathered = Operation::gather(body.as_str())?;
        let mut op = Operation {
            body,
            texts: gathered.texts,
            spans: gathered.spans,
            has_error: gathered.has_error,
            attempts_count: gathered.attempts_count,
            created_unix_ms: None,
            last_action_unix_ms: None,
        };
        op.created_unix_ms = op.created_date_time().and_then(parse_unix_ms);
        op.last_action_unix_ms = op.last_action_date_time().and_then(parse_unix_ms);
        Ok(op)
    }

    /// Parses `body` and copies its string fields into one buffer.
    fn gather(body: &str) -> Result<Gathered> {
        let wire: Wire<'_> = serde_json::from_str(body)
            .map_err(|e| Error::parse(format!("the body is not a teamsAsyncOperation: {e}")))?;

        let mut values: Fields<Option<Cow<'_, str>>> = Fields::default();
        values[Field::Id] = wire.id;
        values[Field::Status] = wire.status;
        values[Field::OperationType] = wire.operation_type;
        values[Field::CreatedDateTime] = wire.created_date_time;
        values[Field::LastActionDateTime] = wire.last_action_date_time;
        values[Field::TargetResourceId] = wire.target_resource_id;
        values[Field::TargetResourceLocation] = wire.target_resource_location;
        // `Value` is a known field like the others (a string, no U+0000) even when
        // `values`, which wins, is there too.
        check_no_nul(wire.value.as_deref(), "Value")?;
        values[Field::Values] = wire.values.or(wire.value);
        values[Field::ODataContext] = wire.odata_context;
        let has_error = wire.error.is_some();
        if let Some(error) = wire.error {
            values[Field::ErrorCode] = error.code;
            values[Field::ErrorMessage] = error.message;
        }

        let size: usize = values
            .iter()
            .filter_map(|(_, v)| v.as_ref())
            .map(|v| v.len() + 1)
            .sum();
        if size > ABSENT as usize {
            return Err(Error::parse("the body's fields are too large"));
        }
        let mut texts = String::with_capacity(size);
        let mut spans: Fields<Span> = Fields::default();
        for (field, value) in values.iter() {
            let Some(value) = value else { continue };
            check_no_nul(Some(value), field.json_name())?;
            // Both fit in u32: checked against the total above.
            spans[field] = Span {
                start: texts.len() as u32,
                len: value.len() as u32,
            };
            texts.push_str(value);
            texts.push('\0');
        }
        Ok(Gathered {
            texts: texts.into_boxed_str(),
            spans,
            has_error,
            attempts_count: wire.attempts_count,
        })
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

    /// The progress values as sent: a string that itself holds JSON. Read from
    /// `values` (the chat example of Graph's documentation), or from `Value` (capital
    /// V, as real team operations send it) when only that one is present.
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

    /// True when the status is succeeded, failed or invalid: the operation will not
    /// change any more.
    pub fn is_terminal(&self) -> bool {
        self.status().is_some_and(Status::is_terminal)
    }

    /// The whole body as a C string, valid while `self` lives.
    pub(crate) fn json_c_str(&self) -> &CStr {
        self.body.as_c_str()
    }

    /// The text of a string field, if present.
    pub(crate) fn text(&self, field: Field) -> Option<&str> {
        let span = self.spans[field];
        (span.len != ABSENT).then(|| {
            let start = span.start as usize;
            &self.texts[start..start + span.len as usize]
        })
    }

    /// The text of a string field as a C string, if present; valid while `self` lives.
    pub(crate) fn text_c_str(&self, field: Field) -> Option<&CStr> {
        let span = self.spans[field];
        (span.len != ABSENT).then(|| {
            let start = span.start as usize;
            let with_nul = &self.texts.as_bytes()[start..=start + span.len as usize];
            // SAFETY: `gather` pushed the text, free of NULs, then one NUL.
            unsafe { CStr::from_bytes_with_nul_unchecked(with_nul) }
        })
    }
}

/// A string field holding U+0000 is refused: C would see it cut short.
fn check_no_nul(value: Option<&str>, name: &str) -> Result<()> {
    match value {
        Some(v) if v.as_bytes().contains(&0) => {
            Err(Error::parse(format!("the field {name} contains U+0000")))
        }
        _ => Ok(()),
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
        for (status, terminal) in [
            ("succeeded", true),
            ("failed", true),
            ("invalid", true),
            ("Invalid", true),
            ("notStarted", false),
            ("inProgress", false),
            ("unknownFutureValue", false),
            ("paused", false),
        ] {
            let op = Operation::parse(format!(r#"{{"status":"{status}"}}"#).as_bytes()).unwrap();
            assert_eq!(op.is_terminal(), terminal, "{status}");
        }
    }

    #[test]
    fn values_or_capital_value() {
        let values = |body: &str| {
            Operation::parse(body.as_bytes())
                .unwrap()
                .values()
                .map(str::to_owned)
        };
        // Real team operations send `Value`; the chat example sends `values`.
        assert_eq!(
            values(r#"{"status":"inProgress","Value":"{\"teamId\":\"t1\"}"}"#).as_deref(),
            Some(r#"{"teamId":"t1"}"#)
        );
        assert_eq!(values(r#"{"values":"v"}"#).as_deref(), Some("v"));
        // Both: `values` wins, in either order.
        assert_eq!(
            values(r#"{"Value":"V","values":"v"}"#).as_deref(),
            Some("v")
        );
        assert_eq!(
            values(r#"{"values":"v","Value":"V"}"#).as_deref(),
            Some("v")
        );
        // A null `values` is absent: `Value` is read.
        assert_eq!(
            values(r#"{"values":null,"Value":"V"}"#).as_deref(),
            Some("V")
        );
        assert_eq!(values(r#"{"Value":null}"#), None);
        assert_eq!(values(r#"{}"#), None);
        // Names are case-sensitive: other spellings are unknown fields.
        assert_eq!(values(r#"{"VALUES":"x","value":"y","VALUE":"z"}"#), None);
        // The C string of the field is the same text.
        let op = Operation::parse(br#"{"Value":"[1]"}"#).unwrap();
        assert_eq!(op.text_c_str(Field::Values).unwrap().to_str(), Ok("[1]"));
    }

    #[test]
    fn capital_value_is_a_known_field() {
        for body in [
            r#"{"Value":{"teamId":"t1"}}"#,
            r#"{"Value":1}"#,
            r#"{"Value":["a"]}"#,
            r#"{"values":"v","Value":true}"#,
            r#"{"Value":"a","Value":"b"}"#,
            r#"{"values":"v","Value":"a\u0000b"}"#,
        ] {
            assert_eq!(kind(body), ErrorKind::Parse, "{body:?}");
        }
        let err = Operation::parse(br#"{"Value":"a\u0000"}"#).unwrap_err();
        assert!(
            err.message().contains("the field Value contains U+0000"),
            "{err}"
        );
    }

    #[test]
    fn c_strings_are_the_field_texts() {
        let op = Operation::parse(SEED.as_bytes()).unwrap();
        for field in Field::ALL {
            assert_eq!(
                op.text_c_str(field).map(|c| c.to_str().unwrap()),
                op.text(field),
                "{field:?}"
            );
        }
        assert_eq!(op.json_c_str().to_str().unwrap(), SEED);
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
            "{\"error\":[]}",
            "{\"error\":[\"code\",\"message\"]}",
            "{\"error\":1}",
            "{\"error\":true}",
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
