//! Reading an operation. Every accessor takes NULL (returning NULL or the
//! documented sentinel); strings are owned by the operation and live until
//! `teamsop_free` of it. Accessors never fail and never touch the last error.

use std::ffi::c_char;
use std::ptr;

use crate::model::{Field, Operation};

use super::boundary::boundary;
use super::types::{teamsop_operation, teamsop_status, teamsop_type, TEAMSOP_NO_TIME};

/// Reads `op` with `f`, or gives `fallback` for NULL (or a caught panic).
///
/// # Safety
/// `op` is NULL or a live operation.
unsafe fn read<T>(op: *const teamsop_operation, fallback: T, f: impl FnOnce(&Operation) -> T) -> T
where
    T: Copy,
{
    boundary(fallback, || {
        // SAFETY: NULL or a live operation, per the caller's contract.
        match unsafe { op.cast::<Operation>().as_ref() } {
            Some(op) => f(op),
            None => fallback,
        }
    })
}

/// # Safety
/// `op` is NULL or a live operation.
unsafe fn text(op: *const teamsop_operation, field: Field) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { read(op, ptr::null(), |op| op.c_text(field)) }
}

/// `id`, or NULL when absent, null or `op` is NULL. Owned by `op`.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_id(op: *const teamsop_operation) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { text(op, Field::Id) }
}

/// `status` as an enum: `TEAMSOP_STATUS_UNRECOGNIZED` for a string this version
/// does not know, `TEAMSOP_STATUS_ABSENT` when absent, null, or `op` is NULL.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_status(op: *const teamsop_operation) -> teamsop_status {
    // SAFETY: forwarded.
    unsafe {
        read(op, teamsop_status::TEAMSOP_STATUS_ABSENT, |op| {
            op.status().into()
        })
    }
}

/// `status` as sent (e.g. `"inProgress"`), or NULL when absent. Owned by `op`.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_status_str(
    op: *const teamsop_operation,
) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { text(op, Field::Status) }
}

/// `operationType` as an enum: `TEAMSOP_TYPE_UNRECOGNIZED` for a string this
/// version does not know, `TEAMSOP_TYPE_ABSENT` when absent, null, or `op` is NULL.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_type(op: *const teamsop_operation) -> teamsop_type {
    // SAFETY: forwarded.
    unsafe {
        read(op, teamsop_type::TEAMSOP_TYPE_ABSENT, |op| {
            op.operation_type().into()
        })
    }
}

/// `operationType` as sent (e.g. `"createChat"`), or NULL when absent. Owned by `op`.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_type_str(op: *const teamsop_operation) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { text(op, Field::OperationType) }
}

/// `createdDateTime` as sent (ISO 8601), or NULL when absent. Owned by `op`.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_created_date_time(
    op: *const teamsop_operation,
) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { text(op, Field::CreatedDateTime) }
}

/// `lastActionDateTime` as sent (ISO 8601), or NULL when absent. Owned by `op`.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_last_action_date_time(
    op: *const teamsop_operation,
) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { text(op, Field::LastActionDateTime) }
}

/// `createdDateTime` in milliseconds since 1970-01-01T00:00:00Z (offsets applied,
/// sub-millisecond digits truncated), or `TEAMSOP_NO_TIME` when absent,
/// unparseable, or `op` is NULL.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_created_unix_ms(op: *const teamsop_operation) -> i64 {
    // SAFETY: forwarded.
    unsafe {
        read(op, TEAMSOP_NO_TIME, |op| {
            op.created_unix_ms().unwrap_or(TEAMSOP_NO_TIME)
        })
    }
}

/// `lastActionDateTime` in Unix milliseconds, as `teamsop_operation_created_unix_ms`.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_last_action_unix_ms(
    op: *const teamsop_operation,
) -> i64 {
    // SAFETY: forwarded.
    unsafe {
        read(op, TEAMSOP_NO_TIME, |op| {
            op.last_action_unix_ms().unwrap_or(TEAMSOP_NO_TIME)
        })
    }
}

/// `attemptsCount`, or -1 when absent, null, or `op` is NULL.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_attempts_count(op: *const teamsop_operation) -> i32 {
    // SAFETY: forwarded.
    unsafe { read(op, -1, |op| op.attempts_count().unwrap_or(-1)) }
}

/// `targetResourceId` (a chat id or a team id), or NULL. Owned by `op`.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_target_resource_id(
    op: *const teamsop_operation,
) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { text(op, Field::TargetResourceId) }
}

/// `targetResourceLocation` (an opaque relative path), or NULL. Owned by `op`.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_target_resource_location(
    op: *const teamsop_operation,
) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { text(op, Field::TargetResourceLocation) }
}

/// The `values` string as sent (itself a JSON document), or NULL. Owned by `op`.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_values(op: *const teamsop_operation) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { text(op, Field::Values) }
}

/// `error.code`, or NULL when `error` is null or absent, or its code is. Owned by `op`.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_error_code(
    op: *const teamsop_operation,
) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { text(op, Field::ErrorCode) }
}

/// `error.message`, or NULL when `error` is null or absent, or its message is.
/// Owned by `op`.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_error_message(
    op: *const teamsop_operation,
) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { text(op, Field::ErrorMessage) }
}

/// `@odata.context`, or NULL. Owned by `op`.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_odata_context(
    op: *const teamsop_operation,
) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { text(op, Field::ODataContext) }
}

/// The whole response body as received (UTF-8 JSON), for fields not modelled; NULL
/// only when `op` is NULL. Owned by `op`.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_json(op: *const teamsop_operation) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { read(op, ptr::null(), |op| op.body_text().as_ptr()) }
}

/// True when the status is succeeded or failed; false otherwise and for NULL.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_is_terminal(op: *const teamsop_operation) -> bool {
    // SAFETY: forwarded.
    unsafe { read(op, false, Operation::is_terminal) }
}
