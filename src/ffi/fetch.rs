//! Fetching operations: by ids, by Location, by waiting, or from a body in hand.

use std::ffi::{c_char, c_void};
use std::time::Duration;

use crate::client::CallName;
use crate::endpoint::{OperationRef, Parent};
use crate::error::Error;
use crate::model::Operation;

use super::args::str_arg;
use super::boundary::out_boundary;
use super::enums::teamsop_result;
use super::handle::Handle;
use super::types::{teamsop_cancel, teamsop_client, teamsop_operation, teamsop_poll_fn};

/// `GET {base}/chats/{chat_id}/operations/{operation_id}`.
///
/// Each id is sent percent-encoded as exactly one path segment. On `TEAMSOP_OK`,
/// `*out` is a new operation owned by the caller (free it with `teamsop_free`);
/// on any other result `*out` is NULL and `teamsop_last_*` say why.
///
/// Errors: `TEAMSOP_ERR_INVALID_ARGUMENT` (NULL client, id or out; an id that is
/// empty, `.`, `..` or not UTF-8; no token set: nothing is sent), then
/// `TRANSPORT`, `TIMEOUT`, `UNAUTHORIZED`, `FORBIDDEN`, `NOT_FOUND`, `THROTTLED`,
/// `HTTP`, `PARSE`, `TOO_LARGE`. Blocks until done or the client timeout passes.
/// Thread-safe: any number of threads may call it on one client at once.
///
/// # Safety
/// `client` is NULL or a live client; `chat_id` and `operation_id` are NULL or
/// NUL-terminated strings; `out` is NULL or valid for a pointer write.
#[no_mangle]
pub unsafe extern "C" fn teamsop_get(
    client: *const teamsop_client,
    chat_id: *const c_char,
    operation_id: *const c_char,
    out: *mut *mut teamsop_operation,
) -> teamsop_result {
    // SAFETY: per this function's contract.
    unsafe {
        get_by_ids(
            Parent::Chat,
            client,
            (chat_id, "chat_id"),
            operation_id,
            out,
        )
    }
}

/// `GET {base}/teams/{team_id}/operations/{operation_id}`.
///
/// As `teamsop_get` in every respect (ownership of `*out`, errors, threads).
///
/// # Safety
/// `client` is NULL or a live client; `team_id` and `operation_id` are NULL or
/// NUL-terminated strings; `out` is NULL or valid for a pointer write.
#[no_mangle]
pub unsafe extern "C" fn teamsop_get_team_operation(
    client: *const teamsop_client,
    team_id: *const c_char,
    operation_id: *const c_char,
    out: *mut *mut teamsop_operation,
) -> teamsop_result {
    // SAFETY: per this function's contract.
    unsafe {
        get_by_ids(
            Parent::Team,
            client,
            (team_id, "team_id"),
            operation_id,
            out,
        )
    }
}

/// The body of `teamsop_get` and `teamsop_get_team_operation`; `parent_id` comes
/// with its parameter name, for messages.
///
/// # Safety
/// As for those two functions.
unsafe fn get_by_ids(
    parent: Parent,
    client: *const teamsop_client,
    (parent_id, parent_name): (*const c_char, &str),
    operation_id: *const c_char,
    out: *mut *mut teamsop_operation,
) -> teamsop_result {
    // SAFETY: forwarded from the entry points' contracts.
    unsafe {
        out_boundary(out, || {
            let client = teamsop_client::borrow(client, "client")?;
            let op = str_arg(parent_id, parent_name).and_then(|parent_id| {
                let operation_id = str_arg(operation_id, "operation_id")?;
                OperationRef::new(parent, parent_id, operation_id)
            });
            match op {
                Ok(op) => client.get(&op),
                Err(e) => Err(client.refused(CallName::Get, e)),
            }
        })
    }
}

/// GETs the operation named by a 202 response's `Location` header:
/// `"/teams('ID')/operations('OP')"`, `"/chats('ID')/operations('OP')"`, the
/// unquoted `"(ID)"` form, the `"/teams/ID/operations/OP"` form, the older
/// `"/groups('ID')/team/operations('OP')"` (in the same three forms; read as the
/// operation of team `ID`), any of them after a version segment (`/beta`,
/// `/v1.0`), or an absolute URL with the client's own scheme, host and port.
/// Percent-escapes are decoded once; the URL is rebuilt from the ids, each
/// percent-encoded. Anything else is `TEAMSOP_ERR_INVALID_ARGUMENT` and nothing is
/// sent.
///
/// Otherwise as `teamsop_get` (ownership of `*out`, errors, threads).
///
/// # Safety
/// `client` is NULL or a live client; `location` is NULL or a NUL-terminated
/// string; `out` is NULL or valid for a pointer write.
#[no_mangle]
pub unsafe extern "C" fn teamsop_get_location(
    client: *const teamsop_client,
    location: *const c_char,
    out: *mut *mut teamsop_operation,
) -> teamsop_result {
    // SAFETY: per this function's contract.
    unsafe {
        out_boundary(out, || {
            let client = teamsop_client::borrow(client, "client")?;
            match str_arg(location, "location") {
                Ok(location) => client.get_location(location),
                Err(e) => Err(client.refused(CallName::GetLocation, e)),
            }
        })
    }
}

