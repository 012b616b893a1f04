//! Bytes → `Operation::parse`, and the same bytes through the C ABI (`teamsop_parse`).
//!
//! Checked on every input:
//! - no panic (a panic inside a C entry point is caught by the library and would
//!   read as `TEAMSOP_ERR_INTERNAL`, which is checked for explicitly);
//! - every failure is `ErrorKind::Parse` / `TEAMSOP_ERR_PARSE`, `*out` stays NULL
//!   and the last error message is set;
//! - on success: `json()` is the input, every accessor is readable, status and
//!   type agree with their strings, times agree with `parse_unix_ms`, every string
//!   field equals what `serde_json::Value` reads for the same key (an independent
//!   reading), and the C handle hands out NUL-terminated strings equal to the Rust
//!   ones, stable across calls.

#![no_main]

use std::ffi::{c_char, CStr};
use std::ptr::{self, NonNull};

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use teamsop::ffi::{
    teamsop_free, teamsop_last_error_message, teamsop_operation, teamsop_operation_attempts_count,
    teamsop_operation_created_date_time, teamsop_operation_created_unix_ms,
    teamsop_operation_error_code, teamsop_operation_error_message, teamsop_operation_id,
    teamsop_operation_is_terminal, teamsop_operation_json, teamsop_operation_last_action_date_time,
    teamsop_operation_last_action_unix_ms, teamsop_operation_odata_context,
    teamsop_operation_status, teamsop_operation_status_str, teamsop_operation_target_resource_id,
    teamsop_operation_target_resource_location, teamsop_operation_type, teamsop_operation_type_str,
    teamsop_operation_values, teamsop_parse, teamsop_result, teamsop_status, teamsop_type,
    TEAMSOP_NO_TIME,
};
use teamsop::{parse_unix_ms, ErrorKind, Operation, OperationType, Status};

/// Graph's members, spelled as in its schema (matched ignoring ASCII case).
const STATUSES: [(&str, Status, teamsop_status); 6] = [
    (
        "invalid",
        Status::Invalid,
        teamsop_status::TEAMSOP_STATUS_INVALID,
    ),
    (
        "notStarted",
        Status::NotStarted,
        teamsop_status::TEAMSOP_STATUS_NOT_STARTED,
    ),
    (
        "inProgress",
        Status::InProgress,
        teamsop_status::TEAMSOP_STATUS_IN_PROGRESS,
    ),
    (
        "succeeded",
        Status::Succeeded,
        teamsop_status::TEAMSOP_STATUS_SUCCEEDED,
    ),
    (
        "failed",
        Status::Failed,
        teamsop_status::TEAMSOP_STATUS_FAILED,
    ),
    (
        "unknownFutureValue",
        Status::UnknownFutureValue,
        teamsop_status::TEAMSOP_STATUS_UNKNOWN_FUTURE_VALUE,
    ),
];

const TYPES: [(&str, OperationType, teamsop_type); 11] = [
    (
        "invalid",
        OperationType::Invalid,
        teamsop_type::TEAMSOP_TYPE_INVALID,
    ),
    (
        "cloneTeam",
        OperationType::CloneTeam,
        teamsop_type::TEAMSOP_TYPE_CLONE_TEAM,
    ),
    (
        "archiveTeam",
        OperationType::ArchiveTeam,
        teamsop_type::TEAMSOP_TYPE_ARCHIVE_TEAM,
    ),
    (
        "unarchiveTeam",
        OperationType::UnarchiveTeam,
        teamsop_type::TEAMSOP_TYPE_UNARCHIVE_TEAM,
    ),
    (
        "createTeam",
        OperationType::CreateTeam,
        teamsop_type::TEAMSOP_TYPE_CREATE_TEAM,
    ),
    (
        "unknownFutureValue",
        OperationType::UnknownFutureValue,
        teamsop_type::TEAMSOP_TYPE_UNKNOWN_FUTURE_VALUE,
    ),
    (
        "teamifyGroup",
        OperationType::TeamifyGroup,
        teamsop_type::TEAMSOP_TYPE_TEAMIFY_GROUP,
    ),
    (
        "createChannel",
        OperationType::CreateChannel,
        teamsop_type::TEAMSOP_TYPE_CREATE_CHANNEL,
    ),
    (
        "createChat",
        OperationType::CreateChat,
        teamsop_type::TEAMSOP_TYPE_CREATE_CHAT,
    ),
    (
        "archiveChannel",
        OperationType::ArchiveChannel,
        teamsop_type::TEAMSOP_TYPE_ARCHIVE_CHANNEL,
    ),
    (
        "unarchiveChannel",
        OperationType::UnarchiveChannel,
        teamsop_type::TEAMSOP_TYPE_UNARCHIVE_CHANNEL,
    ),
];

