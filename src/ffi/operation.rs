//! An operation's accessors, and `teamsop_free`. Every accessor takes NULL
//! (returning NULL or the documented sentinel); strings are owned by the operation
//! and live until `teamsop_free` of it. Accessors never fail and never touch the
//! last error.

use std::ffi::{c_char, CStr};
use std::ptr;

use crate::model::{Field, Operation};

use super::boundary::{boundary, read_boundary};
use super::enums::{teamsop_status, teamsop_type};
use super::handle::Handle;
use super::types::{teamsop_operation, TEAMSOP_NO_TIME};

/// Frees an operation and every string read from it. NULL is a no-op.
///
/// No other thread may be reading the operation. Do not free the `current`
/// operation given to a `teamsop_poll_fn`.
///
/// # Safety
/// `operation` is NULL or a live operation from this library, freed only once.
#[no_mangle]
pub unsafe extern "C" fn teamsop_free(operation: *mut teamsop_operation) {
    // SAFETY: NULL or a live operation, freed only once, per the contract.
    boundary((), || unsafe { teamsop_operation::free(operation) })
}

/// Reads `op` with `f`, or gives `fallback` for NULL (or a caught panic).
///
/// # Safety
/// `op` is NULL or a live operation.
unsafe fn read<T: Copy>(
    op: *const teamsop_operation,
    fallback: T,
    f: impl FnOnce(&Operation) -> T,
) -> T {
    // SAFETY: forwarded.
    unsafe { read_boundary(op, fallback, f) }
}

/// A string field as a C string owned by `op`, or NULL.
///
/// # Safety
/// `op` is NULL or a live operation.
unsafe fn text(op: *const teamsop_operation, field: Field) -> *const c_char {
    // SAFETY: forwarded.
    unsafe {
        read(op, ptr::null(), |op| {
            op.text_c_str(field).map_or(ptr::null(), CStr::as_ptr)
        })
    }
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
            op.status()
                .map_or(teamsop_status::TEAMSOP_STATUS_ABSENT, teamsop_status::from)
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
            op.operation_type()
                .map_or(teamsop_type::TEAMSOP_TYPE_ABSENT, teamsop_type::from)
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

/// The `values` string as sent (itself a JSON document); when only `Value` (capital
/// V, as real team operations send it) is present, that string; NULL when neither
/// is. Owned by `op`.
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
    unsafe { read(op, ptr::null(), |op| op.json_c_str().as_ptr()) }
}

/// True when the status is terminal: succeeded, failed or invalid; false otherwise
/// (`unknownFutureValue`, a status this version does not know, absent) and for NULL.
///
/// # Safety
/// `op` is NULL or a live operation.
#[no_mangle]
pub unsafe extern "C" fn teamsop_operation_is_terminal(op: *const teamsop_operation) -> bool {
    // SAFETY: forwarded.
    unsafe { read(op, false, Operation::is_terminal) }
}