/// Polls `location` (any form `teamsop_get_location` takes) until the status is
/// terminal (succeeded, failed or invalid), and returns that operation with
/// `TEAMSOP_OK` whichever it is (read its status). `unknownFutureValue` and statuses
/// this version does not know keep the wait going.
///
/// The first pause is the client's poll interval, then pauses double up to 10 s;
/// a `Retry-After` on any response wins. A 404 in the first 10 s is taken for "not
/// visible yet" and polled again. `on_poll` (may be NULL) is called on this thread
/// with every operation received, the terminal one included; if it returns false
/// the wait ends with `TEAMSOP_ERR_CANCELLED`.
///
/// Ends with `TEAMSOP_ERR_TIMEOUT` when `timeout_ms` passes (it never sleeps past
/// it, and each GET is bounded by what is left), `TEAMSOP_ERR_NOT_FOUND` when a 404
/// outlasts the first 10 s or the deadline, any other error of a GET as is, and
/// `TEAMSOP_ERR_INVALID_ARGUMENT` for NULL client, location or out, a refused
/// location or `timeout_ms` of 0. On `TEAMSOP_OK`, `*out` is a new operation owned
/// by the caller (free it with `teamsop_free`); otherwise NULL. Thread-safe.
///
/// # Safety
/// `client` is NULL or a live client; `location` is NULL or a NUL-terminated
/// string; `on_poll` is NULL or a function that does not unwind; `out` is NULL or
/// valid for a pointer write. `user_data` is passed to `on_poll` untouched.
#[no_mangle]
pub unsafe extern "C" fn teamsop_wait(
    client: *const teamsop_client,
    location: *const c_char,
    timeout_ms: u32,
    on_poll: teamsop_poll_fn,
    user_data: *mut c_void,
    out: *mut *mut teamsop_operation,
) -> teamsop_result {
    // SAFETY: the same contract, with no cancel trigger.
    unsafe {
        teamsop_wait_cancellable(
            client,
            location,
            timeout_ms,
            on_poll,
            user_data,
            std::ptr::null(),
            out,
        )
    }
}

/// As `teamsop_wait`; in addition it returns `TEAMSOP_ERR_CANCELLED` within 100 ms
/// of `teamsop_cancel_trigger(cancel)` from any thread, whether it is in a GET, in
/// a retry's pause or between polls. `cancel` may be NULL (then it is exactly
/// `teamsop_wait`). A cancel already triggered ends the call before anything is
/// sent. A token provider that is being asked is not interrupted: the call ends
/// when it returns.
///
/// Ownership of `*out`, errors and threads as `teamsop_wait`; `cancel` is
/// borrowed for the call and must not be freed before it returns.
///
/// # Safety
/// As `teamsop_wait`; `cancel` is NULL or a live handle from `teamsop_cancel_new`.
#[no_mangle]
pub unsafe extern "C" fn teamsop_wait_cancellable(
    client: *const teamsop_client,
    location: *const c_char,
    timeout_ms: u32,
    on_poll: teamsop_poll_fn,
    user_data: *mut c_void,
    cancel: *const teamsop_cancel,
    out: *mut *mut teamsop_operation,
) -> teamsop_result {
    // SAFETY: per this function's contract.
    unsafe {
        out_boundary(out, || {
            let client = teamsop_client::borrow(client, "client")?;
            let location =
                str_arg(location, "location").map_err(|e| client.refused(CallName::Wait, e))?;
            let cancel = teamsop_cancel::try_borrow(cancel);
            let timeout = Duration::from_millis(u64::from(timeout_ms));
            client.wait_cancellable(location, timeout, cancel, |current| match on_poll {
                None => true,
                // SAFETY: the caller's callback, given a pointer valid for the call.
                Some(f) => f(teamsop_operation::lend(current), user_data),
            })
        })
    }
}

/// Parses a response body already in hand; no network.
///
/// Reads exactly `len` bytes at `json` (no NUL needed). On `TEAMSOP_OK`, `*out` is
/// a new operation owned by the caller (free it with `teamsop_free`); otherwise
/// NULL.
///
/// Errors: `TEAMSOP_ERR_INVALID_ARGUMENT` for a NULL `json` or `out`;
/// `TEAMSOP_ERR_PARSE` for an empty buffer, bytes that are not UTF-8, JSON that is
/// not an object, a known field of the wrong type, or a string field holding
/// U+0000. Unknown fields are kept in `teamsop_operation_json`. Thread-safe.
///
/// # Safety
/// `json` is NULL or valid for reading `len` bytes; `out` is NULL or valid for a
/// pointer write.
#[no_mangle]
pub unsafe extern "C" fn teamsop_parse(
    json: *const c_char,
    len: usize,
    out: *mut *mut teamsop_operation,
) -> teamsop_result {
    // SAFETY: per this function's contract.
    unsafe {
        out_boundary(out, || {
            if json.is_null() {
                return Err(Error::invalid("json is NULL"));
            }
            if len > isize::MAX as usize {
                return Err(Error::invalid("len is larger than any buffer can be"));
            }
            // SAFETY: non-NULL and, per the contract, readable for `len` bytes.
            let bytes = std::slice::from_raw_parts(json.cast::<u8>(), len);
            Operation::parse(bytes)
        })
    }
}