fuzz_target!(|data: &[u8]| {
    let rust = Operation::parse(data);
    match &rust {
        Ok(op) => check_rust(data, op),
        Err(e) => {
            assert_eq!(
                *e.kind(),
                ErrorKind::Parse,
                "parse failure of another kind: {e}"
            );
            assert!(!e.message().is_empty());
            let _ = e.to_string();
        }
    }
    check_c(data, rust.as_ref().ok());
});

fn check_rust(data: &[u8], op: &Operation) {
    // The body is kept byte for byte.
    assert_eq!(op.json().as_bytes(), data, "json() is not the input");
    assert!(!op.json().contains('\0'));

    // status / operationType: the enum is the case-insensitive lookup of the string.
    let expect_status = op.status_str().map(|s| {
        STATUSES
            .iter()
            .find(|(name, _, _)| name.eq_ignore_ascii_case(s))
            .map_or(Status::Unrecognized, |&(_, v, _)| v)
    });
    assert_eq!(
        op.status(),
        expect_status,
        "status vs status_str {:?}",
        op.status_str()
    );
    if let (Some(s), Some(text)) = (op.status(), op.status_str()) {
        match s.graph_name() {
            Some(name) => assert!(name.eq_ignore_ascii_case(text)),
            None => assert_eq!(s, Status::Unrecognized),
        }
    }
    assert_eq!(
        op.is_terminal(),
        matches!(
            op.status(),
            Some(Status::Succeeded | Status::Failed | Status::Invalid)
        )
    );
    let expect_type = op.operation_type_str().map(|s| {
        TYPES
            .iter()
            .find(|(name, _, _)| name.eq_ignore_ascii_case(s))
            .map_or(OperationType::Unrecognized, |&(_, v, _)| v)
    });
    assert_eq!(
        op.operation_type(),
        expect_type,
        "type vs type_str {:?}",
        op.operation_type_str()
    );
    if let (Some(t), Some(text)) = (op.operation_type(), op.operation_type_str()) {
        match t.graph_name() {
            Some(name) => assert!(name.eq_ignore_ascii_case(text)),
            None => assert_eq!(t, OperationType::Unrecognized),
        }
    }

    // Times: the parsed values are parse_unix_ms of the text.
    assert_eq!(
        op.created_unix_ms(),
        op.created_date_time().and_then(parse_unix_ms)
    );
    assert_eq!(
        op.last_action_unix_ms(),
        op.last_action_date_time().and_then(parse_unix_ms)
    );

    // No stored string holds NUL (each must be a C string).
    for text in strings(op).into_iter().flatten() {
        assert!(!text.contains('\0'), "a field holds NUL: {text:?}");
    }

    // Clone is equal; Debug does not panic.
    assert_eq!(&op.clone(), op);
    let _ = format!("{op:?}");

    // An independent reading of the same JSON. It may fail where the typed parse
    // does not (a number out of f64 range in an ignored field): compare only then.
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(op.json()) {
        let field = |key: &str| match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(other) => panic!("typed parse accepted {key} = {other}"),
        };
        assert_eq!(op.id(), field("id"));
        assert_eq!(op.status_str(), field("status"));
        assert_eq!(op.operation_type_str(), field("operationType"));
        assert_eq!(op.created_date_time(), field("createdDateTime"));
        assert_eq!(op.last_action_date_time(), field("lastActionDateTime"));
        assert_eq!(op.target_resource_id(), field("targetResourceId"));
        assert_eq!(
            op.target_resource_location(),
            field("targetResourceLocation")
        );
        // `values`, or `Value` (as real team operations send it) when only that one is.
        assert_eq!(op.values(), field("values").or(field("Value")));
        assert_eq!(op.odata_context(), field("@odata.context"));
        match map.get("attemptsCount") {
            None | Some(Value::Null) => assert_eq!(op.attempts_count(), None),
            Some(v) => assert_eq!(
                op.attempts_count().map(i64::from),
                v.as_i64(),
                "attemptsCount = {v}"
            ),
        }
        match map.get("error") {
            None | Some(Value::Null) => assert!(op.error().is_none()),
            Some(Value::Object(e)) => {
                let err = op.error().expect("error object read as none");
                let sub = |key: &str| match e.get(key) {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.as_str()),
                    Some(other) => panic!("typed parse accepted error.{key} = {other}"),
                };
                assert_eq!(err.code(), sub("code"));
                assert_eq!(err.message(), sub("message"));
            }
            Some(other) => panic!("typed parse accepted error = {other}"),
        }
    }
}

/// Every string accessor, in the order of `c_strings`.
fn strings(op: &Operation) -> [Option<&str>; 12] {
    [
        op.id(),
        op.status_str(),
        op.operation_type_str(),
        op.created_date_time(),
        op.last_action_date_time(),
        op.target_resource_id(),
        op.target_resource_location(),
        op.values(),
        op.error().and_then(|e| e.code()),
        op.error().and_then(|e| e.message()),
        op.odata_context(),
        Some(op.json()),
    ]
}

/// Every string accessor of the C ABI, in the order of `strings`.
///
/// # Safety
/// `h` is a live operation.
unsafe fn c_strings(h: *const teamsop_operation) -> [*const c_char; 12] {
    unsafe {
        [
            teamsop_operation_id(h),
            teamsop_operation_status_str(h),
            teamsop_operation_type_str(h),
            teamsop_operation_created_date_time(h),
            teamsop_operation_last_action_date_time(h),
            teamsop_operation_target_resource_id(h),
            teamsop_operation_target_resource_location(h),
            teamsop_operation_values(h),
            teamsop_operation_error_code(h),
            teamsop_operation_error_message(h),
            teamsop_operation_odata_context(h),
            teamsop_operation_json(h),
        ]
    }
}

fn check_c(data: &[u8], rust: Option<&Operation>) {
    // A non-NULL sentinel, to see that a failure writes NULL.
    let mut out: *mut teamsop_operation = NonNull::dangling().as_ptr();
    // SAFETY: `data` is readable for its length; `out` is a valid place.
    let code = unsafe { teamsop_parse(data.as_ptr().cast(), data.len(), &mut out) };
    assert_ne!(
        code,
        teamsop_result::TEAMSOP_ERR_INTERNAL,
        "teamsop_parse caught a panic: {}",
        last_error()
    );
    let Some(op) = rust else {
        assert_eq!(
            code,
            teamsop_result::TEAMSOP_ERR_PARSE,
            "C and Rust disagree (Rust: Err)"
        );
        assert!(out.is_null(), "*out not NULL after a failure");
        assert!(
            !last_error().is_empty(),
            "no last error message after a failure"
        );
        return;
    };
    assert_eq!(
        code,
        teamsop_result::TEAMSOP_OK,
        "C and Rust disagree (Rust: Ok): {}",
        last_error()
    );
    assert!(!out.is_null());
    let h = out.cast_const();

    // SAFETY: `h` is the live operation just returned; it is freed only below.
    unsafe {
        let first = c_strings(h);
        let again = c_strings(h);
        for (i, (&p, expect)) in first.iter().zip(strings(op)).enumerate() {
            assert_eq!(p, again[i], "accessor {i} moved between calls");
            match expect {
                None => assert!(p.is_null(), "accessor {i}: non-NULL for an absent field"),
                Some(text) => {
                    assert!(!p.is_null(), "accessor {i}: NULL for {text:?}");
                    // Reads up to the NUL: a missing terminator is an overflow ASan sees.
                    let c = CStr::from_ptr(p);
                    assert_eq!(c.to_bytes(), text.as_bytes(), "accessor {i}");
                }
            }
        }
        assert_eq!(teamsop_operation_status(h), c_status(op.status()));
        assert_eq!(teamsop_operation_type(h), c_type(op.operation_type()));
        assert_eq!(
            teamsop_operation_created_unix_ms(h),
            op.created_unix_ms().unwrap_or(TEAMSOP_NO_TIME)
        );
        assert_eq!(
            teamsop_operation_last_action_unix_ms(h),
            op.last_action_unix_ms().unwrap_or(TEAMSOP_NO_TIME)
        );
        assert_eq!(
            teamsop_operation_attempts_count(h),
            op.attempts_count().unwrap_or(-1)
        );
        assert_eq!(teamsop_operation_is_terminal(h), op.is_terminal());
        teamsop_free(out);
        teamsop_free(ptr::null_mut());
    }
}

fn c_status(s: Option<Status>) -> teamsop_status {
    match s {
        None => teamsop_status::TEAMSOP_STATUS_ABSENT,
        Some(Status::Unrecognized) => teamsop_status::TEAMSOP_STATUS_UNRECOGNIZED,
        Some(s) => {
            STATUSES
                .iter()
                .find(|(_, v, _)| *v == s)
                .expect("a known status")
                .2
        }
    }
}

fn c_type(t: Option<OperationType>) -> teamsop_type {
    match t {
        None => teamsop_type::TEAMSOP_TYPE_ABSENT,
        Some(OperationType::Unrecognized) => teamsop_type::TEAMSOP_TYPE_UNRECOGNIZED,
        Some(t) => {
            TYPES
                .iter()
                .find(|(_, v, _)| *v == t)
                .expect("a known type")
                .2
        }
    }
}

fn last_error() -> String {
    // SAFETY: never NULL; a C string owned by this thread's record.
    unsafe { CStr::from_ptr(teamsop_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}
